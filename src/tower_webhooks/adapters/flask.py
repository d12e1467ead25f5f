"""Flask: the ``verify_tower_webhook`` view decorator.

    from tower_webhooks.adapters.flask import verify_tower_webhook

    @app.post("/webhooks/tower")
    @verify_tower_webhook                      # reads app.config["TOWER_WEBHOOK_SECRET"]
    def tower_webhook():
        event = flask.g.tower_webhook.json()
        return "", 200                         # Tower counts only an exact 200 as delivered

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, overload

try:
    import flask
    from werkzeug.exceptions import RequestEntityTooLarge
    from werkzeug.wsgi import LimitedStream, get_content_length
except ModuleNotFoundError as _missing:  # pragma: no cover - depends on what is installed
    if (_missing.name or "").partition(".")[0] not in {"flask", "werkzeug"}:  # installed, but its imports are broken
        raise
    raise ImportError("tower_webhooks.adapters.flask needs Flask: pip install 'tower-webhooks[flask]'") from _missing

from tower_webhooks._verify import VerifiedWebhook
from tower_webhooks.dedupe import Deduplicator

from ._shared import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_TOLERANCE_MS,
    Guard,
    Reply,
    SecretSource,
    View,
    body_unavailable,
    environ_headers,
    guard_view,
    malformed_length,
    parse_content_length,
    require_whole,
)

if TYPE_CHECKING:
    from collections.abc import Callable


__all__ = ["SECRET_SETTING", "verify_tower_webhook"]

SECRET_SETTING = "TOWER_WEBHOOK_SECRET"
"""The ``app.config`` key read when no ``secret=`` is given."""


def _read_body(guard: Guard, environ: dict[str, Any]) -> bytes:
    # The length as request.content_length reads it, but from the environ: building request.headers
    # for two look-ups cost 12 us a request, more than half of what verifying it costs (docs/performance.md).
    declared = environ.get("CONTENT_LENGTH")
    plain = parse_content_length(declared)  # a plain number reads the same here as in Werkzeug
    # Werkzeug decides everything else: a Transfer-Encoding, a length absent, malformed or of 20 digits.
    length = plain if plain is not None and "HTTP_TRANSFER_ENCODING" not in environ else get_content_length(environ)
    guard.check_length(length)
    if length is not None and plain is None and declared and declared.strip(" \t"):
        # Werkzeug reads "abc", "-7" or "7, 7" as 0 and hands over an empty body, which would verify as
        # a signature mismatch; the Werkzeug server passes such a header on (gunicorn refuses it).
        raise malformed_length()
    chunked = length is None and "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    if chunked:
        if "wsgi.input_terminated" not in environ:
            raise body_unavailable("this WSGI server does not pass chunked bodies on (no wsgi.input_terminated)")
        # One byte past the limit tells a body too large (Guard.check refuses it); the rest stays unread.
        environ["wsgi.input"] = LimitedStream(environ["wsgi.input"], guard.max_body_bytes + 1, is_max=True)
    request = flask.request
    try:
        body = request.get_data(cache=True)  # the raw bytes, cached for the view; never form parsing
    except RequestEntityTooLarge:
        setting = request.max_content_length
        if setting is not None and setting < guard.max_body_bytes:
            raise guard.too_large(length, limit=setting, setting="MAX_CONTENT_LENGTH") from None
        raise guard.too_large(length) from None
    if chunked:  # Werkzeug cuts a chunked body off at MAX_CONTENT_LENGTH without a word: one more byte tells
        setting = request.max_content_length
        if setting is not None and len(body) == setting and environ["wsgi.input"].read(1):
            raise guard.too_large(None, limit=setting, setting="MAX_CONTENT_LENGTH")
    return require_whole(body, length, "code that ran earlier (request.form, request.files or request.stream)")


def _configured_secret() -> object:
    return flask.current_app.config.get(SECRET_SETTING)


def _prepare(guard: Guard) -> VerifiedWebhook | Reply:
    environ = flask.request.environ
    outcome = guard.check(environ_headers(environ), lambda: _read_body(guard, environ))
    if isinstance(outcome, VerifiedWebhook):
        flask.g.tower_webhook = outcome
    return outcome


def _finalize(result: Any) -> flask.Response:
    return flask.current_app.make_response(result)  # the status, whatever form the view returned


def _respond(reply: Reply) -> flask.Response:
    return flask.current_app.response_class(reply.body, reply.status, reply.headers, mimetype="application/json")


@overload
def verify_tower_webhook(view: View, /) -> View: ...
@overload
def verify_tower_webhook(
    *,
    secret: SecretSource | None = None,
    tolerance_ms: int | None = DEFAULT_TOLERANCE_MS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    dedupe: Deduplicator | None = None,
) -> Callable[[View], View]: ...
def verify_tower_webhook(
    view: Callable[..., Any] | None = None,
    /,
    *,
    secret: SecretSource | None = None,
    tolerance_ms: int | None = DEFAULT_TOLERANCE_MS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    dedupe: Deduplicator | None = None,
) -> Any:
    """Run the view only for a verified Tower webhook, which it finds at ``flask.g.tower_webhook``.

    Use it bare (``@verify_tower_webhook``) or with options, below the route decorator. The raw
    body is read before anything can parse it, and stays available through ``request.get_data()``.
    A failed check answers 400 (413 for a body over the limit, 411 for a chunked body the server
    does not pass on) with ``{"error": reason, "detail": message}``; a missing or invalid secret
    answers 500 and logs why. ``async def`` views work too.

    Args:
        view: The view, when used bare.
        secret: The secret (or live secrets), checked now; or a function that returns it, called
            per request. By default ``app.config["TOWER_WEBHOOK_SECRET"]``, read per request.
        tolerance_ms: See [`Verifier`][tower_webhooks.Verifier].
        max_body_bytes: The largest body accepted; Flask's ``MAX_CONTENT_LENGTH`` also applies.
        dedupe: A [`Deduplicator`][tower_webhooks.dedupe.Deduplicator], so that the view runs once per
            delivery: a copy of a handled delivery gets 200, a copy of one in progress 409. Its
            store must block (``RedisStore``, ``MemoryStore``): Flask runs each ``async def`` view
            in an event loop of its own, where a pooled asyncio client cannot be reused.

    Raises:
        InvalidSecretError: ``secret`` was given and cannot be used.
        TypeError: ``dedupe`` has an asyncio store.

    .. versionadded:: 0.1.0
    """
    if dedupe is not None and dedupe.is_async:
        raise TypeError(
            "Flask runs each async view in an event loop of its own, where a pooled asyncio client cannot "
            "be reused: give dedupe a blocking store (RedisStore rather than AsyncRedisStore)"
        )
    guard = Guard(
        secret=_configured_secret if secret is None else secret,
        setting=f'app.config["{SECRET_SETTING}"]',
        tolerance_ms=tolerance_ms,
        max_body_bytes=max_body_bytes,
        dedupe=dedupe,
    )

    def decorate(view: View) -> View:
        return guard_view(
            view,
            is_async=inspect.iscoroutinefunction(view),
            guard=guard,
            prepare=lambda *args, **kwargs: _prepare(guard),
            respond=_respond,
            finalize=_finalize,
        )

    return decorate if view is None else decorate(view)
