"""Starlette and FastAPI: a pure ASGI middleware, a per-endpoint check, and a FastAPI dependency.

    app.add_middleware(TowerWebhookMiddleware, secret=SECRET, paths=["/webhooks/tower"])
    # the endpoint finds the verified webhook at request.state.tower_webhook

    @app.post("/webhooks/tower")               # FastAPI
    async def tower_webhook(webhook: VerifiedWebhook = Depends(TowerWebhook(secret=SECRET))): ...

.. versionadded:: 0.1.0
"""

# No ``from __future__ import annotations``: FastAPI resolves TowerWebhook.__call__'s annotations at
# run time, and an instance has no module globals to resolve a string "Request" with.
from collections.abc import Collection
from typing import cast

try:
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import ASGIApp, Message, Receive, Scope, Send
except ModuleNotFoundError as _missing:  # pragma: no cover - depends on what is installed
    if (_missing.name or "").partition(".")[0] not in {"starlette"}:  # installed, but one of its imports is broken
        raise
    raise ImportError(
        "tower_webhooks.adapters.starlette needs Starlette: pip install 'tower-webhooks[starlette]' (or [fastapi])"
    ) from _missing

from tower_webhooks._verify import VerifiedWebhook
from tower_webhooks.dedupe import Deduplicator
from tower_webhooks.exceptions import TowerWebhooksError

from ._shared import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_TOLERANCE_MS,
    METHOD_NOT_ALLOWED,
    Guard,
    Reply,
    SecretSource,
    Settle,
    body_consumed,
    parse_content_length,
    reply_for,
    require_whole,
    run_async,
)

__all__ = ["TowerWebhook", "TowerWebhookMiddleware", "WebhookRejected", "verify_request", "webhook_rejected_handler"]

_SETTING = "the secret= function's value"


class WebhookRejected(HTTPException):
    """A refused request, as an ``HTTPException``.

    [`verify_request`][tower_webhooks.adapters.starlette.verify_request] and
    [`TowerWebhook`][tower_webhooks.adapters.starlette.TowerWebhook] raise it. Starlette answers
    it with ``status_code`` and ``detail`` as text, FastAPI as ``{"detail": ...}``; register
    [`webhook_rejected_handler`][tower_webhooks.adapters.starlette.webhook_rejected_handler] to
    answer ``{"error": reason, "detail": message}`` like the middleware and the other adapters.

    Attributes:
        reason: The stable code of the failure, such as ``"signature_mismatch"``.

    .. versionadded:: 0.1.0
    """

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status, reply.detail, dict(reply.headers) or None)
        self.reason: str = reply.reason
        self.reply = reply


async def webhook_rejected_handler(request: Request, exc: Exception) -> Response:
    """Answer a refused request as every adapter does: ``{"error": reason, "detail": message}``.

    It handles [`WebhookRejected`][tower_webhooks.adapters.starlette.WebhookRejected]. A dependency
    cannot choose its response, so FastAPI would wrap the refusal in its own ``{"detail": ...}``;
    register this handler once to keep one shape for every refusal::

        app = FastAPI(exception_handlers={WebhookRejected: webhook_rejected_handler})

    .. versionadded:: 0.1.0
    """
    reply = cast("WebhookRejected", exc).reply
    return Response(reply.body, reply.status, dict(reply.headers), media_type="application/json")


class TowerWebhookMiddleware:
    """Verify every POST to ``paths`` before the app sees it; refuse other methods there with 405.

    The body is buffered up to ``max_body_bytes`` and replayed, so the endpoint reads it as
    usual (``await request.body()``, a Pydantic body parameter); the verified webhook is at
    ``request.state.tower_webhook``. Refusals answer ``{"error": reason, "detail": message}``
    with 400 (413 over the limit, with ``connection: close`` since the rest stays unread). Any other
    method to ``paths`` is answered 405 with ``Allow: POST``, so that a route there which also
    accepts ``PUT`` or ``GET`` never runs unverified; other paths and scopes pass through untouched.

    Args:
        app: The ASGI app to protect.
        secret: The secret or the live secrets, checked now; or a function that returns them,
            called per request, so that a missing one answers 500 and is logged.
        paths: The exact request paths that receive Tower webhooks: ``scope["path"]``, or in an
            app mounted under a prefix, the path its routes match (the part after ``root_path``).
        tolerance_ms: See [`Verifier`][tower_webhooks.Verifier].
        max_body_bytes: The largest body accepted.
        dedupe: A [`Deduplicator`][tower_webhooks.dedupe.Deduplicator], so that the endpoint runs once per
            delivery: a copy of a handled delivery gets 200, a copy of one in progress 409, and
            the claim is settled by the status the endpoint actually sent. Use an asyncio store
            (``AsyncRedisStore``) or ``MemoryStore``.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        secret: SecretSource,
        paths: Collection[str],
        tolerance_ms: int | None = DEFAULT_TOLERANCE_MS,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        dedupe: Deduplicator | None = None,
    ) -> None:
        if isinstance(paths, str):
            raise TypeError(f"paths must be a collection of paths, such as [{paths!r}], not one string")
        self.app = app
        self._paths = frozenset(paths)
        self._guard = Guard(
            secret=secret, setting=_SETTING, tolerance_ms=tolerance_ms, max_body_bytes=max_body_bytes, dedupe=dedupe
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Verify a webhook POST to one of ``paths``, or pass a request for another path through untouched."""
        if scope["type"] != "http" or not self._matches(scope):
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":  # whatever the route accepts, nothing unverified reaches it
            await _send_reply(send, METHOD_NOT_ALLOWED, close=True)  # a body it may have stays unread
            return
        try:
            declared = _declared_length(scope)
            self._guard.check_length(declared)
            body: bytes | None
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                # The usual case: a small body comes in one message. bytes() returns bytes as they are and
                # copies anything else, so that what the app reads is what was verified.
                whole = bytes(message.get("body", b""))
                if len(whole) > self._guard.max_body_bytes:
                    raise self._guard.too_large(None)
                body = whole
            else:
                body = await self._read_rest(message, receive)
            if body is not None and declared is not None:
                require_whole(body, declared, "an outer middleware that read the ASGI receive channel")
        except TowerWebhooksError as error:
            await _send_reply(send, reply_for(error), close=True)  # the rest of the body is unread
            return
        if body is None:
            return  # the client left mid-body: nobody to answer
        outcome = self._guard.check(scope["headers"], lambda: body)
        if isinstance(outcome, Reply):
            await _send_reply(send, outcome, close=False)
            return
        scope.setdefault("state", {})["tower_webhook"] = outcome

        async def respond(reply: Reply) -> int:
            await _send_reply(send, reply, close=False)
            return reply.status

        await run_async(
            self._guard,
            outcome,
            lambda settle: self._run(scope, _replay(body, receive), send, settle),
            lambda status: status,
            respond,
        )

    def _matches(self, scope: Scope) -> bool:
        """Whether the request is for one of ``paths``, as the full path or the path its routes see.

        In an app mounted under a prefix (``Mount("/api", app)``, or ``root_path`` from the server),
        ``scope["path"]`` holds the prefix and the routes match what follows it: a POST to a route
        written ``"/webhooks/tower"`` reached it unverified when ``paths`` named it the same way.
        """
        path: str = scope["path"]
        if path in self._paths:
            return True
        root: str = scope.get("root_path", "")
        return (
            bool(root)
            and path.startswith(root)
            and path[len(root) : len(root) + 1] == "/"
            and (path[len(root) :] in self._paths)
        )

    async def _read_rest(self, message: Message, receive: Receive) -> bytes | None:
        """The body that starts with ``message``, capped at ``max_body_bytes``; ``None`` if the client left."""
        chunks: list[bytes] = []
        size = 0
        while True:
            if message["type"] == "http.disconnect":
                return None
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self._guard.max_body_bytes:
                raise self._guard.too_large(None)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
            message = await receive()

    async def _run(self, scope: Scope, receive: Receive, send: Send, settle: Settle) -> int:
        """Run the app and return the status it answered.

        With dedupe, the answer is held until the outcome is recorded, so that a copy sent the
        moment it arrives finds the delivery done, not in progress (an answer to a webhook is
        small). It is recorded as soon as the answer is complete, not when the app returns: a
        background task runs after the answer, and Tower must not wait for it. If the endpoint
        raises before its answer is complete, the held answer is dropped: the claim is released,
        and Tower must see the 500 that follows, not a 200.
        """
        status = 500
        trailers = False
        held: list[Message] | None = None if self._guard.dedupe is None else []

        async def flush(messages: list[Message]) -> None:
            await settle(status)
            for message in messages:
                await send(message)

        async def watch(message: Message) -> None:
            nonlocal status, trailers, held
            if message["type"] == "http.response.start":
                status = message["status"]
                trailers = bool(message.get("trailers", False))
            if held is None:
                await send(message)
                return
            held.append(message)
            if _completes(message, trailers=trailers):
                messages, held = held, None
                await flush(messages)

        await self.app(scope, receive, watch)
        if held:  # an answer that never said it was complete
            await flush(held)
        return status


_FRAMING_NAME_LENGTHS = frozenset({len(b"content-length"), len(b"transfer-encoding")})


def _declared_length(scope: Scope) -> int | None:
    """The body's ``Content-Length`` (the first one), or ``None`` if absent, malformed or chunked.

    With ``Transfer-Encoding`` the server ignores ``Content-Length`` (RFC 9112, section 6.3), and so do we.
    Names of another length are skipped unread: this runs on every webhook, over every header.
    """
    length: bytes | None = None
    for name, value in scope["headers"]:
        if len(name) not in _FRAMING_NAME_LENGTHS:
            continue
        key = name.lower()
        if key == b"transfer-encoding":
            return None
        if key == b"content-length" and length is None:
            length = value
    return None if length is None else parse_content_length(length.decode("latin-1"))


def _completes(message: Message, *, trailers: bool) -> bool:
    """Whether ``message`` is the last of the answer: what the app does after it is no part of it."""
    kind = message["type"]
    if kind == "http.response.body":
        return not trailers and not message.get("more_body", False)
    if kind == "http.response.trailers":
        return not message.get("more_trailers", False)
    return bool(kind == "http.response.pathsend")


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the buffered body once, then defers to the real one (disconnects)."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send_reply(send: Send, reply: Reply, *, close: bool) -> None:
    body = reply.body
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode("ascii"))]
    headers += [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in reply.headers]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _verify(guard: Guard, request: Request) -> VerifiedWebhook:
    try:
        guard.check_length(request.headers.get("content-length"))
        body = await request.body()  # cached on the request, so the endpoint can read it again
    except TowerWebhooksError as error:
        raise WebhookRejected(reply_for(error)) from None
    except RuntimeError:  # Starlette's "Stream consumed": read by request.stream() before us
        raise WebhookRejected(reply_for(body_consumed("code that ran earlier (request.stream())"))) from None
    outcome = guard.check(request.headers.raw, lambda: body)
    if isinstance(outcome, Reply):
        raise WebhookRejected(outcome)
    request.state.tower_webhook = outcome
    return outcome


async def verify_request(
    request: Request,
    *,
    secret: SecretSource,
    tolerance_ms: int | None = DEFAULT_TOLERANCE_MS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> VerifiedWebhook:
    """Verify one request inside an endpoint; the body stays readable with ``await request.body()``.

    It checks ``Content-Length`` before reading, but a chunked body is read whole before its
    size is known: the middleware caps it while reading.

    Raises:
        WebhookRejected: The request is refused (400, 411, 413) or the secret is unusable (500).

    .. versionadded:: 0.1.0
    """
    guard = Guard(secret=secret, setting=_SETTING, tolerance_ms=tolerance_ms, max_body_bytes=max_body_bytes)
    return await _verify(guard, request)


class TowerWebhook:
    """A FastAPI dependency that returns the verified webhook or refuses the request.

    ``webhook: VerifiedWebhook = Depends(TowerWebhook(secret=...))``; it also sets
    ``request.state.tower_webhook``, and raises
    [`WebhookRejected`][tower_webhooks.adapters.starlette.WebhookRejected] on a refusal. Build it
    once, at import: the secret is decoded then.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        *,
        secret: SecretSource,
        tolerance_ms: int | None = DEFAULT_TOLERANCE_MS,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self._guard = Guard(secret=secret, setting=_SETTING, tolerance_ms=tolerance_ms, max_body_bytes=max_body_bytes)

    async def __call__(self, request: Request) -> VerifiedWebhook:
        """Verify the request FastAPI passes in.

        See [`verify_request`][tower_webhooks.adapters.starlette.verify_request].
        """
        webhook = await _verify(self._guard, request)
        # A dependency never sees the response, but the route's declared status is known already.
        status = getattr(request.scope.get("route"), "status_code", None)
        if isinstance(status, int):
            self._guard.warn_if_retried(status)
        return webhook
