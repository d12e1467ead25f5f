"""Django under gunicorn: ``/verified`` is decorated with ``verify_tower_webhook``; two floors beside it.

No middleware at all, so the share verification takes is as large as it can be.
"""

from __future__ import annotations

import base64
import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from . import SECRET_VARIABLE, ByHandRefusedError, check_by_hand, hash_only

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    SECRET_KEY="bench-only, never deployed",  # Django refuses to start without one
    TOWER_WEBHOOK_SECRET=os.environ[SECRET_VARIABLE],
)

from tower_webhooks.adapters.django import verify_tower_webhook  # noqa: E402 - needs the settings above


@csrf_exempt
def plain(request: HttpRequest) -> HttpResponse:
    """Read the whole body and answer 200."""
    return HttpResponse(str(len(request.body)))


@verify_tower_webhook
def verified(request: HttpRequest) -> HttpResponse:
    """The same, for a verified webhook."""
    return HttpResponse(str(len(request.tower_webhook.body)))  # type: ignore[attr-defined]


_KEY = base64.b64decode(os.environ[SECRET_VARIABLE])


@csrf_exempt
def by_hand(request: HttpRequest) -> HttpResponse:
    """The same, checking the request by hand: the floor of what verification costs here."""
    body = request.body
    headers = request.headers
    try:
        check_by_hand(_KEY, headers.get("X-Tower-Webhook-Timestamp"), headers.get("X-Tower-Signature"), body)
    except ByHandRefusedError:
        return HttpResponse("refused", status=400)
    return HttpResponse(str(len(body)))


@csrf_exempt
def hashed(request: HttpRequest) -> HttpResponse:
    """The same, hashing the signed bytes and nothing more: the physical floor of verification here."""
    body = request.body
    hash_only(request.headers.get("X-Tower-Webhook-Timestamp"), body)
    return HttpResponse(str(len(body)))


urlpatterns = [
    path("plain", plain),
    path("verified", verified),
    path("by-hand", by_hand),
    path("hash-only", hashed),
]
application = get_wsgi_application()
