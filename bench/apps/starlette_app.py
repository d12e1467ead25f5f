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
    """Read the whole body, as a real handler does, and answer 200.

    ``/verified-state`` takes the body the middleware verified instead of ``await request.body()``.
    """
    if request.path_params["name"] == "verified-state":
        body = request.state.tower_webhook.body
    else:
        body = await request.body()
    return PlainTextResponse(str(len(body)))


def build(secret: str) -> Starlette:
    """The app, with the middleware verifying the two ``/verified`` paths only.

    One route serves every path: Starlette tries routes in order, so with a route per path,
    ``/verified`` would pay for trying ``/plain`` first and count it as verification.
    """
    routes = [Route("/{name}", endpoint, methods=["POST"])]
    verified = ["/verified", "/verified-state"]
    return Starlette(routes=routes, middleware=[Middleware(TowerWebhookMiddleware, secret=secret, paths=verified)])


def create() -> Starlette:
    """The app for ``uvicorn --factory``, with the secret from the environment."""
    return build(os.environ[SECRET_VARIABLE])
