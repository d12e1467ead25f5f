"""The Flask example for several workers: each delivery is handled once, however many copies arrive.

Tower sends a delivery again whenever it did not get an exact 200 in time, and any worker may get
any copy, so the claims live in Redis, shared by all of them (see docs/dedupe.md). The handler
hands the event to a Redis list: a queue that another process works through.

    export TOWER_WEBHOOK_SECRET=... REDIS_URL=redis://localhost:6379/0
    gunicorn --workers 4 --chdir examples flask_redis_app:app
"""

import logging
import os

import redis
from flask import Flask, g

from tower_webhooks.adapters.flask import verify_tower_webhook
from tower_webhooks.dedupe import Deduplicator
from tower_webhooks.dedupe.redis import RedisStore

logging.basicConfig(level=logging.INFO)  # duplicates, and a store that cannot be reached, are logged

QUEUE = "tower-webhooks:events"

app = Flask(__name__)
app.config["TOWER_WEBHOOK_SECRET"] = os.environ["TOWER_WEBHOOK_SECRET"]
redis_client = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=5, socket_connect_timeout=5)
dedupe = Deduplicator(RedisStore(redis_client))


@app.post("/webhooks/tower")
@verify_tower_webhook(dedupe=dedupe)  # a copy of a handled delivery gets 200 before this runs
def tower_webhook() -> tuple[str, int]:
    """Queue one verified Tower event, once; answer 200 fast."""
    redis_client.rpush(QUEUE, g.tower_webhook.body)
    return "", 200
