"""The small protocol every deduplication store implements, and what a claim returns.

A store keeps one entry per delivery key, in one of two states: *in progress* (a worker holds a
lease on it, identified by an owner token) or *done* (kept for the retention period). Every
operation must be atomic on the store itself, because workers on other hosts race for the same
key; and every entry must expire, so a crashed worker can never block a key forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from tower_webhooks.exceptions import TowerWebhooksError

__all__ = ["AsyncStore", "Claim", "Store", "StoreUnavailableError"]


class StoreUnavailableError(TowerWebhooksError):
    """The store could not be reached or refused to write, so nothing is known about the key.

    Stores raise it (chained to the backend's own error);
    [`Deduplicator`][tower_webhooks.dedupe.Deduplicator] turns it into a 503 answer, which Tower
    retries later, unless it was built with ``fail_open=True``.

    .. versionadded:: 0.1.0
    """


@dataclass(frozen=True, slots=True)
class Claim:
    """What a store found when a worker tried to claim a key.

    Attributes:
        state: ``"claimed"`` (the caller now holds the lease and runs the handler),
            ``"in_progress"`` (another worker holds a live lease) or ``"done"`` (the delivery
            was handled and is within its retention period).
        lease_remaining_ms: For ``"in_progress"``, how long the other worker's lease still runs,
            if the store knows (``0`` when it does not, or for the other states).

    .. versionadded:: 0.1.0
    """

    state: Literal["claimed", "in_progress", "done"]
    lease_remaining_ms: int = 0


class Store(Protocol):
    """A store whose operations block: ``MemoryStore``, ``RedisStore``, ``DjangoCacheStore``.

    [`MemoryStore`][tower_webhooks.dedupe.MemoryStore] keeps claims in one process. Each method
    raises [`StoreUnavailableError`][tower_webhooks.dedupe.StoreUnavailableError] when the backend
    cannot answer.

    .. versionadded:: 0.1.0
    """

    def claim(self, key: str, owner: str, *, lease_ms: int) -> Claim:
        """Atomically create ``key`` as in progress for ``owner``, expiring after ``lease_ms``.

        Succeeds when the key is absent or its entry has expired; otherwise reports the entry.
        """
        ...

    def complete(self, key: str, owner: str, *, retention_ms: int) -> bool:
        """Mark ``key`` done for ``retention_ms``, only if ``owner`` still holds a live lease.

        Returns:
            ``False`` when the lease ran out or another worker holds the key now.
        """
        ...

    def release(self, key: str, owner: str) -> bool:
        """Delete ``key``, only if ``owner`` still holds a live lease on it.

        Returns:
            ``False`` when the lease ran out or another worker holds the key now.
        """
        ...


class AsyncStore(Protocol):
    """The asyncio form of [`Store`][tower_webhooks.dedupe.Store], for ASGI apps: ``AsyncRedisStore``.

    .. versionadded:: 0.1.0
    """

    async def claim(self, key: str, owner: str, *, lease_ms: int) -> Claim:
        """See [`Store.claim`][tower_webhooks.dedupe.Store.claim]."""
        ...

    async def complete(self, key: str, owner: str, *, retention_ms: int) -> bool:
        """See [`Store.complete`][tower_webhooks.dedupe.Store.complete]."""
        ...

    async def release(self, key: str, owner: str) -> bool:
        """See [`Store.release`][tower_webhooks.dedupe.Store.release]."""
        ...
