"""Adapter throughput: the same endpoint with and without verification, behind a real server.

Starlette runs under uvicorn, Flask and Django under gunicorn (one worker each: the ratio is per
process). The listening socket is opened here and handed to the server, so there is no race for a
port. Each round loads every path (``/plain``, the floors below, ``/verified``) in turn, starting
with a different one each time, and the best rate of each is kept, for the same reason the verification benchmark keeps
minimums: the machine is shared, and a disturbed interval only ever makes a rate lower.

Even so, rates on a busy machine move by a third from one interval to the next. The CPU time the
server's processes spend per request (from ``/proc``, summed over every round) hardly depends on
what else runs, so the report gives that ratio too: it is the throughput ratio of a server that
has a core to itself.

Floors are loaded in the same rounds: ``/hash-only``, the endpoint hashing the signed bytes as
the verification benchmark's ``hashlib.sha512`` floor does; ``/by-hand``, the endpoint checking
the request itself as its ``hmac.digest`` floor does; and for Starlette ``/replay``, a
middleware that reads and replays the body without checking it. What they cost in the same
server is what no adapter can avoid, so they say how close to 0.9x any adapter could come.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from tower_webhooks import generate_secret, sign

from .apps import SECRET_VARIABLE
from .bodies import bodies
from .load import load_tool, run_load

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["FLOORS", "FRAMEWORKS", "AdapterResult", "Floor", "missing", "run_adapters"]

_ROOT = Path(__file__).resolve().parent.parent
_STARTUP_SECONDS = 60

_GUNICORN = ("gunicorn", "--workers", "1", "--log-level", "warning")

# How each framework is served: the server, and the command after "python -m" without the socket.
FRAMEWORKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "starlette": ("uvicorn", ("bench.apps.uvicorn_server",)),
    "flask": ("gunicorn", (*_GUNICORN, "bench.apps.flask_app:app")),
    "django": ("gunicorn", (*_GUNICORN, "bench.apps.django_app:application")),
}


class Floor(NamedTuple):
    """How the report names a floor path in a target's line, and what the floor does instead of the adapter."""

    short: str
    description: str


FLOORS: dict[str, Floor] = {
    "/hash-only": Floor("only hashing in the endpoint", "the endpoint only hashes the signed bytes: sha512(ts + body)"),
    "/by-hand": Floor(
        "checked by hand in the endpoint", "the endpoint checks the request itself (bench.apps.check_by_hand)"
    ),
    "/replay": Floor(
        "a middleware only replaying the body", "a middleware reads and replays the body, checking nothing"
    ),
}
"""Each floor path: what no adapter can avoid, so a ratio that falls short is read against them."""

# The floors each framework serves: only an ASGI middleware has to replay the body.
_FRAMEWORK_FLOORS = {
    "starlette": ("/hash-only", "/by-hand", "/replay"),
    "flask": ("/hash-only", "/by-hand"),
    "django": ("/hash-only", "/by-hand"),
}
# The paths that must refuse a tampered body before anything is measured.
_CHECKING = ("/verified", "/by-hand")


def missing() -> str | None:
    """Why the adapter benchmarks cannot run here, or None if they can."""
    if importlib.util.find_spec("tower_webhooks.adapters") is None:
        return "tower_webhooks.adapters is not in this tree"
    absent = [
        name for name in ("starlette", "flask", "django", "uvicorn", "gunicorn") if not importlib.util.find_spec(name)
    ]
    return f"not installed here: {', '.join(absent)} (make bench installs them)" if absent else None


@dataclass(frozen=True)
class AdapterResult:
    """Best requests per second of each path, and server CPU seconds per request, for one framework.

    ``floor_rps`` and ``floor_cpu`` hold the same for each floor path (keys of ``FLOORS``).
    """

    framework: str
    server: str
    load_tool: str
    plain_rps: float
    verified_rps: float
    plain_cpu: float | None
    verified_cpu: float | None
    floor_rps: dict[str, float]
    floor_cpu: dict[str, float | None]

    @property
    def ratio(self) -> float:
        """Verified throughput as a share of unverified throughput."""
        return self.verified_rps / self.plain_rps

    @property
    def cpu_ratio(self) -> float | None:
        """Server CPU per unverified request as a share of CPU per verified request."""
        if self.plain_cpu is None or self.verified_cpu is None:
            return None
        return self.plain_cpu / self.verified_cpu

    def floor_ratio(self, path: str) -> tuple[float, float | None]:
        """A floor path's throughput, and its CPU per request, as shares of the unverified path's."""
        cpu = self.floor_cpu[path]
        cpu_ratio = None if self.plain_cpu is None or cpu is None else self.plain_cpu / cpu
        return self.floor_rps[path] / self.plain_rps, cpu_ratio


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float | None:
    """User and system CPU time of ``pid`` and its children (gunicorn's worker), or None without /proc."""
    total = 0
    try:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended while we looked
            if stat.parent.name == str(pid) or fields[1] == str(pid):  # fields[1] is the parent's pid
                total += int(fields[11]) + int(fields[12])  # utime, stime
    except OSError:
        return None
    return total / _TICKS if total else None


def _command(framework: str, fd: int) -> list[str]:
    server, arguments = FRAMEWORKS[framework]
    socket_argument = [str(fd)] if server == "uvicorn" else ["--bind", f"fd://{fd}"]
    return [sys.executable, "-m", *arguments, *socket_argument]


def _post(port: int, path: str, body: bytes, headers: dict[str, str]) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@contextlib.contextmanager
def _serving(framework: str, secret: str) -> Iterator[tuple[int, int]]:
    """Run the framework's server on a fresh port of 127.0.0.1 until the block ends: (port, pid)."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    port = listener.getsockname()[1]
    environment = {**os.environ, SECRET_VARIABLE: secret}
    server = subprocess.Popen(  # noqa: S603 - our interpreter running a server of the benchmark environment
        _command(framework, listener.fileno()),
        cwd=_ROOT,
        env=environment,
        pass_fds=(listener.fileno(),),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    listener.close()
    try:
        deadline = time.monotonic() + _STARTUP_SECONDS
        while True:
            try:
                _post(port, "/plain", b"{}", {"Content-Type": "application/json"})
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    _, errors = server.communicate()
                    raise RuntimeError(f"{framework} did not start:\n{errors.decode(errors='replace')}") from None
                time.sleep(0.1)
        yield port, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stderr is not None:
            server.stderr.close()


def _measure(framework: str, *, rounds: int, seconds: int) -> AdapterResult:
    secret = generate_secret()
    body = next(body.data for body in bodies() if body.label == "1 KiB")
    # Signed once: every request repeats it, well inside the five minutes of tolerance.
    headers = {"Content-Type": "application/json", **sign(secret, body)}
    floors = _FRAMEWORK_FLOORS[framework]
    paths = ("/plain", *floors, "/verified")
    best = dict.fromkeys(paths, 0.0)
    cpu: dict[str, float | None] = dict.fromkeys(paths, 0.0)
    requests = dict.fromkeys(paths, 0)
    tampered = body[:-1] + bytes([body[-1] ^ 1])
    with _serving(framework, secret) as (port, pid):
        for path in paths:
            status = _post(port, path, body, headers)
            if status != 200:
                raise RuntimeError(f"{framework} answered {status} on {path}: it would be measured refusing")
            if path in _CHECKING and (status := _post(port, path, tampered, headers)) != 400:
                raise RuntimeError(f"{framework} answered {status} to a tampered body on {path}: it checks nothing")
        for round_number in range(rounds):
            # Each path goes first in turn, so that none is always loaded first, when the server is freshest.
            shift = round_number % len(paths)
            for path in paths[shift:] + paths[:shift]:
                before = _cpu_seconds(pid)
                result = run_load(port, path, body, headers, seconds)
                after = _cpu_seconds(pid)
                if result.failures:
                    raise RuntimeError(f"{framework} answered {result.failures} requests to {path} with an error")
                best[path] = max(best[path], result.requests_per_second)
                requests[path] += result.requests
                spent = cpu[path]
                cpu[path] = None if spent is None or before is None or after is None else spent + after - before
    per_request = {path: None if spent is None else spent / max(requests[path], 1) for path, spent in cpu.items()}
    return AdapterResult(
        framework,
        FRAMEWORKS[framework][0],
        load_tool(),
        best["/plain"],
        best["/verified"],
        per_request["/plain"],
        per_request["/verified"],
        {path: best[path] for path in floors},
        {path: per_request[path] for path in floors},
    )


def run_adapters(*, rounds: int, seconds: int) -> list[AdapterResult]:
    """Measure every framework, one after the other (each server alone on the machine)."""
    results = []
    for framework in FRAMEWORKS:
        print(
            f"  adapters, {framework} ({FRAMEWORKS[framework][0]}): {rounds} rounds x "
            f"{2 + len(_FRAMEWORK_FLOORS[framework])} paths x {seconds} s",
            file=sys.stderr,
            flush=True,
        )
        results.append(_measure(framework, rounds=rounds, seconds=seconds))
    return results
