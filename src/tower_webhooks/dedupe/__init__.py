"""Handle each Tower delivery once, across every worker: duplicates, redeliveries and replays.

``verify()`` is stateless, so inside the tolerance window a captured request can be replayed,
and Tower itself sends a delivery again whenever it did not get an exact 200 in time. A
[`Deduplicator`][tower_webhooks.dedupe.Deduplicator] on a store shared by all workers lets the
handler run once::

    from tower_webhooks.dedupe import Deduplicator
    from tower_webhooks.dedupe.redis import RedisStore

    dedupe = Deduplicator(RedisStore.from_url("redis://localhost:6379/0"))

    admission = dedupe.begin(webhook)      # the adapters' dedupe= option does all of this
    if admission.answer is not None:       # a duplicate (200), in progress (409), store down (503)
        return admission.answer
    try:
        status = handle(webhook)
    except Exception:
        admission.finish(500)              # released: Tower's retry runs the handler again
        raise
    admission.finish(status)               # 200: done for the retention period

Stores: [`MemoryStore`][tower_webhooks.dedupe.MemoryStore] (this module, one process),
``tower_webhooks.dedupe.redis`` (``RedisStore``, ``AsyncRedisStore``; extra ``redis``) and
``tower_webhooks.dedupe.django`` (``DjangoCacheStore``; extra ``django``).
"""

from ._deduplicator import (
    DEFAULT_LEASE_MS,
    DEFAULT_RETENTION_MS,
    Admission,
    Answer,
    Deduplicator,
    body_sha256,
)
from ._memory import MemoryStore
from ._store import AsyncStore, Claim, Store, StoreUnavailableError

__all__ = [
    "DEFAULT_LEASE_MS",
    "DEFAULT_RETENTION_MS",
    "Admission",
    "Answer",
    "AsyncStore",
    "Claim",
    "Deduplicator",
    "MemoryStore",
    "Store",
    "StoreUnavailableError",
    "body_sha256",
]
