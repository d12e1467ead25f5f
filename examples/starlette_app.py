"""A Starlette app that accepts Tower webhooks, verified by a pure ASGI middleware.

Run it with the secret Tower showed when the webhook was created:

    TOWER_WEBHOOK_SECRET=... uvicorn --app-dir examples starlette_app:app
"""

import hashlib
import logging
import os

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tower_webhooks import InvalidPayloadError, VerifiedWebhook
from tower_webhooks.adapters.starlette import TowerWebhookMiddleware

logging.basicConfig(level=logging.INFO)  # the adapter logs non-200 answers to verified webhooks


def _event_type(webhook: VerifiedWebhook) -> object:
    """The event type, if the body is a JSON object that has one: Tower publishes no schema."""
    try:
        event = webhook.json()
    except InvalidPayloadError:  # signed by Tower, yet not JSON: answer 200 anyway, or it is retried forever
        return None
    return event.get("event_type") if isinstance(event, dict) else None


async def tower_webhook(request: Request) -> JSONResponse:
    """Receive one verified Tower event; answer 200 fast."""
    webhook = request.state.tower_webhook  # set by the middleware, only once verified
    event = webhook
    # Hand slow work to a queue: Tower waits 30 s at most, and counts only an exact 200.
    body = await request.body()  # the middleware replays the body it verified
    return JSONResponse({"event_type": _event_type(event), "sha256": hashlib.sha256(body).hexdigest()})


app = Starlette(
    routes=[Route("/webhooks/tower", tower_webhook, methods=["POST"])],
    middleware=[
        Middleware(TowerWebhookMiddleware, secret=os.environ["TOWER_WEBHOOK_SECRET"], paths=["/webhooks/tower"]),
    ],
)
