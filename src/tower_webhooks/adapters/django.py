"""Django: the ``verify_tower_webhook`` view decorator, for function views and ``as_view()``.

    from tower_webhooks.adapters.django import verify_tower_webhook

    @verify_tower_webhook                      # reads settings.TOWER_WEBHOOK_SECRET
    def tower_webhook(request):
        event = request.tower_webhook.json()
        return HttpResponse(status=200)        # Tower counts only an exact 200 as delivered

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, overload

try:
    from asgiref.sync import iscoroutinefunction
    from django.conf import settings
    from django.core.exceptions import RequestDataTooBig
    from django.core.handlers.wsgi import WSGIRequest
    from django.http import HttpRequest, HttpResponse
    from django.http.request import RawPostDataException
except ModuleNotFoundError as _missing:  # pragma: no cover - depends on what is installed
    if (_missing.name or "").partition(".")[0] not in {"django"}:  # installed, but one of its imports is broken
        raise
    raise ImportError("tower_webhooks.adapters.django needs Django: pip install 'tower-webhooks[django]'") from _missing

from tower_webhooks._verify import VerifiedWebhook
from tower_webhooks.dedupe import Deduplicator

from ._shared import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_TOLERANCE_MS,
    METHOD_NOT_ALLOWED,
    Guard,
    Reply,
    SecretSource,
    View,
    body_consumed,
    body_unavailable,
    environ_headers,
    guard_view,
    malformed_length,
    parse_content_length,
)

if TYPE_CHECKING:
    from collections.abc import Callable


__all__ = ["SECRET_SETTING", "verify_tower_webhook"]

SECRET_SETTING = "TOWER_WEBHOOK_SECRET"
"""The Django setting read when no ``secret=`` is given."""


def _read_body(guard: Guard, request: HttpRequest) -> bytes:
    length = request.META.get("CONTENT_LENGTH")
    declared = parse_content_length(length)
    if length and declared is None:
        raise malformed_length()  # request.body itself would raise a ValueError on it: a 500
    guard.check_length(declared)
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    if not length and chunked and isinstance(request, WSGIRequest):
        raise body_unavailable("Django's WSGI handler reads a body only up to its Content-Length")
    try:
        return request.body
    except RawPostDataException:
        raise body_consumed("code that ran earlier (request.POST, request.FILES or request.read())") from None
    except RequestDataTooBig:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raise guard.too_large(
            parse_content_length(length), limit=limit, setting="DATA_UPLOAD_MAX_MEMORY_SIZE"
        ) from None


def _configured_secret() -> object:
    return getattr(settings, SECRET_SETTING, None)


def _prepare(guard: Guard, request: HttpRequest) -> VerifiedWebhook | Reply:
    if request.method != "POST":
        return METHOD_NOT_ALLOWED
    outcome = guard.check(environ_headers(request.META), lambda: _read_body(guard, request))
    if isinstance(outcome, VerifiedWebhook):
        request.tower_webhook = outcome  # type: ignore[attr-defined]
    return outcome


def _respond(reply: Reply) -> HttpResponse:
    response = HttpResponse(reply.body, status=reply.status, content_type="application/json")
    for name, value in reply.headers:
        response[name] = value
    return response


def _request_of(args: tuple[Any, ...]) -> HttpRequest:
    # A function view gets (request, ...); a method decorated directly gets (self, request, ...).
    for arg in args[:2]:
        if isinstance(arg, HttpRequest):
            return arg
    raise TypeError("verify_tower_webhook decorates Django views, but this one was called without an HttpRequest")


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
    """Run the view only for a verified Tower webhook, which it finds at ``request.tower_webhook``.

    Works on function views, sync or ``async def`` (the result stays what it was, which is how
    Django decides to call it), and on ``SomeView.as_view()``. The view becomes POST-only,
    CSRF-exempt (Tower sends no CSRF token; the signature is the proof) and, where Django has
    ``LoginRequiredMiddleware``, exempt from login. A failed check answers 400 (413 over the
    limit, 411 for a chunked body the WSGI handler drops) with ``{"error": reason, "detail":
    message}``; a missing or invalid secret answers 500 and logs why.

    Args:
        view: The view, when used bare.
        secret: The secret (or live secrets), checked now; or a function that returns it, called
            per request. By default ``settings.TOWER_WEBHOOK_SECRET``, read per request.
        tolerance_ms: See [`Verifier`][tower_webhooks.Verifier].
        max_body_bytes: The largest body accepted; ``DATA_UPLOAD_MAX_MEMORY_SIZE`` also applies.
        dedupe: A [`Deduplicator`][tower_webhooks.dedupe.Deduplicator], so that the view runs once per
            delivery: a copy of a handled delivery gets 200, a copy of one in progress 409. Sync
            views need a blocking store (``RedisStore``, ``DjangoCacheStore``); an asyncio store
            (``AsyncRedisStore``) suits ``async def`` views served by ASGI only, since under WSGI
            Django runs each of them in an event loop of its own.

    Raises:
        InvalidSecretError: ``secret`` was given and cannot be used.
        TypeError: A sync view was given an asyncio store.

    .. versionadded:: 0.1.0
    """
    guard = Guard(
        secret=_configured_secret if secret is None else secret,
        setting=f"settings.{SECRET_SETTING}",
        tolerance_ms=tolerance_ms,
        max_body_bytes=max_body_bytes,
        dedupe=dedupe,
    )

    def decorate(view: View) -> View:
        guarded = guard_view(
            view,
            is_async=iscoroutinefunction(view),
            guard=guard,
            prepare=lambda *args, **kwargs: _prepare(guard, _request_of(args)),
            respond=_respond,
            finalize=lambda response: response,
        )
        # What csrf_exempt and login_not_required set, without their wrappers (older Django's
        # wrappers would turn an async view into a sync one).
        guarded.__dict__.update(csrf_exempt=True, login_required=False)
        return guarded

    return decorate if view is None else decorate(view)
