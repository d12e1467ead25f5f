"""Starlette under uvicorn: ``/verified`` and ``/verified-state`` sit behind :class:`TowerWebhookMiddleware`.

``/verified-state`` reads the body the middleware verified (``request.state.tower_webhook.body``)
instead of ``await request.body()``, which makes Starlette join the replayed body into a copy of
its own: the memory benchmark measures both.

Three floors: ``/by-hand`` checks the request in the endpoint, ``/hash-only`` only hashes it there,
and ``/replay`` sits behind :class:`ReplayOnly`, a middleware that reads the body and replays it
without checking anything: the least any middleware that verifies the body before the app sees
it must do.
"""

from __future__ import annotations

import base64
import os
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tower_webhooks.adapters.starlette import TowerWebhookMiddleware

from . import SECRET_VARIABLE, ByHandRefusedError, check_by_hand, hash_only

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ReplayOnly:
    """Read the body of a POST to ``/replay`` in one message and replay it to the app: no check at all."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass every other path through; for ``/replay``, receive first, then let the app read it again."""
        if scope["type"] != "http" or scope["path"] != "/replay":
            await self.app(scope, receive, send)
            return
        message = await receive()
        pending = True

        async def replay() -> Message:
            nonlocal pending
            if pending:
                pending = False
                return message
            return await receive()

        await self.app(scope, replay, send)


def build(secret: str) -> Starlette:
    """The app, with the middleware verifying the two ``/verified`` paths only.

    One route serves every path: Starlette tries routes in order, so with a route per path,
    ``/verified`` would pay for trying ``/plain`` first and count it as verification.
    """
    key = base64.b64decode(secret)

    async def endpoint(request: Request) -> PlainTextResponse:
        """Read the whole body, as a real handler does, and answer 200.

        ``/verified-state`` takes the body the middleware verified instead of ``await request.body()``.
        """
        name = request.path_params["name"]
        if name == "verified-state":
            body = request.state.tower_webhook.body
        else:
            body = await request.body()
        if name == "hash-only":
            hash_only(request.headers.get("x-tower-webhook-timestamp"), body)
        elif name == "by-hand":
            headers = request.headers
            try:
                check_by_hand(key, headers.get("x-tower-webhook-timestamp"), headers.get("x-tower-signature"), body)
            except ByHandRefusedError:
                return PlainTextResponse("refused", 400)
        return PlainTextResponse(str(len(body)))

    routes = [Route("/{name}", endpoint, methods=["POST"])]
    verified = ["/verified", "/verified-state"]
    middleware = [
        Middleware(ReplayOnly),
        Middleware(TowerWebhookMiddleware, secret=secret, paths=verified),
    ]
    return Starlette(routes=routes, middleware=middleware)


def create() -> Starlette:
    """The app for ``uvicorn --factory``, with the secret from the environment."""
    return build(os.environ[SECRET_VARIABLE])
