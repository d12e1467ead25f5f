"""Adapter cost per request without a server: each app called directly, interleaved like the verification benchmark.

Throughput behind a real server (``adapters.py``) is what the target counts, but on a shared
machine its ratios move by several percent from run to run. Calling the ASGI or WSGI app directly
on a prepared request measures what verification adds to one request, in microseconds, far more
steadily, and says where the time goes when the throughput ratio disappoints.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tower_webhooks import generate_secret, sign

from ._asgi import encode_headers, http_scope
from ._timing import Case, interleaved_minimum
from .apps import SECRET_VARIABLE
from .bodies import bodies

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.types import ASGIApp, Message

__all__ = ["InProcessResult", "run_inprocess"]

# What a load generator sends besides the webhook's own headers.
_CLIENT_HEADERS = {"Host": "127.0.0.1", "User-Agent": "wrk", "Accept": "*/*"}


@dataclass(frozen=True)
class InProcessResult:
    """Seconds per request through the app, without and with verification."""

    framework: str
    plain: float
    verified: float

    @property
    def overhead(self) -> float:
        """Seconds verification adds to one request."""
        return self.verified - self.plain


def _asgi_caller(app: ASGIApp, body: bytes, headers: dict[str, str]) -> Callable[[str], int]:
    loop = asyncio.new_event_loop()
    raw_headers = encode_headers(headers)

    async def request(path: str) -> int:
        pending = [{"type": "http.request", "body": body, "more_body": False}]
        status = 0

        async def receive() -> Message:
            return pending.pop() if pending else {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        scope = http_scope(path, raw_headers)
        await app(scope, receive, send)
        return status

    return lambda path: loop.run_until_complete(request(path))


def _wsgi_caller(app: Callable[..., Any], body: bytes, headers: dict[str, str]) -> Callable[[str], int]:
    base: dict[str, object] = {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": headers["Content-Type"],
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        **{
            f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items() if name != "Content-Type"
        },
    }

    def request(path: str) -> int:
        statuses: list[str] = []
        environ = {**base, "PATH_INFO": path, "wsgi.input": io.BytesIO(body)}
        result = app(environ, lambda status, _headers, _info=None: statuses.append(status))
        try:
            b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
        return int(statuses[0].split()[0])

    return request


def _callers(secret: str, body: bytes, headers: dict[str, str]) -> dict[str, Callable[[str], int]]:
    os.environ[SECRET_VARIABLE] = secret  # the WSGI apps read it when imported, as under gunicorn
    starlette_app = importlib.import_module("bench.apps.starlette_app")
    flask_app = importlib.import_module("bench.apps.flask_app")
    django_app = importlib.import_module("bench.apps.django_app")
    return {
        "starlette": _asgi_caller(starlette_app.build(secret), body, headers),
        "flask": _wsgi_caller(flask_app.app, body, headers),
        "django": _wsgi_caller(django_app.application, body, headers),
    }


def run_inprocess(*, rounds: int, batch_seconds: float) -> list[InProcessResult]:
    """Per-request time of ``/plain`` and ``/verified`` in each framework, 1 KiB bodies."""
    secret = generate_secret()
    body = next(body.data for body in bodies() if body.label == "1 KiB")
    headers = {"Content-Type": "application/json", **_CLIENT_HEADERS, **sign(secret, body)}
    callers = _callers(secret, body, headers)
    cases = []
    for framework, caller in callers.items():
        for path in ("/plain", "/verified"):
            if caller(path) != 200:
                raise RuntimeError(f"{framework} answered {caller(path)} on {path}: it would be measured refusing")
            cases.append(Case(f"{framework} {path}", f"caller({path!r})", {"caller": caller}))
    seconds = interleaved_minimum(cases, rounds=rounds, batch_seconds=batch_seconds)
    return [InProcessResult(name, seconds[f"{name} /plain"], seconds[f"{name} /verified"]) for name in callers]
