"""Flask under gunicorn: ``/verified`` is decorated with ``verify_tower_webhook``."""

from __future__ import annotations

import os

import flask

from tower_webhooks.adapters.flask import verify_tower_webhook

from . import SECRET_VARIABLE

app = flask.Flask(__name__)
app.config["TOWER_WEBHOOK_SECRET"] = os.environ[SECRET_VARIABLE]


@app.post("/plain")
def plain() -> str:
    """Read the whole body and answer 200."""
    return str(len(flask.request.get_data()))


@app.post("/verified")
@verify_tower_webhook
def verified() -> str:
    """The same, for a verified webhook (the adapter has read the body)."""
    return str(len(flask.g.tower_webhook.body))
