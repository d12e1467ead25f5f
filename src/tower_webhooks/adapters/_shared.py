"""What every framework adapter shares, so that the adapters themselves only translate.

An adapter gets the headers and the raw body its framework's way and turns a ``Reply``
into its framework's response. Everything else is decided here, once for all of them: which
verifier, how large a body may be, what each failure answers, and what runs around the handler.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, Union, cast

from tower_webhooks._headers import SIGNATURE_HEADER, TIMESTAMP_HEADER
from tower_webhooks._verify import DEFAULT_TOLERANCE_MS, VerifiedWebhook, Verifier, _check_tolerance
from tower_webhooks.dedupe import Answer, Deduplicator
from tower_webhooks.exceptions import (
    BodyConsumedError,
    BodyTooLargeError,
    BodyUnavailableError,
    InvalidSecretError,
    TowerWebhooksError,
    WebhookVerificationError,
)

if TYPE_CHECKING:
    from tower_webhooks._headers import Headers
    from tower_webhooks._secret import Secret

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_TOLERANCE_MS",
    "METHOD_NOT_ALLOWED",
    "Guard",
    "Reply",
    "SecretSource",
    "Settle",
    "TowerHeaderValues",
    "body_consumed",
    "body_unavailable",
    "environ_headers",
    "guard_view",
    "malformed_length",
    "parse_content_length",
    "reply_for",
    "require_whole",
    "run_async",
    "run_sync",
]

logger = logging.getLogger("tower_webhooks")

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
"""1 MiB: far above any Tower payload, small enough that a flood of large bodies costs little."""

View = TypeVar("View", bound=Callable[..., Any])
Result = TypeVar("Result")


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer the adapter sends instead of running the handler."""

    status: int
    reason: str
    detail: str
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def body(self) -> bytes:
        """The JSON every rejection carries: ``{"error": reason, "detail": message}``."""
        return json.dumps({"error": self.reason, "detail": self.detail}).encode("ascii")


METHOD_NOT_ALLOWED = Reply(405, "method_not_allowed", "Tower sends webhooks as POST", (("Allow", "POST"),))

_MISCONFIGURED = (
    "the receiver's webhook secret is missing or invalid, so no webhook can be verified: "
    "its operator must fix the configuration (the server log says how)"
)


def reply_for(error: TowerWebhooksError) -> Reply:
    """Map one of our exceptions to its answer; the receiver's own faults are logged as errors."""
    if isinstance(error, WebhookVerificationError):
        status = (
            413 if isinstance(error, BodyTooLargeError) else 411 if isinstance(error, BodyUnavailableError) else 400
        )
        logger.info("Rejected a Tower webhook with %d (%s): %s", status, error.reason, error.message)
        return Reply(status, error.reason, error.message)
    # Not the sender's fault: a 4xx would send them hunting for a bug they do not have.
    logger.error("Answered a Tower webhook with 500 because the receiver is misconfigured: %s", error)
    if isinstance(error, BodyConsumedError):
        return Reply(500, error.reason, str(error))
    return Reply(500, "receiver_misconfigured", _MISCONFIGURED)


def body_unavailable(why: str) -> BodyUnavailableError:
    """The error for a chunked body that the server hands over as empty bytes."""
    return BodyUnavailableError(
        f"the request has no Content-Length (it is chunked) and {why}, so the body arrives empty "
        "and cannot be verified: send it with a Content-Length header"
    )


def body_consumed(by: str) -> BodyConsumedError:
    """The error for a body that code running before the adapter already read."""
    return BodyConsumedError(
        f"the request body was already read by {by} before the webhook could be verified, so the "
        "signed bytes are gone: verify first (decorate the view itself, or add the middleware "
        "outermost) and let nothing parse the body before it"
    )


class TowerHeaderValues(NamedTuple):
    """Tower's two header values, already found (``None`` where absent), for ``Guard.check``."""

    timestamp: str | None
    signature: str | None


# Where a WSGI server puts Tower's two headers: "HTTP_X_TOWER_WEBHOOK_TIMESTAMP" and "HTTP_X_TOWER_SIGNATURE".
_TIMESTAMP_KEY = "HTTP_" + TIMESTAMP_HEADER.upper().replace("-", "_")
_SIGNATURE_KEY = "HTTP_" + SIGNATURE_HEADER.upper().replace("-", "_")


def environ_headers(environ: Mapping[str, object]) -> TowerHeaderValues:
    """Tower's two header values from a WSGI-style environ (Flask's ``request.environ``, Django's ``META``).

    The server has already matched the names whatever their case, and joined a repeated header
    with commas (which the strict parsing refuses), so two look-ups replace a scan of every header.
    """
    timestamp, signature = environ.get(_TIMESTAMP_KEY), environ.get(_SIGNATURE_KEY)
    return TowerHeaderValues(
        timestamp if isinstance(timestamp, str) else None, signature if isinstance(signature, str) else None
    )


def malformed_length() -> BodyUnavailableError:
    """The error for a Content-Length that is not a plain number, which some servers pass on."""
    return BodyUnavailableError(
        "the Content-Length header is not a plain number, so the body cannot be read reliably: "
        "send the exact length in ASCII digits"
    )


def parse_content_length(value: str | None) -> int | None:
    """The declared body length, or ``None`` if absent or not plain ASCII digits.

    A malformed value is the server's to refuse; what gets past it must never become a 500 here:
    ``"²".isdigit()`` is true but ``int("²")`` fails, and so does ``int()`` of 5,000 digits. Only
    spaces and tabs around it are stripped (HTTP's whitespace, as Werkzeug strips it), not
    ``str.strip()``'s Unicode ones: Werkzeug reads a length after a NEL (U+0085) as 0.
    """
    if value is None:
        return None
    value = value.strip(" \t")
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 19 else None


def require_whole(body: bytes, declared_length: int | None, by: str) -> bytes:
    """Return ``body`` if it is as long as declared; shorter means earlier code read some of it.

    Raises:
        BodyConsumedError: The body is shorter than its ``Content-Length``.
    """
    if declared_length is not None and len(body) != declared_length:
        raise body_consumed(by)
    return body


SecretSource = Union["Secret", Sequence["Secret"], Callable[[], object]]
"""A secret, the live secrets, or a function that returns the configured value at each request."""


class Guard:
    """One adapter's options, and every step a request goes through before its handler.

    Args:
        secret: The secret or the live secrets, checked now; or a function that returns the
            configured value, called per request (decoded once per value), so that a missing or
            invalid one answers 500 and is logged.
        setting: What the log calls the configured value (such as ``'app.config["..."]'``).
        tolerance_ms: See [`Verifier`][tower_webhooks.Verifier].
        max_body_bytes: The largest body accepted; larger ones answer 413 unread.
        dedupe: Runs the handler once per delivery (see [`tower_webhooks.dedupe`][]), or ``None``.

    Raises:
        InvalidSecretError: A secret given as a value cannot be used, so start-up fails.
        TypeError, ValueError: ``tolerance_ms``, ``max_body_bytes`` or ``dedupe`` is not a valid value.
    """

    __slots__ = (
        "_cached",
        "_configured",
        "_fixed",
        "_setting",
        "_tolerance_ms",
        "_warned",
        "dedupe",
        "max_body_bytes",
    )

    def __init__(
        self,
        *,
        secret: SecretSource,
        setting: str,
        tolerance_ms: int | None,
        max_body_bytes: int,
        dedupe: Deduplicator | None = None,
    ) -> None:
        if dedupe is not None and not isinstance(dedupe, Deduplicator):
            raise TypeError(f"dedupe must be a tower_webhooks.dedupe.Deduplicator or None, not {type(dedupe).__name__}")
        self.dedupe = dedupe
        if not isinstance(max_body_bytes, int) or isinstance(max_body_bytes, bool):
            raise TypeError(f"max_body_bytes must be an int, not {type(max_body_bytes).__name__}")
        if max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be at least 1, got {max_body_bytes}")
        self.max_body_bytes = max_body_bytes
        self._tolerance_ms = _check_tolerance(tolerance_ms)
        self._setting = setting
        self._configured = secret if callable(secret) else None
        # A secret given as a value is checked now: a typo fails at start-up, not at every delivery.
        self._fixed = None if callable(secret) else Verifier(secret, tolerance_ms=tolerance_ms)
        self._cached: tuple[object, Verifier] | None = None
        self._warned: set[int] = set()

    def verifier(self) -> Verifier:
        """The verifier for the fixed secret, or for the configured one (decoded once per value).

        Raises:
            InvalidSecretError: The configured secret is missing or unusable.
        """
        if self._configured is None:
            return cast("Verifier", self._fixed)
        value = self._configured()
        if value is None or value in ("", b""):
            raise InvalidSecretError(
                f"{self._setting} is not set: set it to the secret Tower showed when the webhook was created"
            )
        cached = self._cached
        if cached is None or cached[0] != value:
            try:
                cached = (value, Verifier(cast("Secret | Sequence[Secret]", value), tolerance_ms=self._tolerance_ms))
            except (InvalidSecretError, TypeError) as error:
                raise InvalidSecretError(f"{self._setting} is unusable: {error}") from None
            self._cached = cached
        return cached[1]

    def too_large(self, size: int | None, *, limit: int | None = None, setting: str | None = None) -> BodyTooLargeError:
        """The error for a body over ``max_body_bytes``, or over a framework ``setting``'s ``limit``."""
        limit = self.max_body_bytes if limit is None else limit
        stated = "the body is" if size is None else f"the body is {size:,} bytes,"
        source = "max_body_bytes" if setting is None else f"the framework setting {setting}"
        return BodyTooLargeError(
            f"{stated} over the limit of {limit:,} bytes set by {source}; Tower's payloads are far smaller",
            max_body_bytes=limit,
            setting=setting,
        )

    def check_length(self, content_length: str | int | None) -> None:
        """Refuse a declared length over the limit, before reading a byte of the body.

        Raises:
            BodyTooLargeError: The declared length is over ``max_body_bytes``.
        """
        if isinstance(content_length, str):
            content_length = parse_content_length(content_length)
        if content_length is not None and content_length > self.max_body_bytes:
            raise self.too_large(content_length)

    def check(self, headers: Headers | TowerHeaderValues, read_body: Callable[[], bytes]) -> VerifiedWebhook | Reply:
        """Resolve the secret, read the body, verify: the webhook, or the reply that refuses it.

        ``headers`` are all the request's headers, or Tower's two values already found (from a
        WSGI environ, where the server has matched their names).
        """
        try:
            verifier = self.verifier()
            body = read_body()
            if len(body) > self.max_body_bytes:  # a chunked body, perhaps read only to the limit
                raise self.too_large(None)
            if isinstance(headers, TowerHeaderValues):
                return verifier.verify(headers.timestamp, headers.signature, body)
            return verifier.verify_headers(headers, body)
        except TowerWebhooksError as error:
            return reply_for(error)

    def finish(self, status: int) -> None:
        """Note the status a handler gave a verified webhook, once it has answered."""
        self.warn_if_retried(status)

    def warn_if_retried(self, status: int) -> None:
        """Warn once per status that Tower will retry a webhook answered with a 2xx other than 200."""
        if 200 < status < 300 and status not in self._warned:
            self._warned.add(status)
            logger.warning(
                "A verified Tower webhook was answered with %d: Tower counts only an exact 200 as "
                "delivered, so it will retry this event and deliver it again. Answer 200 instead.",
                status,
            )


# Every adapter runs a verified webhook's handler through one of these two (the ASGI middleware
# too, with the status it watched go out). Checks that must wrap the handler, such as answering a
# duplicate delivery before the handler runs and recording the outcome after it, belong here and
# in Guard, and nowhere else.


def _early(answer: Answer) -> Reply:
    return Reply(answer.status, answer.reason, answer.detail, answer.headers)


def run_sync(
    guard: Guard,
    webhook: VerifiedWebhook,
    call: Callable[[], Result],
    status_of: Callable[[Result], int],
    respond: Callable[[Reply], Result],
) -> Result:
    """Run a verified webhook's handler (once per delivery, with ``dedupe``) and report its status."""
    admission = None if guard.dedupe is None else guard.dedupe.begin(webhook)
    if admission is not None and admission.answer is not None:
        return respond(_early(admission.answer))  # a duplicate, a copy in progress, or the store down
    status = 500  # what the server answers when the handler raises
    try:
        result = call()
        status = status_of(result)
        return result
    finally:
        guard.finish(status)
        if admission is not None:
            admission.finish(status)


Settle = Callable[[int], Awaitable[None]]
"""Reports the status a handler answered, and records the delivery's outcome; only the first call counts.

Without deduplication there is nothing to record early, and it does nothing: the status noted is
the one the handler's call returns (500 if it raised).
"""


async def _nothing_to_settle(status: int) -> None:
    """``settle`` without deduplication: nothing is recorded, and the status is noted when ``call`` returns."""


async def run_async(
    guard: Guard,
    webhook: VerifiedWebhook,
    call: Callable[[Settle], Awaitable[Result]],
    status_of: Callable[[Result], int],
    respond: Callable[[Reply], Awaitable[Result]],
) -> Result:
    """Await a verified webhook's handler (once per delivery, with ``dedupe``) and report its status.

    ``call`` gets a ``settle`` function. An ASGI app keeps running after its answer is complete
    (Starlette's background tasks run then), so the middleware settles as soon as the answer is
    complete rather than when the app returns. Whatever ``call`` did not settle is settled when
    it returns (with 500 if it raised). Without ``dedupe`` there is nothing to settle early, so the
    status is noted when ``call`` returns, and no closure is built (this runs on every request).
    """
    if guard.dedupe is None:
        status = 500
        try:
            result = await call(_nothing_to_settle)
            status = status_of(result)
            return result
        finally:
            guard.finish(status)
    admission = await guard.dedupe.abegin(webhook)
    if admission.answer is not None:
        return await respond(_early(admission.answer))
    settled = False

    async def settle(status: int) -> None:
        nonlocal settled
        if settled:
            return
        settled = True
        guard.finish(status)
        await admission.afinish(status)

    status = 500
    try:
        result = await call(settle)
        status = status_of(result)
        return result
    finally:
        await settle(status)


def _status_code(response: Any) -> int:
    return cast("int", response.status_code)


def guard_view(
    view: View,
    *,
    is_async: bool,
    guard: Guard,
    prepare: Callable[..., VerifiedWebhook | Reply],
    respond: Callable[[Reply], object],
    finalize: Callable[[Any], object],
) -> View:
    """Wrap a view so it runs only for a verified webhook, and stays sync or async as it was.

    Frameworks decide how to call a view by whether it is a coroutine function, so an async
    view must stay one and a sync view must not become one.

    Args:
        view: The framework's view function.
        is_async: Whether the framework sees ``view`` as a coroutine function.
        guard: The adapter's guard.
        prepare: Called with the view's arguments; verifies and stores the webhook for the view.
        respond: Turns a ``Reply`` into the framework's response.
        finalize: Turns what the view returned into a response with a ``status_code``.

    Raises:
        TypeError: A sync view was given an asyncio deduplication store.
    """
    if is_async:

        async def respond_async(reply: Reply) -> object:
            return respond(reply)

        @functools.wraps(view)
        async def guarded_async(*args: Any, **kwargs: Any) -> object:
            outcome = prepare(*args, **kwargs)
            if isinstance(outcome, Reply):
                return respond(outcome)

            async def call(_settle: Settle) -> object:  # settled once the view returns
                return finalize(await view(*args, **kwargs))

            return await run_async(guard, outcome, call, _status_code, respond_async)

        return cast("View", guarded_async)

    if guard.dedupe is not None and guard.dedupe.is_async:
        raise TypeError(
            f"{getattr(view, '__qualname__', view)} is a sync view, which cannot await an asyncio store: "
            "give it a blocking one (RedisStore rather than AsyncRedisStore)"
        )

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> object:
        outcome = prepare(*args, **kwargs)
        if isinstance(outcome, Reply):
            return respond(outcome)
        return run_sync(guard, outcome, lambda: finalize(view(*args, **kwargs)), _status_code, respond)

    return cast("View", guarded)
