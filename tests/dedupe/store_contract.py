"""The behaviour every store promises, written once and run against each store."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from tower_webhooks.dedupe import AsyncStore, Claim, Store

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable, Coroutine

T = TypeVar("T")

A, B, C = "owner-a", "owner-b", "owner-c"


def sleeper(slack_ms: int = 50) -> Callable[[int], None]:
    """Lets real time pass (for a store whose clock is its server's): a little past ``ms``."""
    return lambda ms: time.sleep((ms + slack_ms) / 1000)


LONG_LEASE_MS, LONG_RETENTION_MS = 60_000, 86_400_000


@dataclass
class Harness:
    """A store seen synchronously. Leases and retentions are long (so that no test races the
    clock) except where a test waits one out: those are ``short_ms``."""

    store: Store
    short_ms: int
    wait_past: Callable[[int], None]

    def claim(self, key: str, owner: str, *, short: bool = False) -> Claim:
        return self.store.claim(key, owner, lease_ms=self.short_ms if short else LONG_LEASE_MS)

    def complete(self, key: str, owner: str, *, short: bool = False) -> bool:
        return self.store.complete(key, owner, retention_ms=self.short_ms if short else LONG_RETENTION_MS)

    def release(self, key: str, owner: str) -> bool:
        return self.store.release(key, owner)


class SyncView:
    """An asyncio store driven from synchronous tests through one event loop."""

    def __init__(self, store: AsyncStore, loop: asyncio.AbstractEventLoop) -> None:
        self._store = store
        self._loop = loop

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self._loop.run_until_complete(coroutine)

    def claim(self, key: str, owner: str, *, lease_ms: int) -> Claim:
        return self._run(self._store.claim(key, owner, lease_ms=lease_ms))

    def complete(self, key: str, owner: str, *, retention_ms: int) -> bool:
        return self._run(self._store.complete(key, owner, retention_ms=retention_ms))

    def release(self, key: str, owner: str) -> bool:
        return self._run(self._store.release(key, owner))


class StoreContract:
    """Subclass per store and override the ``harness`` fixture."""

    @pytest.fixture
    def harness(self) -> Harness:
        raise NotImplementedError

    @pytest.fixture
    def key(self) -> str:
        return f"test:{uuid.uuid4().hex}"

    def test_first_claim_wins(self, harness: Harness, key: str) -> None:
        """The first worker to claim a key gets it."""
        assert harness.claim(key, A) == Claim("claimed")

    def test_duplicate_while_in_progress(self, harness: Harness, key: str) -> None:
        """A second claim while the lease runs reports the key in progress, with the lease left."""
        harness.claim(key, A)
        claim = harness.claim(key, B)
        assert claim.state == "in_progress"
        assert 0 < claim.lease_remaining_ms <= LONG_LEASE_MS

    def test_duplicate_after_done(self, harness: Harness, key: str) -> None:
        """Once the owner completes, every later claim reports the key done."""
        harness.claim(key, A)
        assert harness.complete(key, A) is True
        assert harness.claim(key, B) == Claim("done")
        assert harness.claim(key, A) == Claim("done")

    def test_release_after_failure_lets_a_retry_claim(self, harness: Harness, key: str) -> None:
        """A released key can be claimed again at once, so Tower's retry runs the handler."""
        harness.claim(key, A)
        assert harness.release(key, A) is True
        assert harness.claim(key, B) == Claim("claimed")

    def test_keys_are_independent(self, harness: Harness, key: str) -> None:
        """A claim on one key says nothing about another."""
        harness.claim(key, A)
        assert harness.claim(key + ":other", B) == Claim("claimed")

    def test_stranger_cannot_complete_or_release(self, harness: Harness, key: str) -> None:
        """Only the owner token that claimed a key can settle it."""
        harness.claim(key, A)
        assert harness.complete(key, B) is False
        assert harness.release(key, B) is False
        assert harness.claim(key, C).state == "in_progress"

    def test_done_is_not_released_by_its_former_owner(self, harness: Harness, key: str) -> None:
        """After completing, the owner holds nothing: a stray release cannot undo the done mark."""
        harness.claim(key, A)
        harness.complete(key, A)
        assert harness.release(key, A) is False
        assert harness.complete(key, A) is False
        assert harness.claim(key, B) == Claim("done")

    def test_expired_lease_can_be_claimed_again(self, harness: Harness, key: str) -> None:
        """A worker that died mid-handler blocks the key only until its lease ends."""
        harness.claim(key, A, short=True)
        harness.wait_past(harness.short_ms)
        assert harness.claim(key, B) == Claim("claimed")

    def test_stale_owner_cannot_complete_a_takeover(self, harness: Harness, key: str) -> None:
        """A worker whose lease ran out cannot mark done a claim someone else now holds."""
        harness.claim(key, A, short=True)
        harness.wait_past(harness.short_ms)
        harness.claim(key, B)
        assert harness.complete(key, A) is False
        assert harness.claim(key, C).state == "in_progress"
        assert harness.complete(key, B) is True

    def test_stale_owner_cannot_release_a_takeover(self, harness: Harness, key: str) -> None:
        """A worker whose lease ran out cannot free a claim someone else now holds."""
        harness.claim(key, A, short=True)
        harness.wait_past(harness.short_ms)
        harness.claim(key, B)
        assert harness.release(key, A) is False
        assert harness.claim(key, C).state == "in_progress"

    def test_expired_lease_cannot_be_completed(self, harness: Harness, key: str) -> None:
        """Past its lease, even an unchallenged owner cannot mark the key done."""
        harness.claim(key, A, short=True)
        harness.wait_past(harness.short_ms)
        assert harness.complete(key, A) is False
        assert harness.claim(key, B) == Claim("claimed")

    def test_done_is_forgotten_after_retention(self, harness: Harness, key: str) -> None:
        """A done mark lasts for the retention period, then the key is free."""
        harness.claim(key, A)
        harness.complete(key, A, short=True)
        harness.wait_past(harness.short_ms)
        assert harness.claim(key, B) == Claim("claimed")
