"""An in-process store: right for one process, and for tests."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, NamedTuple

from ._store import Claim

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["MemoryStore"]

_log = logging.getLogger("tower_webhooks.dedupe")


def _monotonic_ms() -> int:
    # Monotonic, not wall-clock: leases must not jump when the system clock is set.
    return time.monotonic_ns() // 1_000_000


class _Entry(NamedTuple):
    owner: str | None  # None once done
    expires_at_ms: int


class MemoryStore:
    """Keeps entries in a dictionary of this process, bounded in size, each with an expiry.

    It deduplicates only within one process: with several workers (gunicorn, uvicorn
    ``--workers``) or several hosts, use ``RedisStore`` or ``DjangoCacheStore`` instead.
    Thread-safe; its operations never block on I/O, so it also serves ``abegin()``.

    Args:
        max_entries: The most keys kept. When full, the entry written longest ago makes room
            (logged if it had not expired yet, since that forgets a delivery early).
        clock: Returns a time in milliseconds that never goes backwards; monotonic by default.

    Raises:
        ValueError: ``max_entries`` is under 1.

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_clock", "_entries", "_lock", "_max_entries")

    def __init__(self, *, max_entries: int = 100_000, clock: Callable[[], int] | None = None) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ValueError(f"max_entries must be a positive int, not {max_entries!r}")
        self._max_entries = max_entries
        self._clock = _monotonic_ms if clock is None else clock
        # Ordered by last write, so the front holds the entries most likely to have expired.
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryStore(max_entries={self._max_entries}, entries={len(self._entries)})"

    def __len__(self) -> int:
        return len(self._entries)

    def claim(self, key: str, owner: str, *, lease_ms: int) -> Claim:
        """See [`Store.claim`][tower_webhooks.dedupe.Store.claim]."""
        with self._lock:
            now = self._clock()
            entry = self._live(key, now)
            if entry is None:
                self._write(key, _Entry(owner, now + lease_ms), now)
                return Claim("claimed")
            if entry.owner is None:
                return Claim("done")
            return Claim("in_progress", entry.expires_at_ms - now)

    def complete(self, key: str, owner: str, *, retention_ms: int) -> bool:
        """See [`Store.complete`][tower_webhooks.dedupe.Store.complete]."""
        with self._lock:
            now = self._clock()
            if not self._holds(key, owner, now):
                return False
            self._write(key, _Entry(None, now + retention_ms), now)
            return True

    def release(self, key: str, owner: str) -> bool:
        """See [`Store.release`][tower_webhooks.dedupe.Store.release]."""
        with self._lock:
            if not self._holds(key, owner, self._clock()):
                return False
            del self._entries[key]
            return True

    def _live(self, key: str, now: int) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None and entry.expires_at_ms <= now:
            del self._entries[key]
            return None
        return entry

    def _holds(self, key: str, owner: str, now: int) -> bool:
        entry = self._live(key, now)
        return entry is not None and entry.owner == owner

    def _write(self, key: str, entry: _Entry, now: int) -> None:
        self._entries.pop(key, None)
        while len(self._entries) >= self._max_entries:
            _, oldest = self._entries.popitem(last=False)
            if oldest.expires_at_ms > now:
                _log.warning(
                    "MemoryStore is full (max_entries=%d): forgetting a live entry early, so a "
                    "duplicate of it would run again; raise max_entries or use a shared store",
                    self._max_entries,
                )
        self._entries[key] = entry
