"""The FastAPI example for several workers: each delivery is handled once, however many copies arrive.

Tower sends a delivery again whenever it did not get an exact 200 in time, and any worker may get
any copy, so the claims live in Redis, shared by all of them (see docs/dedupe.md). The middleware
deduplicates, because it sees the status the endpoint really sent (a dependency never does). The
endpoint hands the event to a Redis list: a queue that another process works through.

    export TOWER_WEBHOOK_SECRET=... REDIS_URL=redis://localhost:6379/0
    uvicorn --workers 4 --app-dir examples fastapi_redis_app:app
"""

import logging
import os
from typing import Annotated

import redis.asyncio
from fastapi import Depends, FastAPI, Request

from tower_webhooks import VerifiedWebhook
from tower_webhooks.adapters.starlette import TowerWebhookMiddleware
from tower_webhooks.dedupe import Deduplicator
from tower_webhooks.dedupe.redis import AsyncRedisStore

logging.basicConfig(level=logging.INFO)  # duplicates, and a store that cannot be reached, are logged

QUEUE = "tower-webhooks:events"

redis_client = redis.asyncio.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=5, socket_connect_timeout=5)
app = FastAPI()
app.add_middleware(
    TowerWebhookMiddleware,
    secret=os.environ["TOWER_WEBHOOK_SECRET"],
    paths=["/webhooks/tower"],
    dedupe=Deduplicator(AsyncRedisStore(redis_client)),  # a copy of a handled delivery gets 200 at once
)


def verified_webhook(request: Request) -> VerifiedWebhook:
    """The webhook the middleware verified."""
    webhook: VerifiedWebhook = request.state.tower_webhook
    return webhook


@app.post("/webhooks/tower")
async def receive(webhook: Annotated[VerifiedWebhook, Depends(verified_webhook)]) -> dict[str, str]:
    """Queue one verified Tower event, once; answer 200 fast."""
    await redis_client.rpush(QUEUE, webhook.body)
    return {}
