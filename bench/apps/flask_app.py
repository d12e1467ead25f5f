"""Flask under gunicorn: ``/verified`` is decorated with ``verify_tower_webhook``; two floors beside it."""

from __future__ import annotations

import base64
import os

import flask

from tower_webhooks.adapters.flask import verify_tower_webhook

from . import SECRET_VARIABLE, ByHandRefusedError, check_by_hand, hash_only

app = flask.Flask(__name__)
app.config["TOWER_WEBHOOK_SECRET"] = os.environ[SECRET_VARIABLE]
_KEY = base64.b64decode(os.environ[SECRET_VARIABLE])


@app.post("/plain")
def plain() -> str:
    """Read the whole body and answer 200."""
    return str(len(flask.request.get_data()))


@app.post("/verified")
@verify_tower_webhook
def verified() -> str:
    """The same, for a verified webhook (the adapter has read the body)."""
    return str(len(flask.g.tower_webhook.body))


@app.post("/by-hand")
def by_hand() -> tuple[str, int]:
    """The same, checking the request by hand: the floor of what verification costs here."""
    body = flask.request.get_data()
    headers = flask.request.headers
    try:
        check_by_hand(_KEY, headers.get("X-Tower-Webhook-Timestamp"), headers.get("X-Tower-Signature"), body)
    except ByHandRefusedError:
        return "refused", 400
    return str(len(body)), 200


@app.post("/hash-only")
def hashed() -> str:
    """The same, hashing the signed bytes and nothing more: the physical floor of verification here."""
    body = flask.request.get_data()
    hash_only(flask.request.headers.get("X-Tower-Webhook-Timestamp"), body)
    return str(len(body))
