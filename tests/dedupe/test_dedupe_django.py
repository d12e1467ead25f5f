"""DjangoCacheStore on Django's own cache backends: Redis (real server), local memory, and refusals."""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

import pytest
from django.core.cache import cache as default_cache_proxy
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.test import override_settings

from tests.django_settings import configure_django
from tower_webhooks.dedupe import Claim, StoreUnavailableError
from tower_webhooks.dedupe.django import DjangoCacheStore

from .store_contract import Harness, StoreContract, sleeper

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import redis

    from .conftest import RedisServer


def local_memory_store() -> DjangoCacheStore:
    with pytest.warns(RuntimeWarning, match="LocMemCache is per process"):
        return DjangoCacheStore(LocMemCache("tower-webhooks-tests", {}))


class TestDjangoRedisCache(StoreContract):
    """The full contract on Django's Redis backend; its timeouts are whole seconds, so waits are too."""

    @pytest.fixture
    def harness(self, redis_server: RedisServer, redis_client: redis.Redis) -> Harness:
        return Harness(DjangoCacheStore(RedisCache(redis_server.url, {})), 1_000, sleeper())

    def test_a_lease_is_rounded_up_to_whole_seconds(self, redis_server: RedisServer, redis_client: redis.Redis) -> None:
        """Django truncates timeouts to seconds; the store rounds up, so a lease never gets shorter."""
        store = DjangoCacheStore(RedisCache(redis_server.url, {}))
        store.claim("k", "a", lease_ms=1_500)
        [key] = redis_client.keys("*k")
        assert 1_500 < redis_client.pttl(key) <= 2_000


def test_a_host_whose_clock_runs_ahead_never_asks_for_a_wait_past_the_lease() -> None:
    """Claims carry the holder's wall-clock expiry; an hour's skew asked Tower to wait an hour."""
    cache = LocMemCache("tower-webhooks-skew", {})
    with pytest.warns(RuntimeWarning):
        ahead = DjangoCacheStore(cache, clock=lambda: 1_764_468_000_000 + 3_600_000)
    with pytest.warns(RuntimeWarning):
        behind = DjangoCacheStore(cache, clock=lambda: 1_764_468_000_000)
    ahead.claim("k", "a", lease_ms=60_000)
    assert behind.claim("k", "b", lease_ms=60_000) == Claim("in_progress", 60_000)


class TestDjangoLocalMemoryCache:
    """LocMemCache works within one process, and warns that it is no more than that."""

    def test_claim_duplicate_done_and_release(self) -> None:
        """The basic cycle on the per-process cache."""
        store = local_memory_store()
        assert store.claim("k", "a", lease_ms=60_000) == Claim("claimed")
        assert store.claim("k", "b", lease_ms=60_000).state == "in_progress"
        assert store.complete("k", "a", retention_ms=60_000) is True
        assert store.claim("k", "b", lease_ms=60_000) == Claim("done")
        store.claim("other", "a", lease_ms=60_000)
        assert store.release("other", "b") is False
        assert store.release("other", "a") is True
        assert store.claim("other", "b", lease_ms=60_000) == Claim("claimed")


def test_dummy_cache_is_refused() -> None:
    """DummyCache accepts every add(), so every duplicate would run: a configuration error."""
    with pytest.raises(ValueError, match="DummyCache stores nothing"):
        DjangoCacheStore(DummyCache("dummy", {}))


def test_file_based_cache_warns_that_add_is_not_atomic(tmp_path: Path) -> None:
    """FileBasedCache checks then writes, so two workers can both claim: warned at construction."""
    with pytest.warns(RuntimeWarning, match=r"FileBasedCache.add\(\) is not atomic"):
        DjangoCacheStore(FileBasedCache(str(tmp_path), {}))


@pytest.fixture
def configured_caches(redis_server: RedisServer, redis_client: redis.Redis) -> Iterator[None]:
    configure_django()
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_server.url},
        "dummy": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    }
    with override_settings(CACHES=caches):
        yield


@pytest.mark.usefixtures("configured_caches")
def test_an_alias_is_looked_up_in_settings() -> None:
    """An alias from settings.CACHES is checked at construction and used on every call."""
    store = DjangoCacheStore("default")
    assert repr(store) == "DjangoCacheStore('default')"
    assert store.claim("k", "a", lease_ms=60_000) == Claim("claimed")
    assert store.claim("k", "b", lease_ms=60_000).state == "in_progress"
    with pytest.raises(ValueError, match="DummyCache"):
        DjangoCacheStore("dummy")


def test_the_cache_proxy_is_refused_with_the_fix() -> None:
    """django.core.cache.cache is a proxy, not a backend: the error says to pass the alias."""
    with pytest.raises(TypeError, match='pass "default"'):
        DjangoCacheStore(default_cache_proxy)


def test_unreachable_cache_raises_store_unavailable(own_redis_server: RedisServer) -> None:
    """A cache server that is down makes every operation raise StoreUnavailableError."""
    store = DjangoCacheStore(RedisCache(own_redis_server.url, {"OPTIONS": {"socket_connect_timeout": 2}}))
    own_redis_server.stop()
    for operation in (
        lambda: store.claim("k", "a", lease_ms=1_000),
        lambda: store.complete("k", "a", retention_ms=1_000),
        lambda: store.release("k", "a"),
    ):
        with pytest.raises(StoreUnavailableError, match="Django cache: ConnectionError"):
            operation()


def test_missing_django_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without Django installed, importing the module says which extra to install."""
    monkeypatch.setitem(sys.modules, "django.core.cache", None)
    monkeypatch.delitem(sys.modules, "tower_webhooks.dedupe.django")
    with pytest.raises(ImportError, match=r"pip install 'tower-webhooks\[django\]'"):
        importlib.import_module("tower_webhooks.dedupe.django")
