"""Starlette under uvicorn: ``/verified`` and ``/verified-state`` sit behind :class:`TowerWebhookMiddleware`.

``/verified-state`` reads the body the middleware verified (``request.state.tower_webhook.body``)
instead of ``await request.body()``, which makes Starlette join the replayed body into a copy of
its own: the memory benchmark measures both.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tower_webhooks.adapters.starlette import TowerWebhookMiddleware

from . import SECRET_VARIABLE

if TYPE_CHECKING:
    from starlette.requests import Request


async def endpoint(request: Request) -> PlainTextResponse:
    """Read the whole body, as a real handler does, and answer 200."""
    body = await request.body()
    return PlainTextResponse(str(len(body)))


async def state_endpoint(request: Request) -> PlainTextResponse:
    """Use the body the middleware verified, and answer 200."""
    return PlainTextResponse(str(len(request.state.tower_webhook.body)))


def build(secret: str) -> Starlette:
    """The app, with the middleware verifying the two ``/verified`` paths only."""
    routes = [
        Route("/plain", endpoint, methods=["POST"]),
        Route("/verified", endpoint, methods=["POST"]),
        Route("/verified-state", state_endpoint, methods=["POST"]),
    ]
    verified = ["/verified", "/verified-state"]
    return Starlette(routes=routes, middleware=[Middleware(TowerWebhookMiddleware, secret=secret, paths=verified)])


def create() -> Starlette:
    """The app for ``uvicorn --factory``, with the secret from the environment."""
    return build(os.environ[SECRET_VARIABLE])
