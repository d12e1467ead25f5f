"""A store on Django's cache framework, for projects that already run a shared cache.

The claim is the cache's atomic ``add``. Django's cache API has no compare-and-set, so
completing and releasing read the owner, then write: a worker whose lease had *just* run out
can still overwrite or delete a claim taken in between. Where that matters, use
[`tower_webhooks.dedupe.redis.RedisStore`][], whose compare-and-act is one script.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

try:
    from django.core.cache import caches
    from django.core.cache.backends.base import BaseCache
    from django.core.cache.backends.dummy import DummyCache
    from django.core.cache.backends.filebased import FileBasedCache
    from django.core.cache.backends.locmem import LocMemCache
except ModuleNotFoundError as _missing:  # pragma: no cover - depends on what is installed
    if (_missing.name or "").partition(".")[0] not in {"django"}:  # installed, but one of its imports is broken
        raise
    raise ImportError("tower_webhooks.dedupe.django needs Django: pip install 'tower-webhooks[django]'") from _missing

from tower_webhooks._signing import current_time_ms

from ._store import Claim, StoreUnavailableError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["DjangoCacheStore"]

_DONE = "done"
_CLAIM_ATTEMPTS = 3


def _seconds(ms: int) -> int:
    # Django's Redis backend truncates timeouts to whole seconds: round up, never shorten a lease.
    return math.ceil(ms / 1000)


class DjangoCacheStore:
    """Keeps claims in a Django cache that every worker shares: Redis or Memcached.

    Args:
        cache: A cache alias from ``settings.CACHES`` (looked up on each call, so every thread
            gets Django's own per-thread client), or a cache backend instance.
        clock: Returns Unix time in milliseconds, only to tell a duplicate how long to wait
            (never longer than the lease, whatever another host's clock says).

    Raises:
        ValueError: The cache is a ``DummyCache``, which stores nothing and so would let every
            duplicate through.

    Warns:
        RuntimeWarning: The cache is a ``LocMemCache`` (one per process: workers do not see
            each other's claims) or a ``FileBasedCache`` (its ``add`` is not atomic).

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_cache", "_clock")

    def __init__(self, cache: str | BaseCache = "default", *, clock: Callable[[], int] | None = None) -> None:
        if not isinstance(cache, (str, BaseCache)):
            raise TypeError(
                f"cache must be an alias from settings.CACHES or a Django cache backend, not {type(cache).__name__} "
                '(for django.core.cache.cache, pass "default")'
            )
        self._cache = cache
        _check_backend(self._backend())
        self._clock = current_time_ms if clock is None else clock

    def __repr__(self) -> str:
        cache = repr(self._cache) if isinstance(self._cache, str) else type(self._cache).__name__
        return f"DjangoCacheStore({cache})"

    def claim(self, key: str, owner: str, *, lease_ms: int) -> Claim:
        """See [`Store.claim`][tower_webhooks.dedupe.Store.claim]."""
        cache = self._backend()
        try:
            for _ in range(_CLAIM_ATTEMPTS):
                if cache.add(key, (owner, self._clock() + lease_ms), _seconds(lease_ms)):
                    return Claim("claimed")
                value = cache.get(key)
                if value == _DONE:
                    return Claim("done")
                if isinstance(value, tuple):
                    # The holder's clock set its expiry: a host whose clock runs ahead must not tell
                    # Tower to wait hours for a lease the cache ends within lease_ms anyway.
                    return Claim("in_progress", min(max(value[1] - self._clock(), 0), lease_ms))
                # Gone between add() and get(): released or expired, so try again.
        except Exception as error:
            raise _unavailable(error) from error
        return Claim("in_progress")

    def complete(self, key: str, owner: str, *, retention_ms: int) -> bool:
        """See [`Store.complete`][tower_webhooks.dedupe.Store.complete]."""
        cache = self._backend()
        try:
            if not _held_by(cache.get(key), owner):
                return False
            cache.set(key, _DONE, _seconds(retention_ms))
        except Exception as error:
            raise _unavailable(error) from error
        return True

    def release(self, key: str, owner: str) -> bool:
        """See [`Store.release`][tower_webhooks.dedupe.Store.release]."""
        cache = self._backend()
        try:
            if not _held_by(cache.get(key), owner):
                return False
            cache.delete(key)
        except Exception as error:
            raise _unavailable(error) from error
        return True

    def _backend(self) -> BaseCache:
        return caches[self._cache] if isinstance(self._cache, str) else self._cache


def _held_by(value: object, owner: str) -> bool:
    return isinstance(value, tuple) and value[0] == owner


def _unavailable(error: Exception) -> StoreUnavailableError:
    return StoreUnavailableError(f"Django cache: {type(error).__name__}: {error}")


def _check_backend(backend: BaseCache) -> None:
    name = type(backend).__name__
    if isinstance(backend, DummyCache):
        raise ValueError(
            "DummyCache stores nothing, so every duplicate would run the handler again: "
            "configure a shared cache (Redis or Memcached) for DjangoCacheStore"
        )
    if isinstance(backend, LocMemCache):
        warnings.warn(
            f"{name} is per process: with several workers or hosts, duplicates run the handler "
            "once per process. Use a shared cache (Redis or Memcached) in production.",
            RuntimeWarning,
            stacklevel=3,
        )
    elif isinstance(backend, FileBasedCache):
        warnings.warn(
            f"{name}.add() is not atomic (it checks, then writes), so two workers can both claim "
            "one delivery. Use a shared cache (Redis or Memcached) in production.",
            RuntimeWarning,
            stacklevel=3,
        )
