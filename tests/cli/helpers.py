"""Running ``tower-webhooks`` as a subprocess, and the behaviours of the test endpoints it is pointed at."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.values import SECRET

TIMEOUT_S = 60  # bounds every subprocess; a busy 2-core machine is slow, but never this slow


@dataclass(frozen=True)
class Result:
    """What one run of the command line did."""

    code: int
    out: str
    err: str


def run(*args: str, secret: str | None = SECRET, stdin: bytes = b"", env: dict[str, str] | None = None) -> Result:
    """Run ``python -m tower_webhooks ARGS`` with the secret in TOWER_WEBHOOK_SECRET (unless ``None``)."""
    environment = {key: value for key, value in os.environ.items() if key != "TOWER_WEBHOOK_SECRET"}
    environment["PYTHONIOENCODING"] = "utf-8"
    if secret is not None:
        environment["TOWER_WEBHOOK_SECRET"] = secret
    environment.update(env or {})
    completed = subprocess.run(
        [sys.executable, "-m", "tower_webhooks", *args],
        input=stdin,
        capture_output=True,
        env=environment,
        timeout=TIMEOUT_S,
        check=False,
    )
    return Result(completed.returncode, completed.stdout.decode("utf-8"), completed.stderr.decode("utf-8"))


@dataclass(frozen=True)
class Received:
    """One request an endpoint received."""

    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int


Respond = Callable[[BaseHTTPRequestHandler, threading.Event], None]


@dataclass
class Endpoint:
    """A running test endpoint: where it is and what it received."""

    url: str
    received: list[Received] = field(default_factory=list)


def answer(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Respond:
    """An endpoint behaviour: answer ``status`` at once."""

    def respond(handler: BaseHTTPRequestHandler, release: threading.Event) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return respond


def stall(*, after_headers: bool) -> Respond:
    """An endpoint behaviour: hang (before answering, or after the headers) until the test ends."""

    def respond(handler: BaseHTTPRequestHandler, release: threading.Event) -> None:
        if after_headers:
            handler.send_response(200)
            handler.send_header("Content-Length", "20")
            handler.end_headers()
            handler.wfile.write(b'{"ok"')
            handler.wfile.flush()
        release.wait(TIMEOUT_S)

    return respond
