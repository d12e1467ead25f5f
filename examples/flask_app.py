"""A Flask app that accepts Tower webhooks.

Run it with the secret Tower showed when the webhook was created:

    TOWER_WEBHOOK_SECRET=... flask --app examples/flask_app run
    TOWER_WEBHOOK_SECRET=... gunicorn --chdir examples flask_app:app
"""

import hashlib
import logging
import os

from flask import Flask, g, request

from tower_webhooks import InvalidPayloadError, VerifiedWebhook
from tower_webhooks.adapters.flask import verify_tower_webhook

logging.basicConfig(level=logging.INFO)  # the adapter logs misconfiguration and non-200 answers

app = Flask(__name__)
app.config["TOWER_WEBHOOK_SECRET"] = os.environ["TOWER_WEBHOOK_SECRET"]


def _event_type(webhook: VerifiedWebhook) -> object:
    """The event type, if the body is a JSON object that has one: Tower publishes no schema."""
    try:
        event = webhook.json()
    except InvalidPayloadError:  # signed by Tower, yet not JSON: answer 200 anyway, or it is retried forever
        return None
    return event.get("event_type") if isinstance(event, dict) else None


@app.post("/webhooks/tower")
@verify_tower_webhook
def tower_webhook() -> tuple[dict[str, object], int]:
    """Receive one verified Tower event; answer 200 fast."""
    event = g.tower_webhook  # parse only when needed: the signature covers the raw bytes
    # Hand slow work to a queue: Tower waits 30 s at most, and counts only an exact 200.
    return {
        "event_type": _event_type(event),
        "sha256": hashlib.sha256(request.get_data()).hexdigest(),  # the body is still readable
    }, 200
