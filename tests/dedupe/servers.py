"""Real multi-process servers (gunicorn, uvicorn) on 127.0.0.1, and many concurrent deliveries."""

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
BIN = Path(sys.executable).parent
START_TIMEOUT_S = 60  # four workers importing Flask or FastAPI on a busy two-core machine
REQUEST_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class AppServer:
    """One server process group, started and stopped by the test; its output goes to a log file."""

    def __init__(self, kind: str, app: str, *, workers: int, env: Mapping[str, str], log: Path) -> None:
        self.kind, self.app, self.workers = kind, app, workers
        self.env = {**os.environ, **env, "PYTHONPATH": os.pathsep.join([str(ROOT / "examples"), str(ROOT)])}
        self.log = log
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    def _argv(self, port: int) -> list[str]:
        if self.kind == "gunicorn":
            return [str(BIN / "gunicorn"), "--workers", str(self.workers), "--bind", f"127.0.0.1:{port}",
                    "--graceful-timeout", "5", "--timeout", "120", self.app]  # fmt: skip
        return [str(BIN / "uvicorn"), "--workers", str(self.workers), "--host", "127.0.0.1", "--port", str(port),
                "--timeout-graceful-shutdown", "5", self.app]  # fmt: skip

    def start(self) -> None:
        for _ in range(3):  # another process may take the free port before the server binds it
            port = free_port()
            with self.log.open("ab") as log:
                process = subprocess.Popen(
                    self._argv(port),
                    env=self.env,
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            if self._wait_ready(process, port):
                self._process, self.port = process, port
                return
            self._stop(process)
        raise RuntimeError(f"{self.kind} did not start; its log:\n{self.log.read_text(errors='replace')[-4000:]}")

    def _wait_ready(self, process: subprocess.Popen[bytes], port: int) -> bool:
        """Ready once every worker answers: a GET is refused with 405 by whichever worker takes it."""
        deadline = time.monotonic() + START_TIMEOUT_S
        answered = 0
        while time.monotonic() < deadline and process.poll() is None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                connection.request("GET", "/webhooks/tower")
                connection.getresponse().read()
                answered += 1
                if answered >= 2 * self.workers:
                    return True
            except OSError:
                time.sleep(0.1)
            finally:
                connection.close()
        return False

    def stop(self) -> None:
        if self._process is not None:
            self._stop(self._process)
            self._process = None

    @staticmethod
    def _stop(process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def post(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, dict[str, str]]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_S)
        try:
            connection.request(
                "POST", "/webhooks/tower", body=body, headers={"Content-Type": "application/json", **headers}
            )
            response = connection.getresponse()
            response.read()
            return response.status, {name.lower(): value for name, value in response.getheaders()}
        finally:
            connection.close()

    def post_concurrently(self, body: bytes, copies: Sequence[Mapping[str, str]]) -> list[tuple[int, dict[str, str]]]:
        """Send every copy at the same moment, one connection each, and return the answers in order."""
        start = threading.Barrier(len(copies))

        def send(headers: Mapping[str, str]) -> tuple[int, dict[str, str]]:
            start.wait(timeout=REQUEST_TIMEOUT_S)
            return self.post(body, headers)

        with ThreadPoolExecutor(max_workers=len(copies)) as pool:
            return list(pool.map(send, copies))
