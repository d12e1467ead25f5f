"""Deduplicator: idempotency-key semantics over a store, on an injected clock."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from tower_webhooks import VerifiedWebhook
from tower_webhooks.dedupe import (
    DEFAULT_LEASE_MS,
    Admission,
    Answer,
    Deduplicator,
    MemoryStore,
    body_sha256,
)
from tower_webhooks.dedupe.redis import AsyncRedisStore, RedisStore

from .test_dedupe_memory import FakeClock

if TYPE_CHECKING:
    from .conftest import RedisServer

BODY = b'{"event_type":"run.finished","data":{"run_id":"r-1"}}'
DELIVERY = VerifiedWebhook(1_764_468_000_000, BODY)
RETRY = VerifiedWebhook(1_764_468_060_000, BODY)  # Tower signs a retry again: same body, new timestamp


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def dedupe(clock: FakeClock) -> Deduplicator:
    return Deduplicator(MemoryStore(clock=clock))


def runs(admission: Admission) -> bool:
    """Whether the handler should run for this admission."""
    return admission.answer is None


def early_status(admission: Admission) -> int | None:
    """The status answered without running the handler, if any."""
    return None if admission.answer is None else admission.answer.status


def test_first_delivery_runs_the_handler(dedupe: Deduplicator) -> None:
    """The first copy of a delivery gets no early answer: the handler runs."""
    assert runs(dedupe.begin(DELIVERY))


def test_retry_of_a_handled_delivery_gets_200_at_once(dedupe: Deduplicator) -> None:
    """After the handler answered 200, a retry (re-signed, same body) is answered 200 without it."""
    dedupe.begin(DELIVERY).finish(200)
    admission = dedupe.begin(RETRY)
    assert admission.answer == Answer(200, "duplicate", "this delivery was already handled")
    assert admission.answer.headers == ()


def test_copy_while_in_progress_gets_409_with_retry_after(dedupe: Deduplicator, clock: FakeClock) -> None:
    """A copy arriving while the first runs gets 409, told to come back when the lease ends."""
    dedupe.begin(DELIVERY)
    clock.advance(DEFAULT_LEASE_MS - 2_500)
    answer = dedupe.begin(RETRY).answer
    assert answer is not None
    assert (answer.status, answer.reason, answer.headers) == (409, "in_progress", (("Retry-After", "3"),))
    assert "retry after 3 s" in answer.detail


@pytest.mark.parametrize("status", [500, 204, 201, 400, 503])
def test_anything_but_200_releases_the_claim(dedupe: Deduplicator, status: int) -> None:
    """Only an exact 200 marks a delivery done; any other answer lets Tower's retry run the handler."""
    dedupe.begin(DELIVERY).finish(status)
    assert runs(dedupe.begin(RETRY))


def test_a_failing_then_succeeding_handler_has_its_effect_once(dedupe: Deduplicator) -> None:
    """A handler that raises, then succeeds on the retry, runs twice and takes effect once."""
    calls, effects = 0, 0

    def handler() -> int:
        nonlocal calls, effects
        calls += 1
        if calls == 1:
            raise RuntimeError("first attempt fails")
        effects += 1
        return 200

    for delivery in (DELIVERY, RETRY, RETRY):
        admission = dedupe.begin(delivery)
        if admission.answer is not None:
            continue
        try:
            status = handler()
        except RuntimeError:
            admission.finish(500)
        else:
            admission.finish(status)
    assert (calls, effects) == (2, 1)


def test_a_crashed_worker_blocks_only_until_its_lease_ends(dedupe: Deduplicator, clock: FakeClock) -> None:
    """A worker that died mid-handler never finishes; once its lease ends, a redelivery runs."""
    dedupe.begin(DELIVERY)  # and never finished
    clock.advance(DEFAULT_LEASE_MS)
    assert runs(dedupe.begin(RETRY))


def test_a_late_worker_cannot_mark_a_takeover_done(
    dedupe: Deduplicator, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler that outlived its lease finishes without effect on the new claim, and says so."""
    late = dedupe.begin(DELIVERY)
    clock.advance(DEFAULT_LEASE_MS)
    takeover = dedupe.begin(RETRY)
    with caplog.at_level(logging.WARNING, logger="tower_webhooks.dedupe"):
        late.finish(200)
    assert "its lease ran out first (lease_ms=60000)" in caplog.text
    assert early_status(dedupe.begin(RETRY)) == 409
    takeover.finish(200)
    assert dedupe.begin(RETRY).answer == Answer(200, "duplicate", "this delivery was already handled")


def test_done_is_remembered_for_the_retention_period(clock: FakeClock) -> None:
    """A handled delivery is answered 200 for retention_ms, then forgotten."""
    dedupe = Deduplicator(MemoryStore(clock=clock), retention_ms=3_600_000)
    dedupe.begin(DELIVERY).finish(200)
    clock.advance(3_599_999)
    assert not runs(dedupe.begin(RETRY))
    clock.advance(1)
    assert runs(dedupe.begin(RETRY))


def test_default_key_is_the_sha256_of_the_body() -> None:
    """The default key ignores the timestamp and signature, which change on every retry."""
    assert body_sha256(DELIVERY) == body_sha256(RETRY) == hashlib.sha256(BODY).hexdigest()


def test_different_bodies_are_different_deliveries(dedupe: Deduplicator) -> None:
    """Two events with different bodies never count as one."""
    dedupe.begin(DELIVERY).finish(200)
    assert runs(dedupe.begin(VerifiedWebhook(DELIVERY.timestamp_ms, BODY + b" ")))


def test_a_key_function_replaces_the_body_hash(clock: FakeClock) -> None:
    """A key from payload fields makes two bodies one delivery (or keeps identical bodies apart)."""
    dedupe = Deduplicator(MemoryStore(clock=clock), key=lambda webhook: webhook.json()["data"]["run_id"])
    dedupe.begin(DELIVERY).finish(200)
    reformatted = VerifiedWebhook(DELIVERY.timestamp_ms, b'{"data": {"run_id": "r-1"}, "event_type": "run.finished"}')
    assert not runs(dedupe.begin(reformatted))


@pytest.mark.parametrize("result", [None, "", b"bytes", 42])
def test_a_key_function_must_return_a_non_empty_str(clock: FakeClock, result: object) -> None:
    """A key function that returns anything but a non-empty str is a programming error."""
    dedupe = Deduplicator(MemoryStore(clock=clock), key=lambda webhook: result)  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match="must return a non-empty str"):
        dedupe.begin(DELIVERY)


def run_id(webhook: VerifiedWebhook) -> str:
    return str(webhook.json()["data"]["run_id"])


def test_a_key_with_a_lone_surrogate_is_stored(redis_server: RedisServer, redis_client: object) -> None:
    """A JSON string may hold a lone surrogate, which UTF-8 cannot encode: the key is its hash instead.

    Redis raised UnicodeEncodeError (a 500 from every adapter), and a Django cache's failure read as
    a store outage (503, which Tower retries for ever).
    """
    dedupe = Deduplicator(RedisStore.from_url(redis_server.url), key=run_id)
    lone = VerifiedWebhook(1, b'{"data": {"run_id": "\\ud800"}}')
    dedupe.begin(lone).finish(200)
    assert early_status(dedupe.begin(VerifiedWebhook(2, b'{"data":{"run_id":"\\ud800"}}'))) == 200
    assert runs(dedupe.begin(VerifiedWebhook(1, b'{"data": {"run_id": "\\ud801"}}')))  # another surrogate, another key
    assert runs(dedupe.begin(VerifiedWebhook(1, b'{"data": {"run_id": "\\\\ud800"}}')))  # the six characters \ud800

    async def scenario() -> None:
        store = AsyncRedisStore.from_url(redis_server.url)
        assert early_status(await Deduplicator(store, key=run_id).abegin(lone)) == 200
        await store._client.aclose()

    asyncio.run(scenario())


@pytest.mark.parametrize("key", ["r-1", "r é 1", "\U0001f600", "x" * 100_000])
def test_other_keys_are_stored_as_they_are(clock: FakeClock, key: str) -> None:
    """Only a key UTF-8 cannot encode is replaced: every other one stays readable in the store."""
    store = MemoryStore(clock=clock)
    Deduplicator(store, key=lambda webhook: key).begin(DELIVERY).finish(200)
    assert store._entries.keys() == {f"tower-webhooks:dedupe:{key}"}


def test_a_namespace_with_a_lone_surrogate_is_refused() -> None:
    """No store could keep a key under it, so it fails at construction, not at every delivery."""
    with pytest.raises(ValueError, match="lone surrogate"):
        Deduplicator(namespace="orders\udc80")


def test_namespaces_keep_endpoints_apart(clock: FakeClock) -> None:
    """Two endpoints sharing a store, each with its own namespace, both handle the same body."""
    store = MemoryStore(clock=clock)
    Deduplicator(store, namespace="orders").begin(DELIVERY).finish(200)
    assert runs(Deduplicator(store, namespace="audit").begin(DELIVERY))
    assert not runs(Deduplicator(store, namespace="orders").begin(DELIVERY))


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("lease_ms", 0, "lease_ms=0 must be a positive number of milliseconds"),
        ("lease_ms", -5, "lease_ms=-5 must be a positive number of milliseconds"),
        ("lease_ms", 60, "lease_ms=60 is under one second: it is in milliseconds .did you mean 60_000"),
        ("lease_ms", 999, "lease_ms=999 is under one second"),
        ("retention_ms", 0, "retention_ms=0 must be a positive"),
        ("retention_ms", -86_400_000, "retention_ms=-86400000 must be a positive"),
        ("retention_ms", 900, "retention_ms=900 is under one second: it is in milliseconds .did you mean 900_000"),
    ],
)
def test_zero_negative_or_sub_second_durations_are_refused(option: str, value: int, message: str) -> None:
    """A lease or retention that is zero, negative, or looks like seconds is a configuration error."""
    with pytest.raises(ValueError, match=message):
        Deduplicator(**{option: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [60.0, True, "60000", None])
def test_durations_must_be_int_milliseconds(value: object) -> None:
    """A lease that is not an int is refused with the unit named."""
    with pytest.raises(TypeError, match="lease_ms must be an int of milliseconds"):
        Deduplicator(lease_ms=value)  # type: ignore[arg-type]


def test_one_second_is_the_shortest_lease() -> None:
    """1_000 ms is accepted: the bound is exactly one second."""
    assert "lease_ms=1000" in repr(Deduplicator(lease_ms=1_000, retention_ms=1_000))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"store": object()}, "store must have claim"),
        ({"key": "sha256"}, "key must be a function"),
        ({"namespace": b"orders"}, "namespace must be a str"),
    ],
)
def test_other_configuration_mistakes_are_type_errors(options: dict[str, object], message: str) -> None:
    """A store without the protocol, a key that is not callable or an empty namespace is refused."""
    with pytest.raises(TypeError, match=message):
        Deduplicator(**options)  # type: ignore[arg-type]


def test_an_empty_namespace_is_refused() -> None:
    """An empty namespace would mix this endpoint's keys with any other's in a shared store."""
    with pytest.raises(ValueError, match="namespace must not be empty"):
        Deduplicator(namespace="")


def test_the_default_store_is_a_memory_store() -> None:
    """Without a store, deduplication holds within this process."""
    assert repr(Deduplicator()).startswith("Deduplicator(store=MemoryStore(max_entries=100000")


def test_finish_twice_is_a_programming_error(dedupe: Deduplicator) -> None:
    """A claim is settled exactly once."""
    admission = dedupe.begin(DELIVERY)
    admission.finish(200)
    with pytest.raises(RuntimeError, match="already called"):
        admission.finish(200)


def test_finish_after_an_early_answer_is_a_programming_error(dedupe: Deduplicator) -> None:
    """When the delivery was answered early, the handler did not run, so there is nothing to finish."""
    dedupe.begin(DELIVERY).finish(200)
    admission = dedupe.begin(RETRY)
    assert repr(admission).startswith("Admission(answer=Answer(status=200")
    with pytest.raises(RuntimeError, match="answered without running the handler"):
        admission.finish(200)


class TestStoreOutage:
    """With the store down, Tower is told to retry later, unless fail_open runs the handler anyway."""

    @pytest.fixture
    def down(self, own_redis_server: RedisServer) -> RedisStore:
        store = RedisStore.from_url(own_redis_server.url, socket_connect_timeout=2)
        own_redis_server.stop()
        return store

    def test_unreachable_store_answers_503(self, down: RedisStore, caplog: pytest.LogCaptureFixture) -> None:
        """Nothing is known about the delivery, so the handler does not run and Tower retries."""
        with caplog.at_level(logging.ERROR, logger="tower_webhooks.dedupe"):
            answer = Deduplicator(down).begin(DELIVERY).answer
        assert answer is not None
        assert (answer.status, answer.reason) == (503, "store_unavailable")
        assert "deduplication store unreachable (Redis: ConnectionError" in caplog.text

    def test_fail_open_runs_the_handler(self, down: RedisStore, caplog: pytest.LogCaptureFixture) -> None:
        """fail_open=True trades the duplicate check for availability, and logs it."""
        with caplog.at_level(logging.WARNING, logger="tower_webhooks.dedupe"):
            admission = Deduplicator(down, fail_open=True).begin(DELIVERY)
            assert runs(admission)
            admission.finish(200)  # holds no claim: nothing to settle
        assert "fail_open=True, running the handler anyway" in caplog.text

    def test_a_store_lost_after_the_handler_ran_is_logged_not_raised(
        self, own_redis_server: RedisServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The handler's answer still goes out; the claim expires with its lease."""
        dedupe = Deduplicator(RedisStore.from_url(own_redis_server.url, socket_connect_timeout=2))
        succeeded, failed = dedupe.begin(DELIVERY), dedupe.begin(VerifiedWebhook(1, b"{}"))
        own_redis_server.stop()
        with caplog.at_level(logging.ERROR, logger="tower_webhooks.dedupe"):
            succeeded.finish(200)
            failed.finish(500)
        assert "was handled but could not be marked done" in caplog.text
        assert "could not release delivery" in caplog.text


class TestAsyncio:
    """abegin() and afinish() for ASGI apps, on an asyncio store or a non-blocking one."""

    def test_with_a_memory_store(self, dedupe: Deduplicator) -> None:
        """MemoryStore never waits on I/O, so ASGI apps can use it directly."""

        async def scenario() -> None:
            first = await dedupe.abegin(DELIVERY)
            assert runs(first)
            assert early_status(await dedupe.abegin(RETRY)) == 409
            await first.afinish(200)
            assert early_status(await dedupe.abegin(RETRY)) == 200

        asyncio.run(scenario())

    def test_with_the_asyncio_redis_store(self, redis_server: RedisServer, redis_client: object) -> None:
        """The same semantics over AsyncRedisStore, released on failure and done on 200."""

        async def scenario() -> None:
            store = AsyncRedisStore.from_url(redis_server.url)
            dedupe = Deduplicator(store)
            assert dedupe.is_async
            await (await dedupe.abegin(DELIVERY)).afinish(500)
            first = await dedupe.abegin(RETRY)
            assert runs(first)
            assert early_status(await dedupe.abegin(RETRY)) == 409
            await first.afinish(200)
            assert early_status(await dedupe.abegin(RETRY)) == 200
            await store._client.aclose()

        asyncio.run(scenario())

    def test_an_asyncio_store_refuses_the_blocking_calls(self, redis_server: RedisServer) -> None:
        """begin() and finish() on an asyncio store are programming errors that name the fix."""
        store = AsyncRedisStore.from_url(redis_server.url)
        dedupe = Deduplicator(store)
        with pytest.raises(TypeError, match=r"asyncio store: call abegin\(\)"):
            dedupe.begin(DELIVERY)

        async def claim() -> Admission:
            admission = await dedupe.abegin(VerifiedWebhook(1, b'{"unique": 1}'))
            await store._client.aclose()
            return admission

        admission = asyncio.run(claim())
        with pytest.raises(TypeError, match=r"asyncio store: call afinish\(\)"):
            admission.finish(500)

        async def settle() -> None:  # as the TypeError says: it still settles the claim
            await admission.afinish(500)
            assert runs(await dedupe.abegin(VerifiedWebhook(1, b'{"unique": 1}')))  # released
            await store._client.aclose()

        asyncio.run(settle())


def test_importing_dedupe_loads_no_store_client() -> None:
    """`import tower_webhooks.dedupe` imports neither redis nor Django: they are optional."""
    code = (
        "import sys, tower_webhooks.dedupe;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('redis', 'django')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
