"""What every adapter's ``dedupe=`` option promises, written once and run per framework.

Each framework's test app adds these routes, all with a handler that does what the body says
(:func:`handle`) and records that it ran:

- ``/deduped`` and ``/deduped-async``: a sync and an async handler, deduplicated by the driver's
  ``dedupe`` (a ``MemoryStore``);
- ``/deduped-down``: deduplicated by a Redis store nobody listens for;
- ``/deduped-open``: the same, with ``fail_open=True``.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
import uuid
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from tower_webhooks import VerifiedWebhook, sign

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tower_webhooks.dedupe import Deduplicator

    from .contract import Answer, Received


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


UNREACHABLE_REDIS_URL = f"redis://127.0.0.1:{_unused_port()}/0"
"""Where no Redis listens: connecting is refused at once."""


def handle(webhook: VerifiedWebhook) -> int:
    """The test handlers' behaviour: raise, or answer the status the payload names (200 by default)."""
    payload = webhook.json()
    if payload.get("raise"):
        raise RuntimeError("the handler failed")
    return int(payload.get("answer", 200))


class DedupeDriver(Protocol):
    received: list[Received]
    dedupe: Deduplicator

    def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> Answer: ...


def delivery(**payload: Any) -> bytes:
    """A body no other test sends, so that no store entry is shared between tests."""
    return json.dumps({"id": uuid.uuid4().hex, **payload}).encode()


def copy(secret: str, body: bytes, resigned_after_s: int = 0) -> dict[str, str]:
    """Tower signs every retry again: same body, new timestamp and signature."""
    timestamp_ms = int(time.time() * 1000) + resigned_after_s * 1000
    return {"Content-Type": "application/json", **sign(secret, body, timestamp_ms=timestamp_ms)}


class DedupeContract:
    @pytest.fixture
    def deduped(self) -> DedupeDriver:
        raise NotImplementedError("each framework's test class provides a driver with dedupe routes")

    @pytest.mark.parametrize("path", ["/deduped", "/deduped-async"])
    def test_a_handled_delivery_is_answered_200_without_the_handler(
        self, deduped: DedupeDriver, secret: str, path: str
    ) -> None:
        """After a 200, Tower's retry (signed again) gets 200 at once: the handler runs once."""
        body = delivery()
        assert deduped.post(path, body, copy(secret, body)).status == 200
        answer = deduped.post(path, body, copy(secret, body, resigned_after_s=60))
        assert (answer.status, answer.json()["error"]) == (200, "duplicate")
        assert len(deduped.received) == 1

    @pytest.mark.parametrize("path", ["/deduped", "/deduped-async"])
    def test_a_copy_while_one_runs_gets_409_with_retry_after(
        self, deduped: DedupeDriver, secret: str, path: str
    ) -> None:
        """While another worker holds the delivery, a copy is told to come back later."""
        body = delivery()
        elsewhere = deduped.dedupe.begin(VerifiedWebhook(0, body))  # another worker, mid-handler
        answer = deduped.post(path, body, copy(secret, body))
        assert (answer.status, answer.json()["error"]) == (409, "in_progress")
        assert int(answer.headers["retry-after"]) >= 1
        assert deduped.received == []
        elsewhere.finish(500)  # that worker failed: the next copy runs the handler
        assert deduped.post(path, body, copy(secret, body, resigned_after_s=60)).status == 200
        assert len(deduped.received) == 1

    @pytest.mark.parametrize("path", ["/deduped", "/deduped-async"])
    @pytest.mark.parametrize("status", [500, 204])
    def test_an_answer_other_than_200_lets_the_retry_run(
        self, deduped: DedupeDriver, secret: str, path: str, status: int
    ) -> None:
        """Tower retries anything but an exact 200, and the retry runs the handler again."""
        body = delivery(answer=status)
        assert deduped.post(path, body, copy(secret, body)).status == status
        assert deduped.post(path, body, copy(secret, body, resigned_after_s=60)).status == status
        assert len(deduped.received) == 2

    @pytest.mark.parametrize("path", ["/deduped", "/deduped-async"])
    def test_a_raising_handler_lets_the_retry_run(self, deduped: DedupeDriver, secret: str, path: str) -> None:
        """A handler that raises (a 500, or an exception the test client re-raises) releases its claim."""
        body = delivery(**{"raise": True})
        for resigned_after_s in (0, 60):
            with contextlib.suppress(RuntimeError):
                assert deduped.post(path, body, copy(secret, body, resigned_after_s)).status == 500
        assert len(deduped.received) == 2

    def test_an_unreachable_store_answers_503_without_the_handler(self, deduped: DedupeDriver, secret: str) -> None:
        """Nothing is known about the delivery, so Tower is told to retry later."""
        body = delivery()
        answer = deduped.post("/deduped-down", body, copy(secret, body))
        assert (answer.status, answer.json()["error"]) == (503, "store_unavailable")
        assert deduped.received == []

    def test_fail_open_runs_the_handler_when_the_store_is_unreachable(self, deduped: DedupeDriver, secret: str) -> None:
        """With fail_open=True, availability wins: the handler runs without the duplicate check."""
        body = delivery()
        assert deduped.post("/deduped-open", body, copy(secret, body)).status == 200
        assert len(deduped.received) == 1
