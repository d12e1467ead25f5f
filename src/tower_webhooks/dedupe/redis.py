"""Redis stores, blocking and asyncio: one atomic script per operation, every key with a TTL.

A claim is ``SET key value NX PX lease`` (never ``SETNX`` then ``EXPIRE``, which leaves a key
without expiry if the client dies between the two); completing and releasing compare the owner
token and act in one script, so a worker whose lease ran out cannot touch a newer claim.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any

try:
    import redis
    import redis.asyncio
except ModuleNotFoundError as _missing:  # pragma: no cover - depends on what is installed
    if (_missing.name or "").partition(".")[0] not in {"redis"}:  # installed, but one of its imports is broken
        raise
    raise ImportError("tower_webhooks.dedupe.redis needs redis-py: pip install 'tower-webhooks[redis]'") from _missing

from ._store import Claim, StoreUnavailableError

if TYPE_CHECKING:
    from collections.abc import Callable

    from redis.commands.core import AsyncScript, Script

__all__ = ["AsyncRedisStore", "RedisStore"]

_DONE = "done"
_RUNNING = "running:"

# KEYS[1] key; ARGV[1] "running:<owner>", ARGV[2] lease in ms. Returns {1} when claimed (also
# when this owner already holds it: a client retrying after a lost reply must not lock itself
# out), else {0, value, pttl}.
_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1} end
local value = redis.call('GET', KEYS[1])
if value == ARGV[1] then return {1} end
return {0, value, redis.call('PTTL', KEYS[1])}
"""

# ARGV[1] "running:<owner>", ARGV[2] "done", ARGV[3] retention in ms.
_COMPLETE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""

# ARGV[1] "running:<owner>".
_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
"""

_TIMEOUTS = {"socket_timeout": 5.0, "socket_connect_timeout": 5.0}

# _RETRIED: a dropped connection is tried once more, whatever the client's own retry settings:
# after Redis restarts, every pooled connection is stale and fails once before reconnecting.
# Each script is safe to repeat: a claim by the same owner succeeds again, and completing or
# releasing twice only finds the second time that there is nothing left to do.


def _claim_from(reply: Any) -> Claim:
    if reply[0] == 1:
        return Claim("claimed")
    value = reply[1].decode() if isinstance(reply[1], bytes) else str(reply[1])
    if value == _DONE:
        return Claim("done")
    return Claim("in_progress", max(int(reply[2]), 0))


def _unavailable(error: redis.RedisError) -> StoreUnavailableError:
    return StoreUnavailableError(f"Redis: {type(error).__name__}: {error}")


class RedisStore:
    """A store on Redis with redis-py's blocking client, shared by every worker.

    A dropped connection is tried once more (after Redis restarts, every pooled connection is
    stale); any other failure raises [`StoreUnavailableError`][tower_webhooks.dedupe.StoreUnavailableError].

    Args:
        client: A ``redis.Redis``. Give it a ``socket_timeout``: without one, a Redis that
            stops answering holds the request past Tower's 30 s.

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_claim", "_client", "_complete", "_release")

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._claim = client.register_script(_CLAIM)
        self._complete = client.register_script(_COMPLETE)
        self._release = client.register_script(_RELEASE)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisStore:
        """Connect to ``url`` (``redis://host:port/db``), with 5 s socket timeouts by default.

        Args:
            url: Passed to ``redis.Redis.from_url``.
            **options: Passed on too; they override the default timeouts.
        """
        return cls(redis.Redis.from_url(url, **{**_TIMEOUTS, **options}))

    def __repr__(self) -> str:
        return f"RedisStore({self._client!r})"

    def claim(self, key: str, owner: str, *, lease_ms: int) -> Claim:
        """See [`Store.claim`][tower_webhooks.dedupe.Store.claim]."""
        return _claim_from(self._run(self._claim, key, _RUNNING + owner, lease_ms))

    def complete(self, key: str, owner: str, *, retention_ms: int) -> bool:
        """See [`Store.complete`][tower_webhooks.dedupe.Store.complete]."""
        return bool(self._run(self._complete, key, _RUNNING + owner, _DONE, retention_ms))

    def release(self, key: str, owner: str) -> bool:
        """See [`Store.release`][tower_webhooks.dedupe.Store.release]."""
        return bool(self._run(self._release, key, _RUNNING + owner))

    @staticmethod
    def _run(script: Script, key: str, *args: str | int) -> Any:
        try:
            try:
                return script(keys=[key], args=args)
            except redis.ConnectionError:  # see _RETRIED
                return script(keys=[key], args=args)
        except redis.RedisError as error:
            raise _unavailable(error) from error


class AsyncRedisStore:
    """The asyncio form of [`RedisStore`][tower_webhooks.dedupe.redis.RedisStore], for Starlette and FastAPI.

    A ``redis.asyncio`` client serves the one event loop its connections were made in. Built by
    [`from_url`][tower_webhooks.dedupe.redis.AsyncRedisStore.from_url], the store makes a new client
    when it finds itself in another loop (Starlette's ``TestClient`` runs one per ``with`` block,
    or per request without one); a client given here must stay in its loop.

    Args:
        client: A ``redis.asyncio.Redis``, with a ``socket_timeout``.

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_claim", "_client", "_complete", "_connect", "_loop", "_release")

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._client = client
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop _client's connections belong to
        self._connect: Callable[[], redis.asyncio.Redis] | None = None  # a new client, for another loop
        self._claim = client.register_script(_CLAIM)
        self._complete = client.register_script(_COMPLETE)
        self._release = client.register_script(_RELEASE)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> AsyncRedisStore:
        """Connect to ``url``, with 5 s socket timeouts by default, and anew in each event loop.

        See [`RedisStore.from_url`][tower_webhooks.dedupe.redis.RedisStore.from_url].
        """
        connect = functools.partial(redis.asyncio.Redis.from_url, url, **{**_TIMEOUTS, **options})
        store = cls(connect())
        store._connect = connect
        return store

    def __repr__(self) -> str:
        return f"AsyncRedisStore({self._client!r})"

    async def claim(self, key: str, owner: str, *, lease_ms: int) -> Claim:
        """See [`Store.claim`][tower_webhooks.dedupe.Store.claim]."""
        return _claim_from(await self._run(self._claim, key, _RUNNING + owner, lease_ms))

    async def complete(self, key: str, owner: str, *, retention_ms: int) -> bool:
        """See [`Store.complete`][tower_webhooks.dedupe.Store.complete]."""
        return bool(await self._run(self._complete, key, _RUNNING + owner, _DONE, retention_ms))

    async def release(self, key: str, owner: str) -> bool:
        """See [`Store.release`][tower_webhooks.dedupe.Store.release]."""
        return bool(await self._run(self._release, key, _RUNNING + owner))

    def _client_here(self) -> redis.asyncio.Redis:
        """The client for the running loop, made anew by ``from_url`` stores when the loop changed.

        A pooled connection from a loop now closed fails with ``RuntimeError: Event loop is
        closed``, which is no store outage but a 500 from the middleware.
        """
        loop, client = asyncio.get_running_loop(), self._client
        if self._loop is not loop:
            if self._loop is not None and self._connect is not None:
                client = self._client = self._connect()  # the old one's connections died with their loop
            self._loop = loop
        return client

    async def _run(self, script: AsyncScript, key: str, *args: str | int) -> Any:
        client = self._client_here()
        try:
            try:
                return await script(keys=[key], args=args, client=client)
            except redis.ConnectionError:  # see _RETRIED
                return await script(keys=[key], args=args, client=client)
        except redis.RedisError as error:
            raise _unavailable(error) from error
