"""Memory of one 1 MiB webhook through the Starlette middleware, measured with tracemalloc.

The request is driven straight through the ASGI app, as uvicorn would, with ``receive`` handing
over the body in 64 KiB chunks that exist before the request starts (the server's buffers), so
the peak above the memory traced just before the request is what the code under test copies.
Three endpoints of one app (``bench.apps.starlette_app``):

- ``/plain``: no middleware; ``await request.body()`` joins the chunks, one copy.
- ``/verified-state``: the middleware joins the chunks (one copy), verifies them and the endpoint
  uses ``request.state.tower_webhook.body``: the target, at most one copy (under 2 MiB).
- ``/verified``: the same endpoint as ``/plain`` behind the middleware. Starlette's
  ``request.body()`` always joins what it is given with a trailing ``b""``, so it copies the
  replayed body once more: two copies, the middleware's and Starlette's.
"""

from __future__ import annotations

import asyncio
import importlib
import tracemalloc
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tower_webhooks import generate_secret, sign

from ._asgi import encode_headers, http_scope
from .bodies import bodies

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message

__all__ = ["MemoryResult", "run_memory"]

_CHUNK = 64 * 1024


@dataclass(frozen=True)
class MemoryResult:
    """Peak bytes traced during one request above the bytes traced before it."""

    body_bytes: int
    plain: int
    verified_state: int
    verified_request_body: int


async def _request(app: ASGIApp, path: str, headers: dict[str, str], chunks: list[bytes]) -> int:
    """Send one request whose body arrives as ``chunks``."""
    scope = http_scope(path, encode_headers(headers))
    chunks.reverse()
    status = 0

    async def receive() -> Message:
        if not chunks:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunks.pop(), "more_body": bool(chunks)}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def _headers(secret: str, body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "Content-Length": str(len(body)), **sign(secret, body)}


def _peak(app: ASGIApp, path: str, body: bytes, secret: str) -> int:
    small = b'{"warm":"up"}'
    chunks = [body[offset : offset + _CHUNK] for offset in range(0, len(body), _CHUNK)]  # before tracing
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_request(app, path, _headers(secret, small), [small]))  # lazy state, imports
        request = _request(app, path, _headers(secret, body), chunks)
        del chunks
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            status = loop.run_until_complete(request)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    finally:
        loop.close()
    if status != 200:
        raise RuntimeError(f"{path} answered {status}: memory would be measured for a refusal")
    return peak - before


def run_memory() -> MemoryResult:
    """Peak memory above baseline for a 1 MiB body, through each of the three endpoints."""
    secret = generate_secret()
    body = next(body.data for body in bodies() if body.label == "1 MiB")
    app = importlib.import_module("bench.apps.starlette_app").build(secret)  # imported only when it can run
    return MemoryResult(
        body_bytes=len(body),
        plain=_peak(app, "/plain", body, secret),
        verified_state=_peak(app, "/verified-state", body, secret),
        verified_request_body=_peak(app, "/verified", body, secret),
    )
