"""A FastAPI app that accepts Tower webhooks, verified by a dependency, with a Pydantic body.

Run it with the secret Tower showed when the webhook was created:

    TOWER_WEBHOOK_SECRET=... uvicorn --app-dir examples fastapi_app:app
"""

import hashlib
import logging
import os
from typing import Annotated

from fastapi import Depends, FastAPI
from pydantic import BaseModel

from tower_webhooks import VerifiedWebhook
from tower_webhooks.adapters.starlette import TowerWebhook, WebhookRejected, webhook_rejected_handler

logging.basicConfig(level=logging.INFO)  # the adapter warns about a route declared with another 2xx

app = FastAPI(exception_handlers={WebhookRejected: webhook_rejected_handler})  # refusals: {"error", "detail"}
tower_webhook = TowerWebhook(secret=os.environ["TOWER_WEBHOOK_SECRET"])  # decodes the secret once


class Event(BaseModel):
    """Tower publishes no schema: require nothing you do not use, and allow everything else."""

    event_type: str | None = None


@app.post("/webhooks/tower")  # the default status, 200, is the only one Tower counts as delivered
async def receive(event: Event, webhook: Annotated[VerifiedWebhook, Depends(tower_webhook)]) -> dict[str, object]:
    """Receive one verified Tower event, parsed by Pydantic from the very bytes that were verified."""
    # Hand slow work to a queue: Tower waits 30 s at most.
    return {"event_type": event.event_type, "sha256": hashlib.sha256(webhook.body).hexdigest()}
