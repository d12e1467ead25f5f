"""A real redis-server for the store tests, started on a free port in a temporary directory."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from typing import TYPE_CHECKING

import pytest
import redis

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

REDIS_MISSING = (
    "redis-server is not installed: apt-get install redis-server (or brew install redis) to run "
    "the Redis tests; under REQUIRE_REDIS=1 its absence fails the run instead"
)


def redis_server_executable() -> str:
    """Find redis-server, or skip the test (fail it under ``REQUIRE_REDIS=1``)."""
    executable = shutil.which("redis-server")
    if executable is None:
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"REQUIRE_REDIS=1, but {REDIS_MISSING}")
        pytest.skip(REDIS_MISSING)
    return executable


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """One redis-server process on 127.0.0.1, without persistence; it can be stopped and restarted."""

    def __init__(self, executable: str, directory: Path) -> None:
        self._executable = executable
        self._directory = directory
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=10, socket_connect_timeout=10)

    def start(self) -> None:
        """Start on the previous port (a restart), or on a free one; retry if another process took it."""
        for _ in range(5):
            port = self.port or _free_port()
            options = {
                "bind": "127.0.0.1",
                "port": str(port),
                "dir": str(self._directory),
                "save": "",  # no persistence: nothing outlives the test run
                "appendonly": "no",
                "logfile": str(self._directory / "redis.log"),
            }
            argv = [self._executable, *(part for name, value in options.items() for part in (f"--{name}", value))]
            process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if self._wait_ready(process, port):
                self._process, self.port = process, port
                return
            process.kill()
            process.wait()
        log = (self._directory / "redis.log").read_text(errors="replace")[-2000:]
        pytest.fail(f"redis-server did not start; its log ends with:\n{log}")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    @staticmethod
    def _wait_ready(process: subprocess.Popen[bytes], port: int) -> bool:
        probe = redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1)
        deadline = time.monotonic() + 30
        try:
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    return bool(probe.ping())
                except redis.ConnectionError:
                    time.sleep(0.05)
            return False
        finally:
            probe.close()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server shared by the whole session; tests keep apart by using distinct keys."""
    server = RedisServer(redis_server_executable(), tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server for one test that stops and restarts it."""
    server = RedisServer(redis_server_executable(), tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A client on an empty database; on the way out, checks that no key was left without a TTL."""
    client = redis_server.client()
    client.flushdb()
    yield client
    immortal = [key for key in client.scan_iter() if client.pttl(key) == -1]  # -2: expired meanwhile
    client.close()
    assert not immortal, f"keys written without a positive TTL: {immortal}"
