"""The framework adapters used the way an app would, checked by ``mypy --strict`` and never run."""

from __future__ import annotations

import os
from typing import Any

import flask
from django.http import HttpRequest, HttpResponse
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from typing_extensions import assert_type

from tower_webhooks import VerifiedWebhook
from tower_webhooks.adapters import django as django_adapter
from tower_webhooks.adapters import flask as flask_adapter
from tower_webhooks.adapters.starlette import TowerWebhook, TowerWebhookMiddleware, WebhookRejected, verify_request

app = flask.Flask(__name__)


@app.post("/webhooks/tower")
@flask_adapter.verify_tower_webhook
def bare() -> tuple[str, int]:
    return "", 200


@flask_adapter.verify_tower_webhook(secret=lambda: os.environ["TOWER_WEBHOOK_SECRET"], max_body_bytes=65_536)
def with_options() -> tuple[str, int]:
    return "", 200


assert_type(bare(), tuple[str, int])  # the decorator keeps the view's type


@django_adapter.verify_tower_webhook
def django_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=200)


@django_adapter.verify_tower_webhook(tolerance_ms=60_000)
async def django_async_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=200)


assert_type(django_view(HttpRequest()), HttpResponse)

starlette_app = Starlette(
    middleware=[Middleware(TowerWebhookMiddleware, secret=[os.environ["OLD"], os.environ["NEW"]], paths={"/hooks"})]
)
tower_webhook = TowerWebhook(secret=os.environ["TOWER_WEBHOOK_SECRET"])
api = FastAPI()


@api.post("/webhooks/tower")
async def receive(webhook: VerifiedWebhook = Depends(tower_webhook)) -> Response:
    assert_type(webhook.json(), Any)  # Tower publishes no schema
    return Response(status_code=200)


async def endpoint(request: Request) -> Response:
    try:
        webhook = await verify_request(request, secret=os.environ["TOWER_WEBHOOK_SECRET"])
    except WebhookRejected as rejected:
        assert_type(rejected.reason, str)
        assert_type(rejected.status_code, int)
        raise
    assert_type(webhook, VerifiedWebhook)
    return Response(status_code=200)
