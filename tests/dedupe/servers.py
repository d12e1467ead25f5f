"""Real multi-worker servers (gunicorn, uvicorn) on 127.0.0.1, and many concurrent deliveries."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60  # four workers importing Flask or FastAPI on a busy two-core machine
REQUEST_TIMEOUT_S = 60
EXAMPLE_PATH = "/webhooks/tower"


def _command(kind: str, fd: int, workers: int) -> list[str]:
    if kind == "gunicorn":
        return [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"fd://{fd}",
                "--graceful-timeout", "5", "--timeout", "120", "tests.dedupe.worker_apps:flask_app()"]  # fmt: skip
    return [sys.executable, "-m", "uvicorn", "--workers", str(workers), "--fd", str(fd),
            "--timeout-graceful-shutdown", "5", "--factory", "tests.dedupe.worker_apps:fastapi_app"]  # fmt: skip


class AppServer:
    """One server process group, started and stopped by the test, on a socket the test bound.

    Binding the socket here and handing it over means no port is ever guessed; the server's
    output goes to ``log``.
    """

    def __init__(self, kind: str, *, workers: int, env: Mapping[str, str], log: Path) -> None:
        self.kind, self.workers, self.log = kind, workers, log
        self.env = {**os.environ, **env, "PYTHONPATH": os.pathsep.join([str(ROOT / "examples"), str(ROOT)])}
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port = listener.getsockname()[1]
        with listener, self.log.open("ab") as log:  # the server keeps its own copy of the socket
            self._process = subprocess.Popen(
                _command(self.kind, listener.fileno(), self.workers),
                env=self.env,
                cwd=ROOT,
                pass_fds=[listener.fileno()],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # so that stop() ends the workers too
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        """Ready once it answers: a GET is refused with 405 by whichever worker takes it."""
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and self._process.poll() is None:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            try:
                connection.request("GET", EXAMPLE_PATH)
                connection.getresponse().read()
                return
            except OSError:
                time.sleep(0.1)
            finally:
                connection.close()
        log = self.log.read_text(errors="replace")[-4000:]
        self.stop()
        raise RuntimeError(f"{self.kind} did not start within {START_TIMEOUT_S} s; its log ends with:\n{log}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, dict[str, str]]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_S)
        try:
            connection.request("POST", path, body=body, headers={"Content-Type": "application/json", **headers})
            response = connection.getresponse()
            response.read()
            return response.status, {name.lower(): value for name, value in response.getheaders()}
        finally:
            connection.close()

    def post_concurrently(
        self, path: str, body: bytes, copies: Sequence[Mapping[str, str]]
    ) -> list[tuple[int, dict[str, str]]]:
        """Send every copy at the same moment, one connection each; return the answers in order."""
        start = threading.Barrier(len(copies))

        def send(headers: Mapping[str, str]) -> tuple[int, dict[str, str]]:
            start.wait(timeout=REQUEST_TIMEOUT_S)
            return self.post(path, body, headers)

        with ThreadPoolExecutor(max_workers=len(copies)) as pool:
            return list(pool.map(send, copies))
