"""Run the handler once per delivery: claim a key before it runs, settle it by how it ended."""

from __future__ import annotations

import hashlib
import inspect
import logging
import math
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NamedTuple

from ._memory import MemoryStore
from ._store import AsyncStore, Claim, Store, StoreUnavailableError

if TYPE_CHECKING:
    from collections.abc import Callable

    from typing_extensions import TypeIs

    from tower_webhooks import VerifiedWebhook

__all__ = [
    "DEFAULT_LEASE_MS",
    "DEFAULT_RETENTION_MS",
    "Admission",
    "Answer",
    "Deduplicator",
    "body_sha256",
]

DEFAULT_LEASE_MS = 60_000
"""One minute: twice the 30 s Tower waits for an answer. Raise it for handlers that run longer."""

DEFAULT_RETENTION_MS = 86_400_000
"""One day. Tower does not publish how long it keeps retrying, so this is a guess on the safe side."""

_log = logging.getLogger("tower_webhooks.dedupe")


def body_sha256(webhook: VerifiedWebhook) -> str:
    """The default key: the SHA-256 of the raw body, in hex.

    Tower sends no event or delivery id, and signs every retry again, so the timestamp and the
    signature change between copies of one delivery while the body does not. The cost: two
    distinct events with byte-identical bodies count as one.

    .. versionadded:: 0.1.0
    """
    return hashlib.sha256(webhook.body).hexdigest()


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer to send at once, without running the handler.

    Attributes:
        status: 200 (already handled: Tower stops retrying), 409 (a copy is being handled right
            now: Tower retries later) or 503 (the store is unreachable: Tower retries later).
        reason: A stable code: ``"duplicate"``, ``"in_progress"`` or ``"store_unavailable"``.
        detail: One sentence for the response body and the logs.
        headers: ``(("Retry-After", seconds),)`` for a 409; empty otherwise.

    .. versionadded:: 0.1.0
    """

    status: Literal[200, 409, 503]
    reason: Literal["duplicate", "in_progress", "store_unavailable"]
    detail: str
    headers: tuple[tuple[str, str], ...] = ()


_DUPLICATE = Answer(200, "duplicate", "this delivery was already handled")
_UNAVAILABLE = Answer(503, "store_unavailable", "the deduplication store is unreachable; retry later")


class _Held(NamedTuple):
    deduplicator: Deduplicator
    key: str
    owner: str


class Admission:
    """What [`Deduplicator.begin`][tower_webhooks.dedupe.Deduplicator.begin] decided for one delivery.

    If ``answer`` is set, send it and do not run the handler. Otherwise run the handler and
    then call [`finish`][tower_webhooks.dedupe.Admission.finish] (or
    [`afinish`][tower_webhooks.dedupe.Admission.afinish]) exactly once with the status it
    answered, or with 500 if it raised.

    Attributes:
        answer: The answer to send instead of running the handler, or ``None``.

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_finished", "_held", "answer")

    def __init__(self, answer: Answer | None, held: _Held | None = None) -> None:
        self.answer: Answer | None = answer
        self._held = held
        self._finished = False

    def __repr__(self) -> str:
        return f"Admission(answer={self.answer!r}, claimed={self._held is not None})"

    def finish(self, status: int) -> None:
        """Settle the claim: done for the retention period on 200, released on anything else.

        A store failure here is logged, never raised: the handler has already run, and the
        lease expires on its own.

        Raises:
            RuntimeError: The delivery was answered without the handler, or this is a second call.
            TypeError: The store is an asyncio store: call [`afinish`][tower_webhooks.dedupe.Admission.afinish].
        """
        if self._held is not None:
            self._held.deduplicator._blocking_store("afinish()")  # refused before it counts as the one call
        held = self._take()
        if held is not None:
            held.deduplicator._settle(held, status)

    async def afinish(self, status: int) -> None:
        """The asyncio form of [`finish`][tower_webhooks.dedupe.Admission.finish], for ASGI apps (any store)."""
        held = self._take()
        if held is not None:
            await held.deduplicator._asettle(held, status)

    def _take(self) -> _Held | None:
        if self.answer is not None:
            raise RuntimeError("this delivery was answered without running the handler: there is nothing to finish")
        if self._finished:
            raise RuntimeError("finish() was already called for this delivery")
        self._finished = True
        return self._held


def _check_ms(name: str, value: int, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int of milliseconds, not {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name}={value} must be a positive number of milliseconds (the default is {default:_})")
    if value < 1_000:
        raise ValueError(
            f"{name}={value} is under one second: it is in milliseconds "
            f"(did you mean {value * 1000:_}? the default is {default:_})"
        )
    return value


def _storable(key: str) -> str:
    r"""``key``, or its SHA-256 if it holds a lone surrogate, which no store can encode.

    UTF-8 has no bytes for one, so Redis and Django's caches fail on it; yet a JSON string can hold
    one (``"\ud800"``), so a key built from payload fields can too. Distinct keys stay distinct.
    """
    try:
        key.encode()
    except UnicodeEncodeError:
        return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return key


def _is_async(store: Store | AsyncStore) -> TypeIs[AsyncStore]:
    return inspect.iscoroutinefunction(store.claim)


class Deduplicator:
    """Lets the handler run once per delivery, across every worker sharing the store.

    Like an idempotency key: the first copy claims the delivery's key with a lease and runs the
    handler. A 200 marks the key done for ``retention_ms``; anything else (or an exception)
    releases it, so Tower's retry runs the handler again. Nothing is marked done before the
    handler succeeded. Copies of a done delivery get 200 at once; copies that arrive while it
    runs get 409 with ``Retry-After``. A lease that runs out (a worker died mid-handler) can be
    claimed again, and the late worker can then neither complete nor release it.

    Args:
        store: Where claims live: [`MemoryStore`][tower_webhooks.dedupe.MemoryStore] (the
            default, one process only), ``RedisStore``/``AsyncRedisStore`` or
            ``DjangoCacheStore`` for several workers.
        lease_ms: How long a claim holds while its handler runs. Make it longer than your
            slowest handler: past it, another copy may run the handler too.
        retention_ms: How long a handled delivery is remembered.
        key: Derives the key from the verified webhook;
            [`body_sha256`][tower_webhooks.dedupe.body_sha256] by default. A function of payload
            fields (say, a run id and event type) keeps two events with identical bodies apart,
            but then it must never fail on a payload without them. A key holding a lone
            surrogate, which UTF-8 cannot encode, is stored as ``sha256:`` and its hash.
        namespace: Prefixed to every key, so two endpoints can share one store.
        fail_open: When the store is unreachable, run the handler without deduplication
            instead of answering 503. Off by default: a 503 loses nothing, Tower retries.

    Raises:
        TypeError: An option has the wrong type.
        ValueError: ``lease_ms`` or ``retention_ms`` is zero, negative or under one second, or
            ``namespace`` is empty or holds a lone surrogate.

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_async_store", "_fail_open", "_key", "_lease_ms", "_namespace", "_retention_ms", "_store")

    def __init__(
        self,
        store: Store | AsyncStore | None = None,
        *,
        lease_ms: int = DEFAULT_LEASE_MS,
        retention_ms: int = DEFAULT_RETENTION_MS,
        key: Callable[[VerifiedWebhook], str] = body_sha256,
        namespace: str = "tower-webhooks:dedupe",
        fail_open: bool = False,
    ) -> None:
        store = MemoryStore() if store is None else store
        if not all(callable(getattr(store, name, None)) for name in ("claim", "complete", "release")):
            raise TypeError(f"store must have claim(), complete() and release() methods, not {store!r}")
        # Exactly one of the two is set; which one is decided once, not on every request.
        self._store: Store | None = None
        self._async_store: AsyncStore | None = None
        if _is_async(store):
            self._async_store = store
        else:
            self._store = store
        self._lease_ms = _check_ms("lease_ms", lease_ms, DEFAULT_LEASE_MS)
        self._retention_ms = _check_ms("retention_ms", retention_ms, DEFAULT_RETENTION_MS)
        if not callable(key):
            raise TypeError(f"key must be a function of the VerifiedWebhook returning a str, not {key!r}")
        self._key = key
        if not isinstance(namespace, str):
            raise TypeError(f"namespace must be a str, not {type(namespace).__name__}")
        if not namespace:
            raise ValueError("namespace must not be empty: it keeps this endpoint's keys apart in a shared store")
        if _storable(namespace) != namespace:
            raise ValueError(f"namespace={namespace!r} holds a lone surrogate, which no store can encode in UTF-8")
        self._namespace = namespace
        self._fail_open = bool(fail_open)

    def __repr__(self) -> str:
        store = self._store if self._store is not None else self._async_store
        return (
            f"Deduplicator(store={store!r}, lease_ms={self._lease_ms}, "
            f"retention_ms={self._retention_ms}, fail_open={self._fail_open})"
        )

    @property
    def is_async(self) -> bool:
        """Whether the store is asyncio: usable only through [`abegin`][tower_webhooks.dedupe.Deduplicator.abegin]."""
        return self._async_store is not None

    def begin(self, webhook: VerifiedWebhook) -> Admission:
        """Claim the delivery before its handler runs (blocking stores).

        Returns:
            An [`Admission`][tower_webhooks.dedupe.Admission]: an answer to send now, or a claim to
            [`finish`][tower_webhooks.dedupe.Admission.finish].

        Raises:
            TypeError: The store is an asyncio store (call
                [`abegin`][tower_webhooks.dedupe.Deduplicator.abegin]), or ``key`` did not
                return a non-empty ``str``.
        """
        store = self._blocking_store("abegin() from an ASGI app")
        key, owner = self._key_of(webhook), secrets.token_hex(16)
        try:
            claim = store.claim(key, owner, lease_ms=self._lease_ms)
        except StoreUnavailableError as error:
            return self._unavailable(error)
        return self._admit(key, owner, claim)

    async def abegin(self, webhook: VerifiedWebhook) -> Admission:
        """The asyncio form of [`begin`][tower_webhooks.dedupe.Deduplicator.begin], for ASGI apps.

        A blocking store is called directly: fine for
        [`MemoryStore`][tower_webhooks.dedupe.MemoryStore], which never waits on I/O; over the
        network, give an asyncio store such as ``AsyncRedisStore``.
        """
        key, owner = self._key_of(webhook), secrets.token_hex(16)
        try:
            if self._async_store is not None:
                claim = await self._async_store.claim(key, owner, lease_ms=self._lease_ms)
            else:
                claim = self._blocking_store("abegin()").claim(key, owner, lease_ms=self._lease_ms)
        except StoreUnavailableError as error:
            return self._unavailable(error)
        return self._admit(key, owner, claim)

    def _blocking_store(self, instead: str) -> Store:
        if self._store is None:
            raise TypeError(f"{self._async_store!r} is an asyncio store: call {instead}")
        return self._store

    def _key_of(self, webhook: VerifiedWebhook) -> str:
        key = self._key(webhook)
        if not isinstance(key, str) or not key:
            raise TypeError(f"the key function {self._key!r} must return a non-empty str, not {key!r}")
        return f"{self._namespace}:{key if key.isascii() else _storable(key)}"

    def _admit(self, key: str, owner: str, claim: Claim) -> Admission:
        if claim.state == "claimed":
            return Admission(None, _Held(self, key, owner))
        if claim.state == "done":
            _log.info("duplicate of a handled delivery %s: answering 200 without running the handler", key)
            return Admission(_DUPLICATE)
        remaining_ms = claim.lease_remaining_ms if claim.lease_remaining_ms > 0 else self._lease_ms
        retry_after_s = max(1, math.ceil(remaining_ms / 1000))
        _log.info("delivery %s is being handled by another worker: answering 409", key)
        return Admission(
            Answer(
                409,
                "in_progress",
                f"a copy of this delivery is being handled; retry after {retry_after_s} s",
                (("Retry-After", str(retry_after_s)),),
            )
        )

    def _unavailable(self, error: StoreUnavailableError) -> Admission:
        if self._fail_open:
            _log.warning("deduplication store unreachable (%s): fail_open=True, running the handler anyway", error)
            return Admission(None)
        _log.error("deduplication store unreachable (%s): answering 503 so that Tower retries later", error)
        return Admission(_UNAVAILABLE)

    def _settle(self, held: _Held, status: int) -> None:
        store = self._blocking_store("afinish()")
        try:
            if status == 200:
                kept = store.complete(held.key, held.owner, retention_ms=self._retention_ms)
            else:
                kept = store.release(held.key, held.owner)
        except StoreUnavailableError as error:
            self._log_settle_failure(held, status, error)
        else:
            self._log_settled(held, status, kept)

    async def _asettle(self, held: _Held, status: int) -> None:
        store = self._async_store
        if store is None:
            self._settle(held, status)
            return
        try:
            if status == 200:
                kept = await store.complete(held.key, held.owner, retention_ms=self._retention_ms)
            else:
                kept = await store.release(held.key, held.owner)
        except StoreUnavailableError as error:
            self._log_settle_failure(held, status, error)
        else:
            self._log_settled(held, status, kept)

    def _log_settled(self, held: _Held, status: int, kept: bool) -> None:
        if kept:
            _log.debug("delivery %s %s", held.key, "done" if status == 200 else f"released after {status}")
        elif status == 200:
            _log.warning(
                "delivery %s was handled, but its lease ran out first (lease_ms=%d), so another "
                "copy may have run too: raise lease_ms above the handler's longest run",
                held.key,
                self._lease_ms,
            )

    def _log_settle_failure(self, held: _Held, status: int, error: StoreUnavailableError) -> None:
        if status == 200:
            _log.error(
                "delivery %s was handled but could not be marked done (%s): a copy arriving "
                "after the lease ends would run again",
                held.key,
                error,
            )
        else:
            _log.error("could not release delivery %s (%s): it is retried once the lease ends", held.key, error)
