"""The examples/ apps that deduplicate in Redis, plus a route whose handler leaves countable traces.

Every server worker builds its app here, configured by environment: ``REDIS_URL``,
``TOWER_WEBHOOK_SECRET``, ``LEASE_MS`` (for ``/test-hook``) and ``CALLS_FILE``. The example's own
route, ``/webhooks/tower``, is left as it is. On ``/test-hook`` the payload steers the handler:
``{"fail_first": true}`` makes its first run raise; ``{"hold_first": true}`` makes its first run
wait (up to a minute) until the test pushes to the Redis list ``go:<sha>``, after recording its
pid, so that a test can send copies, or kill that worker, mid-handler.

The handler's traces, per body SHA-256: a line ``<sha> <pid>`` appended to ``CALLS_FILE`` as it
starts (before Redis is touched, so it shows a run even while Redis is down), and the Redis
counters ``calls:<sha>`` and ``effects:<sha>`` (the side effect, counted only on success).
"""

# No ``from __future__ import annotations``: FastAPI resolves the test endpoint's annotations at run
# time, and ``Request`` is imported inside the factory, where a string could not be resolved.
import asyncio
import hashlib
import os
from typing import TYPE_CHECKING

import redis

from tower_webhooks.dedupe import Deduplicator
from tower_webhooks.dedupe.redis import AsyncRedisStore, RedisStore

if TYPE_CHECKING:
    import fastapi
    import flask

    from tower_webhooks import VerifiedWebhook

TEST_PATH = "/test-hook"


def handle(webhook: "VerifiedWebhook") -> None:
    """The test handler: its side effect happens once it succeeds."""
    sha = hashlib.sha256(webhook.body).hexdigest()
    with open(os.environ["CALLS_FILE"], "a") as calls_file:
        calls_file.write(f"{sha} {os.getpid()}\n")
    counters = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=5)
    try:
        counters.set(f"pid:{sha}", os.getpid())
        first = counters.incr(f"calls:{sha}") == 1
        payload = webhook.json()
        if first and payload.get("hold_first"):
            counters.blpop([f"go:{sha}"], timeout=60)
        if first and payload.get("fail_first"):
            raise RuntimeError("the first run fails")
        counters.incr(f"effects:{sha}")
    finally:
        counters.close()


def _lease_ms() -> int:
    return int(os.environ["LEASE_MS"])


def flask_app() -> "flask.Flask":
    """examples/flask_redis_app.py, with the test route (``gunicorn 'tests.dedupe.worker_apps:flask_app()'``)."""
    import flask
    from flask_redis_app import app

    from tower_webhooks.adapters.flask import verify_tower_webhook

    dedupe = Deduplicator(RedisStore.from_url(os.environ["REDIS_URL"]), lease_ms=_lease_ms())

    @app.post(TEST_PATH)
    @verify_tower_webhook(dedupe=dedupe)
    def test_hook() -> tuple[str, int]:
        handle(flask.g.tower_webhook)
        return "", 200

    return app


def fastapi_app() -> "fastapi.FastAPI":
    """examples/fastapi_redis_app.py, with the test route (``uvicorn --factory ...:fastapi_app``)."""
    from fastapi import Request, Response
    from fastapi_redis_app import app

    from tower_webhooks.adapters.starlette import TowerWebhookMiddleware

    dedupe = Deduplicator(AsyncRedisStore.from_url(os.environ["REDIS_URL"]), lease_ms=_lease_ms())
    app.add_middleware(
        TowerWebhookMiddleware, secret=os.environ["TOWER_WEBHOOK_SECRET"], paths=[TEST_PATH], dedupe=dedupe
    )

    @app.post(TEST_PATH)
    async def test_hook(request: Request) -> Response:
        await asyncio.to_thread(handle, request.state.tower_webhook)
        return Response(status_code=200)

    return app
