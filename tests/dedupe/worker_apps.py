"""Apps for the multi-process tests, whose handler leaves countable traces.

Every server worker imports this module, configured by environment: ``REDIS_URL``,
``TOWER_WEBHOOK_SECRET``, ``LEASE_MS`` and ``CALLS_FILE``. The payload steers the handler:
``{"fail_first": true}`` makes its first run raise; ``{"sleep_first_s": 30}`` makes its first run
hang (after recording its pid, so a test can kill that worker mid-handler).

Traces, per body SHA-256: a line ``<sha> <pid>`` appended to ``CALLS_FILE`` as the handler starts
(written before Redis is touched, so it shows a run even while Redis is down), and the Redis
counters ``calls:<sha>`` and ``effects:<sha>`` (the side effect, counted only on success).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time

import redis
from fastapi import FastAPI, Request, Response
from flask import Flask
from flask import request as flask_request

from tower_webhooks import VerifiedWebhook, Verifier
from tower_webhooks.dedupe import Deduplicator
from tower_webhooks.dedupe.redis import AsyncRedisStore, RedisStore

REDIS_URL = os.environ["REDIS_URL"]
verifier = Verifier(os.environ["TOWER_WEBHOOK_SECRET"])
counters = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
lease_ms = int(os.environ.get("LEASE_MS", "60000"))


def handle(webhook: VerifiedWebhook) -> None:
    """The handler: its side effect happens once it succeeds."""
    sha = hashlib.sha256(webhook.body).hexdigest()
    with open(os.environ["CALLS_FILE"], "a") as calls_file:
        calls_file.write(f"{sha} {os.getpid()}\n")
    payload = webhook.json()
    counters.set(f"pid:{sha}", os.getpid())
    first = counters.incr(f"calls:{sha}") == 1
    if first and payload.get("sleep_first_s"):
        time.sleep(payload["sleep_first_s"])
    if first and payload.get("fail_first"):
        raise RuntimeError("the first run fails")
    counters.incr(f"effects:{sha}")


flask_app = Flask(__name__)
flask_dedupe = Deduplicator(RedisStore.from_url(REDIS_URL), lease_ms=lease_ms)


@flask_app.route("/webhooks/tower", methods=["GET", "POST"])
def flask_webhook() -> tuple[str, int, dict[str, str]]:
    if flask_request.method != "POST":
        return "", 405, {}
    webhook = verifier.verify_headers(flask_request.headers, flask_request.get_data())
    admission = flask_dedupe.begin(webhook)
    if admission.answer is not None:
        return admission.answer.detail, admission.answer.status, dict(admission.answer.headers)
    try:
        handle(webhook)
    except Exception:
        admission.finish(500)
        raise
    admission.finish(200)
    return "", 200, {}


fastapi_app = FastAPI()
fastapi_dedupe = Deduplicator(AsyncRedisStore.from_url(REDIS_URL), lease_ms=lease_ms)


@fastapi_app.api_route("/webhooks/tower", methods=["GET", "POST"])
async def fastapi_webhook(request: Request) -> Response:
    if request.method != "POST":
        return Response(status_code=405)
    webhook = verifier.verify_headers(request.headers, await request.body())
    admission = await fastapi_dedupe.abegin(webhook)
    if admission.answer is not None:
        return Response(admission.answer.detail, admission.answer.status, dict(admission.answer.headers))
    try:
        await asyncio.to_thread(handle, webhook)
    except Exception:
        await admission.afinish(500)
        raise
    await admission.afinish(200)
    return Response(status_code=200)
