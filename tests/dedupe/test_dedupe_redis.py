"""RedisStore and AsyncRedisStore against a real redis-server: the contract, TTLs, outages."""

from __future__ import annotations

import asyncio
import gc
import importlib
import sys
import uuid
from typing import TYPE_CHECKING

import pytest
import redis
import redis.asyncio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from tower_webhooks import generate_secret, sign
from tower_webhooks.adapters.starlette import TowerWebhookMiddleware
from tower_webhooks.dedupe import Claim, Deduplicator, StoreUnavailableError
from tower_webhooks.dedupe.redis import AsyncRedisStore, RedisStore

from .store_contract import Harness, StoreContract, SyncView, sleeper

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .conftest import RedisServer

SHORT_MS = 100  # Redis expires to the millisecond, so the waits stay short.


class TestRedisStore(StoreContract):
    @pytest.fixture
    def harness(self, redis_client: redis.Redis) -> Harness:
        return Harness(RedisStore(redis_client), SHORT_MS, sleeper())

    def test_every_key_has_a_ttl(self, redis_client: redis.Redis) -> None:
        """A claim lives at most its lease, a done mark at most its retention: no key is immortal."""
        store = RedisStore(redis_client)
        store.claim("claimed", "a", lease_ms=60_000)
        store.claim("done", "a", lease_ms=60_000)
        store.complete("done", "a", retention_ms=86_400_000)
        assert 59_000 < redis_client.pttl("claimed") <= 60_000
        assert 86_399_000 < redis_client.pttl("done") <= 86_400_000

    def test_a_retried_claim_keeps_its_own_lease(self, redis_client: redis.Redis) -> None:
        """A client that retries a claim after a lost reply gets it, rather than locking itself out."""
        store = RedisStore(redis_client)
        store.claim("k", "a", lease_ms=60_000)
        assert store.claim("k", "a", lease_ms=60_000) == Claim("claimed")
        assert store.claim("k", "b", lease_ms=60_000).state == "in_progress"

    def test_works_with_decoded_responses(self, redis_server: RedisServer, redis_client: redis.Redis) -> None:
        """A client built with decode_responses=True reads the same states."""
        client = redis.Redis(port=redis_server.port, decode_responses=True)
        store = RedisStore(client)
        store.claim("k", "a", lease_ms=60_000)
        assert store.claim("k", "b", lease_ms=60_000).state == "in_progress"
        store.complete("k", "a", retention_ms=60_000)
        assert store.claim("k", "b", lease_ms=60_000) == Claim("done")
        client.close()

    def test_from_url_sets_socket_timeouts(self, redis_server: RedisServer, redis_client: redis.Redis) -> None:
        """from_url() connects with bounded socket timeouts unless told otherwise."""
        store = RedisStore.from_url(redis_server.url)
        assert store.claim("k", "a", lease_ms=60_000) == Claim("claimed")
        assert "RedisStore(" in repr(store)
        pool_options = store._client.connection_pool.connection_kwargs
        assert pool_options["socket_timeout"] == 5.0
        assert (
            RedisStore.from_url(redis_server.url, socket_timeout=1)._client.connection_pool.connection_kwargs[
                "socket_timeout"
            ]
            == 1
        )


class TestAsyncRedisStore(StoreContract):
    @pytest.fixture
    def harness(self, redis_server: RedisServer, redis_client: redis.Redis) -> Iterator[Harness]:
        loop = asyncio.new_event_loop()
        client = redis.asyncio.Redis(port=redis_server.port)
        yield Harness(SyncView(AsyncRedisStore(client), loop), SHORT_MS, sleeper())
        loop.run_until_complete(client.aclose())
        loop.close()


def test_unreachable_server_raises_store_unavailable(own_redis_server: RedisServer) -> None:
    """Every operation on a stopped server raises StoreUnavailableError, chained to redis-py's error."""
    store = RedisStore.from_url(own_redis_server.url, socket_connect_timeout=2)
    own_redis_server.stop()
    for operation in (
        lambda: store.claim("k", "a", lease_ms=1_000),
        lambda: store.complete("k", "a", retention_ms=1_000),
        lambda: store.release("k", "a"),
    ):
        with pytest.raises(StoreUnavailableError, match="Redis: ConnectionError") as caught:
            operation()
        assert isinstance(caught.value.__cause__, redis.ConnectionError)


def test_async_unreachable_server_raises_store_unavailable(own_redis_server: RedisServer) -> None:
    """The asyncio store reports an outage the same way."""
    store = AsyncRedisStore.from_url(own_redis_server.url, socket_connect_timeout=2)
    own_redis_server.stop()

    async def each_operation() -> None:
        for operation in (
            store.claim("k", "a", lease_ms=1_000),
            store.complete("k", "a", retention_ms=1_000),
            store.release("k", "a"),
        ):
            with pytest.raises(StoreUnavailableError, match="Redis: ConnectionError"):
                await operation

    asyncio.run(each_operation())


def test_a_restarted_server_is_used_again(own_redis_server: RedisServer) -> None:
    """The same store object recovers once Redis is back: no restart of the app is needed."""
    store = RedisStore.from_url(own_redis_server.url, socket_connect_timeout=2)
    own_redis_server.stop()
    with pytest.raises(StoreUnavailableError):
        store.claim("k", "a", lease_ms=1_000)
    own_redis_server.start()
    assert store.claim("k", "a", lease_ms=1_000) == Claim("claimed")


def test_stale_pooled_connections_after_a_restart_are_not_an_outage(own_redis_server: RedisServer) -> None:
    """After Redis restarts, every pooled connection is stale: each is retried once, not reported down."""

    async def scenario() -> list[Claim]:
        store = AsyncRedisStore.from_url(own_redis_server.url, socket_connect_timeout=2, retry=None)
        await asyncio.gather(*(store.claim(f"before:{index}", "a", lease_ms=60_000) for index in range(5)))
        own_redis_server.stop()
        own_redis_server.start()
        claims = await asyncio.gather(*(store.claim(f"after:{index}", "a", lease_ms=60_000) for index in range(5)))
        await store._client.aclose()
        return claims

    assert asyncio.run(scenario()) == [Claim("claimed")] * 5


def test_missing_redis_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without redis-py installed, importing the module says which extra to install."""
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.delitem(sys.modules, "tower_webhooks.dedupe.redis")
    with pytest.raises(ImportError, match=r"pip install 'tower-webhooks\[redis\]'"):
        importlib.import_module("tower_webhooks.dedupe.redis")


@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_asyncio_store_serves_one_test_client_after_another(redis_server: RedisServer) -> None:
    """Each ``with TestClient(app)`` (a fixture per test) runs its own event loop, as does each request without one.

    A redis.asyncio client's pooled connection from a closed loop raised ``RuntimeError: Event loop is
    closed``: the first webhook under each later client was a 500. from_url() stores connect anew per loop.
    """
    secret, store, handled = generate_secret(), AsyncRedisStore.from_url(redis_server.url), []

    async def hook(request: Request) -> Response:
        handled.append(await request.body())
        return Response()

    app = Starlette(
        routes=[Route("/hook", hook, methods=["POST"])],
        middleware=[Middleware(TowerWebhookMiddleware, secret=secret, paths=["/hook"], dedupe=Deduplicator(store))],
    )
    bodies = [uuid.uuid4().bytes.hex().encode() for _ in range(5)]
    statuses = []
    for pair in (bodies[0:2], bodies[2:4]):
        with TestClient(app) as client:
            statuses += [client.post("/hook", content=body, headers=sign(secret, body)).status_code for body in pair]
    statuses.append(TestClient(app).post("/hook", content=bodies[4], headers=sign(secret, bodies[4])).status_code)
    assert statuses == [200] * 5
    assert handled == bodies
    del store, app, client
    gc.collect()  # the clients' connections died with their loops: warnings about them come now, not later
