"""A single-file Django project that accepts Tower webhooks.

Run it with the secret Tower showed when the webhook was created:

    TOWER_WEBHOOK_SECRET=... python examples/django_app.py runserver
    TOWER_WEBHOOK_SECRET=... gunicorn --chdir examples django_app:application
"""

import hashlib
import os
import sys

from django.conf import settings

settings.configure(
    SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "only-for-this-example"),
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    MIDDLEWARE=["django.middleware.common.CommonMiddleware", "django.middleware.csrf.CsrfViewMiddleware"],
    TOWER_WEBHOOK_SECRET=os.environ["TOWER_WEBHOOK_SECRET"],
    LOGGING={
        "version": 1,
        "handlers": {"console": {"class": "logging.StreamHandler"}},
        "loggers": {"tower_webhooks": {"handlers": ["console"], "level": "INFO"}},
    },
)

from django.core.wsgi import get_wsgi_application  # noqa: E402 - after settings.configure()
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402

from tower_webhooks import InvalidPayloadError, VerifiedWebhook  # noqa: E402
from tower_webhooks.adapters.django import verify_tower_webhook  # noqa: E402


def _event_type(webhook: VerifiedWebhook) -> object:
    """The event type, if the body is a JSON object that has one: Tower publishes no schema."""
    try:
        event = webhook.json()
    except InvalidPayloadError:  # signed by Tower, yet not JSON: answer 200 anyway, or it is retried forever
        return None
    return event.get("event_type") if isinstance(event, dict) else None


@verify_tower_webhook  # POST-only and CSRF-exempt: the signature is the proof
def tower_webhook(request: HttpRequest) -> JsonResponse:
    """Receive one verified Tower event; answer 200 fast."""
    event = request.tower_webhook  # type: ignore[attr-defined]
    # Hand slow work to a queue: Tower waits 30 s at most, and counts only an exact 200.
    return JsonResponse(
        {"event_type": _event_type(event), "sha256": hashlib.sha256(request.body).hexdigest()}, status=200
    )


urlpatterns = [path("webhooks/tower", tower_webhook)]

application = get_wsgi_application()

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
