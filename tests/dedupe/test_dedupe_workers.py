"""Deduplication across real worker processes: gunicorn (Flask) and uvicorn (FastAPI), 4 workers each.

The servers run examples/flask_redis_app.py and examples/fastapi_redis_app.py, whose handler
queues each event in a Redis list, plus a test route whose handler can fail, hang, and count its
runs (tests/dedupe/worker_apps.py). These tests start real servers: seconds, not milliseconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import threading
import time
import uuid
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from tower_webhooks import generate_secret, sign

from .conftest import RedisServer, redis_server_executable
from .servers import EXAMPLE_PATH, AppServer
from .worker_apps import TEST_PATH

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import redis

WORKERS = 4
COPIES = 50
LEASE_MS = 4_000
SERVERS = {"gunicorn-flask": "gunicorn", "uvicorn-fastapi": "uvicorn"}
QUEUE = "tower-webhooks:events"  # where the examples queue each event they handle
SECRET = generate_secret()


@pytest.fixture(scope="module")
def workers_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A Redis of this module's own: the outage test stops and restarts it."""
    server = RedisServer(redis_server_executable(), tmp_path_factory.mktemp("workers-redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def calls_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("calls") / "calls.txt"


@pytest.fixture(scope="module", params=sorted(SERVERS))
def server(
    request: pytest.FixtureRequest,
    workers_redis: RedisServer,
    calls_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AppServer]:
    env = {"REDIS_URL": workers_redis.url, "TOWER_WEBHOOK_SECRET": SECRET, "LEASE_MS": str(LEASE_MS)}
    log = tmp_path_factory.mktemp("server") / f"{request.param}.log"
    app_server = AppServer(SERVERS[request.param], workers=WORKERS, env={**env, "CALLS_FILE": str(calls_file)}, log=log)
    app_server.start()
    yield app_server
    app_server.stop()


@pytest.fixture
def counters(workers_redis: RedisServer) -> Iterator[redis.Redis]:
    client = workers_redis.client()
    yield client
    client.close()


class Delivery:
    """One Tower delivery: a unique body, and copies of it signed now or (as Tower's retries) later."""

    def __init__(self, **behaviour: Any) -> None:
        self.body = json.dumps({"event_type": "run.finished", "id": uuid.uuid4().hex, **behaviour}).encode()
        self.sha = hashlib.sha256(self.body).hexdigest()
        self.signed_at = int(time.time() * 1000)

    def copy(self, resigned_after_s: int = 0) -> dict[str, str]:
        return sign(SECRET, self.body, timestamp_ms=self.signed_at + resigned_after_s * 1000)

    def count(self, counters: redis.Redis, name: str) -> int:
        return int(counters.get(f"{name}:{self.sha}") or 0)

    def runs_logged(self, calls_file: Path) -> int:
        return calls_file.read_text().split().count(self.sha) if calls_file.exists() else 0


def test_concurrent_copies_run_the_example_handler_once(server: AppServer, counters: redis.Redis) -> None:
    """50 copies at once, half re-signed later, across 4 workers: one run, only 200s and 409s."""
    delivery = Delivery()
    copies = [delivery.copy(resigned_after_s=index if index % 2 else 0) for index in range(COPIES)]
    answers = server.post_concurrently(EXAMPLE_PATH, delivery.body, copies)
    statuses = Counter(status for status, _ in answers)
    assert set(statuses) <= {200, 409}, statuses
    assert statuses[200] >= 1
    assert all(int(headers["retry-after"]) >= 1 for status, headers in answers if status == 409)
    assert counters.lrange(QUEUE, 0, -1).count(delivery.body) == 1
    later = server.post_concurrently(EXAMPLE_PATH, delivery.body, [delivery.copy(resigned_after_s=60)] * 8)
    assert [status for status, _ in later] == [200] * 8
    assert counters.lrange(QUEUE, 0, -1).count(delivery.body) == 1
    store_keys = list(counters.scan_iter("tower-webhooks:dedupe:*"))
    assert store_keys
    assert all(counters.pttl(key) > 0 for key in store_keys)


def test_copies_while_the_first_runs_get_409_then_200(server: AppServer, counters: redis.Redis) -> None:
    """Copies sent while the handler is held mid-run get 409; once it finished, 200; it runs once."""
    delivery = Delivery(hold_first=True)
    first = threading.Thread(target=server.post, args=(TEST_PATH, delivery.body, delivery.copy()))
    first.start()
    _wait_for(lambda: counters.get(f"pid:{delivery.sha}"))  # the handler runs, and waits for "go"
    during = server.post_concurrently(TEST_PATH, delivery.body, [delivery.copy(index) for index in range(1, 12)])
    assert [status for status, _ in during] == [409] * 11
    counters.rpush(f"go:{delivery.sha}", 1)
    first.join(timeout=60)
    after = server.post_concurrently(TEST_PATH, delivery.body, [delivery.copy(60)] * 4)
    assert [status for status, _ in after] == [200] * 4
    assert delivery.count(counters, "calls") == delivery.count(counters, "effects") == 1


def test_a_failed_first_run_is_retried_and_takes_effect_once(server: AppServer, counters: redis.Redis) -> None:
    """The handler raises on its first run: 500 releases the claim, the retry runs it, later copies get 200."""
    delivery = Delivery(fail_first=True)
    statuses = [
        server.post(TEST_PATH, delivery.body, delivery.copy(resigned_after_s))[0] for resigned_after_s in (0, 30, 60)
    ]
    assert statuses == [500, 200, 200]
    assert delivery.count(counters, "calls") == 2
    assert delivery.count(counters, "effects") == 1


def test_a_worker_killed_mid_handler_is_redelivered_after_its_lease(
    server: AppServer, counters: redis.Redis, calls_file: Path
) -> None:
    """A worker dies holding the claim: copies get 409 until the lease ends, then one runs."""
    delivery = Delivery(hold_first=True)  # and never told to go on
    hanging = threading.Thread(target=lambda: _ignore_errors(server.post, TEST_PATH, delivery.body, delivery.copy()))
    hanging.start()
    pid = _wait_for(lambda: counters.get(f"pid:{delivery.sha}"))
    os.kill(int(pid), signal.SIGKILL)
    hanging.join(timeout=60)
    statuses = _redeliver_until_200(server, delivery)
    assert set(statuses[:-1]) <= {409}, statuses
    assert delivery.count(counters, "calls") == 2
    assert delivery.count(counters, "effects") == 1
    assert int(counters.get(f"pid:{delivery.sha}") or 0) != int(pid)


def test_a_store_outage_answers_503_without_running_the_handler(
    server: AppServer, workers_redis: RedisServer, counters: redis.Redis, calls_file: Path
) -> None:
    """With Redis down, deliveries get 503 and the handler never starts; once it is back, one run."""
    delivery = Delivery()
    workers_redis.stop()
    try:
        outage = [server.post(TEST_PATH, delivery.body, delivery.copy(resigned_after_s=index))[0] for index in range(3)]
    finally:
        workers_redis.start()
    assert outage == [503, 503, 503]
    assert delivery.runs_logged(calls_file) == 0
    answers = server.post_concurrently(
        TEST_PATH, delivery.body, [delivery.copy(resigned_after_s=60) for _ in range(10)]
    )
    assert {status for status, _ in answers} <= {200, 409}
    assert server.post(TEST_PATH, delivery.body, delivery.copy(resigned_after_s=90))[0] == 200
    assert delivery.count(counters, "effects") == 1
    assert delivery.runs_logged(calls_file) == 1


def _ignore_errors(call: Any, *args: Any) -> None:
    with contextlib.suppress(OSError):  # the worker serving it is killed: the connection drops
        call(*args)


def _wait_for(probe: Any, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"gave up after {timeout_s} s")


def _redeliver_until_200(server: AppServer, delivery: Delivery, timeout_s: float = 90) -> list[int]:
    statuses: list[int] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        statuses.append(server.post(TEST_PATH, delivery.body, delivery.copy(resigned_after_s=len(statuses)))[0])
        if statuses[-1] != 409:
            return statuses
        time.sleep(0.25)
    pytest.fail(f"still no 200 after {timeout_s} s: {statuses}")
