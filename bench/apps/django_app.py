"""Django under gunicorn: ``/verified`` is decorated with ``verify_tower_webhook``; no other middleware."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from . import SECRET_VARIABLE

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


urlpatterns = [path("plain", plain), path("verified", verified)]
application = get_wsgi_application()
