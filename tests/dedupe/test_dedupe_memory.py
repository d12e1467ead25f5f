"""MemoryStore: the store contract on a fake clock, and its size bound."""

from __future__ import annotations

import logging

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule

from tower_webhooks.dedupe import Claim, MemoryStore

from .store_contract import Harness, StoreContract

KEYS = st.sampled_from(["k1", "k2", "k3"])
OWNERS = st.sampled_from(["a", "b", "c"])
# Multiples of 500 ms, so that time often lands exactly on an expiry.
DURATIONS = st.integers(min_value=1, max_value=4).map(lambda n: n * 500)


class FakeClock:
    """Milliseconds that pass only when a test says so."""

    def __init__(self) -> None:
        self.now_ms = 1_000_000

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, ms: int) -> None:
        self.now_ms += ms


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def harness(self) -> Harness:
        clock = FakeClock()
        return Harness(MemoryStore(clock=clock), 1_000, clock.advance)

    def test_lease_runs_to_the_millisecond(self) -> None:
        """A lease holds up to its last millisecond and ends exactly at lease_ms."""
        clock = FakeClock()
        store = MemoryStore(clock=clock)
        store.claim("k", "a", lease_ms=1_000)
        clock.advance(999)
        assert store.claim("k", "b", lease_ms=1_000) == Claim("in_progress", 1)
        clock.advance(1)
        assert store.claim("k", "b", lease_ms=1_000) == Claim("claimed")


def test_full_store_forgets_the_oldest_write_first() -> None:
    """Past max_entries, the entry written longest ago makes room."""
    clock = FakeClock()
    store = MemoryStore(max_entries=2, clock=clock)
    store.claim("first", "a", lease_ms=1_000)
    store.claim("second", "a", lease_ms=1_000)
    store.complete("first", "a", retention_ms=10_000)  # rewritten: now the newest
    store.claim("third", "a", lease_ms=1_000)
    assert len(store) == 2
    assert store.claim("first", "b", lease_ms=1_000) == Claim("done")
    assert store.claim("second", "b", lease_ms=1_000) == Claim("claimed")


def test_forgetting_a_live_entry_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Evicting an entry that has not expired weakens deduplication, so it is logged."""
    store = MemoryStore(max_entries=1, clock=FakeClock())
    store.claim("first", "a", lease_ms=1_000)
    with caplog.at_level(logging.WARNING, logger="tower_webhooks.dedupe"):
        store.claim("second", "a", lease_ms=1_000)
    assert "MemoryStore is full (max_entries=1)" in caplog.text


def test_forgetting_an_expired_entry_is_silent(caplog: pytest.LogCaptureFixture) -> None:
    """Evicting an expired entry loses nothing, so nothing is logged."""
    clock = FakeClock()
    store = MemoryStore(max_entries=1, clock=clock)
    store.claim("first", "a", lease_ms=1_000)
    clock.advance(1_000)
    with caplog.at_level(logging.WARNING, logger="tower_webhooks.dedupe"):
        store.claim("second", "a", lease_ms=1_000)
    assert caplog.text == ""


@pytest.mark.parametrize("max_entries", [0, -1, True, 1.5])
def test_max_entries_must_be_a_positive_int(max_entries: object) -> None:
    """A size bound that is not a positive int is a configuration error."""
    with pytest.raises(ValueError, match="max_entries must be a positive int"):
        MemoryStore(max_entries=max_entries)  # type: ignore[arg-type]


def test_default_clock_runs_leases() -> None:
    """Without an injected clock, leases run on the process's own (monotonic) clock."""
    store = MemoryStore()
    assert store.claim("k", "a", lease_ms=60_000) == Claim("claimed")
    claim = store.claim("k", "b", lease_ms=60_000)
    assert claim.state == "in_progress"
    assert 0 < claim.lease_remaining_ms <= 60_000
    assert repr(store) == "MemoryStore(max_entries=100000, entries=1)"


class MemoryStoreAgainstAModel(RuleBasedStateMachine):
    """Any interleaving of claims, completions, releases and time agrees with a plain model."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.store = MemoryStore(clock=self.clock)
        self.model: dict[str, tuple[str | None, int]] = {}  # key -> (owner, or None once done; expiry)

    def _live(self, key: str) -> tuple[str | None, int] | None:
        entry = self.model.get(key)
        return entry if entry is not None and entry[1] > self.clock.now_ms else None

    @rule(key=KEYS, owner=OWNERS, lease_ms=DURATIONS)
    def claim(self, key: str, owner: str, lease_ms: int) -> None:
        entry = self._live(key)
        claim = self.store.claim(key, owner, lease_ms=lease_ms)
        if entry is None:
            assert claim == Claim("claimed")
            self.model[key] = (owner, self.clock.now_ms + lease_ms)
        elif entry[0] is None:
            assert claim == Claim("done")
        else:
            assert claim == Claim("in_progress", entry[1] - self.clock.now_ms)

    @rule(key=KEYS, owner=OWNERS, retention_ms=DURATIONS)
    def complete(self, key: str, owner: str, retention_ms: int) -> None:
        entry = self._live(key)
        holds = entry is not None and entry[0] == owner
        assert self.store.complete(key, owner, retention_ms=retention_ms) is holds
        if holds:
            self.model[key] = (None, self.clock.now_ms + retention_ms)

    @rule(key=KEYS, owner=OWNERS)
    def release(self, key: str, owner: str) -> None:
        entry = self._live(key)
        holds = entry is not None and entry[0] == owner
        assert self.store.release(key, owner) is holds
        if holds:
            del self.model[key]

    @rule(ms=st.integers(min_value=0, max_value=4).map(lambda n: n * 500))
    def advance(self, ms: int) -> None:
        self.clock.advance(ms)


TestMemoryStoreAgainstAModel = MemoryStoreAgainstAModel.TestCase
TestMemoryStoreAgainstAModel.settings = settings(max_examples=60, stateful_step_count=25)
