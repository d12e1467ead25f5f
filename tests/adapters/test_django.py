"""The Django decorator, through Django's Client and AsyncClient with CSRF checks enforced."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import django
import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction
from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, RequestFactory, override_settings
from django.urls import path
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from tests.django_settings import configure_django
from tower_webhooks import InvalidSecretError
from tower_webhooks.adapters.django import verify_tower_webhook
from tower_webhooks.dedupe import Deduplicator, MemoryStore
from tower_webhooks.dedupe.redis import AsyncRedisStore, RedisStore

from .contract import PRETTY, AdapterContract, Answer, ConfiguredSecretContract, Received, Recorder, signed
from .dedupe_contract import UNREACHABLE_REDIS_URL, DedupeContract, handle

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

configure_django()

RECORDER = Recorder()


def record(request: HttpRequest, status: int = 200) -> HttpResponse:
    RECORDER.received.append(Received(request.body, request.tower_webhook))  # type: ignore[attr-defined]
    return HttpResponse("ok", status=status)


@verify_tower_webhook
def hook(request: HttpRequest) -> HttpResponse:
    return record(request)


@verify_tower_webhook()
async def hook_async(request: HttpRequest) -> HttpResponse:
    return record(request)


def accepted(request: HttpRequest) -> HttpResponse:
    return record(request, 202)


# Decorated afresh for each test: the warning is once per decorated view, and the contract runs twice.
FRESH: dict[str, Callable[[HttpRequest], HttpResponse]] = {}


@verify_tower_webhook(max_body_bytes=64)
def small(request: HttpRequest) -> HttpResponse:
    return record(request)


def post_first(view: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        assert request.POST  # parsing the form reads the body
        return view(request)

    return wrapper


class HookView(View):
    def post(self, request: HttpRequest) -> HttpResponse:
        return record(request)


class AsyncHookView(View):
    async def post(self, request: HttpRequest) -> HttpResponse:
        return record(request)


def unprotected(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


DEDUPE = Deduplicator(MemoryStore())
UNREACHABLE = RedisStore.from_url(UNREACHABLE_REDIS_URL, socket_connect_timeout=1)


def run(request: HttpRequest) -> HttpResponse:
    RECORDER.received.append(Received(request.body, request.tower_webhook))  # type: ignore[attr-defined]
    return HttpResponse(status=handle(request.tower_webhook))  # type: ignore[attr-defined]


@verify_tower_webhook(dedupe=DEDUPE)
def deduped(request: HttpRequest) -> HttpResponse:
    return run(request)


@verify_tower_webhook(dedupe=DEDUPE)
async def deduped_async(request: HttpRequest) -> HttpResponse:
    return run(request)


@verify_tower_webhook(dedupe=Deduplicator(UNREACHABLE))
def deduped_down(request: HttpRequest) -> HttpResponse:
    return run(request)


@verify_tower_webhook(dedupe=Deduplicator(UNREACHABLE, fail_open=True))
def deduped_open(request: HttpRequest) -> HttpResponse:
    return run(request)


urlpatterns = [
    path("hook", hook),
    path("hook-async", hook_async),
    path("accepted", csrf_exempt(lambda request: FRESH["accepted"](request))),  # noqa: PLW0108 - looked up per call
    path("small", small),
    path("consumed", post_first(hook)),
    path("class", verify_tower_webhook(HookView.as_view())),
    path("class-async", verify_tower_webhook(AsyncHookView.as_view())),
    path("unprotected", unprotected),
    path("deduped", deduped),
    path("deduped-async", deduped_async),
    path("deduped-down", deduped_down),
    path("deduped-open", deduped_open),
]


@pytest.fixture(autouse=True)
def django_settings(secret: str) -> Iterator[None]:
    with override_settings(
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["testserver"],
        MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"],
        TOWER_WEBHOOK_SECRET=secret,
    ):
        RECORDER.received.clear()
        FRESH["accepted"] = verify_tower_webhook(accepted)
        yield


class DjangoDriver:
    received = RECORDER.received
    dedupe = DEDUPE

    def __init__(self, client: Client | AsyncClient) -> None:
        self.client = client

    def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        others = {name: value for name, value in headers.items() if name.lower() != "content-type"}
        content_type = next(value for name, value in headers.items() if name.lower() == "content-type")
        if isinstance(self.client, AsyncClient):
            client = self.client

            async def send() -> Any:
                return await client.generic("POST", path, body, content_type, headers=others)

            response = async_to_sync(send)()
        else:
            response = self.client.generic("POST", path, body, content_type, headers=others)
        return Answer(response.status_code, response.content, {k.lower(): v for k, v in response.items()})


class TestDjangoContract(AdapterContract, ConfiguredSecretContract):
    @pytest.fixture
    def driver(self) -> DjangoDriver:
        return DjangoDriver(Client(enforce_csrf_checks=True))

    @pytest.fixture
    def configure(self) -> Iterator[Callable[[str | None], None]]:
        with override_settings():  # undoes configure() on exit

            def configure(value: str | None) -> None:
                if value is None:
                    del settings.TOWER_WEBHOOK_SECRET
                else:
                    settings.TOWER_WEBHOOK_SECRET = value

            yield configure


class TestDjangoAsyncClientContract(AdapterContract):
    """The same contract under Django's ASGI handler."""

    @pytest.fixture
    def driver(self) -> DjangoDriver:
        return DjangoDriver(AsyncClient(enforce_csrf_checks=True))


class TestDjangoDedupe(DedupeContract):
    @pytest.fixture
    def deduped(self) -> DjangoDriver:
        return DjangoDriver(Client(enforce_csrf_checks=True))


class TestDjangoAsyncClientDedupe(DedupeContract):
    @pytest.fixture
    def deduped(self) -> DjangoDriver:
        return DjangoDriver(AsyncClient(enforce_csrf_checks=True))


def test_a_sync_view_refuses_an_asyncio_dedupe_store() -> None:
    """A sync view cannot await an asyncio store: refused when the view is decorated, naming the fix."""
    asyncio_store = Deduplicator(AsyncRedisStore.from_url(UNREACHABLE_REDIS_URL))
    with pytest.raises(TypeError, match=r"is a sync view.*RedisStore rather than AsyncRedisStore"):
        verify_tower_webhook(dedupe=asyncio_store)(unprotected)
    verify_tower_webhook(dedupe=asyncio_store)(hook_async.__wrapped__)  # type: ignore[attr-defined]


def post(path: str, body: bytes, headers: Mapping[str, str], client: Client | None = None) -> Answer:
    return DjangoDriver(client or Client(enforce_csrf_checks=True)).post(path, body, headers)


def test_csrf_is_enforced_for_views_the_adapter_does_not_wrap(secret: str) -> None:
    """The test client enforces CSRF: an unwrapped view is refused, so the contract's 200s prove the exemption."""
    assert post("/unprotected", PRETTY, signed(secret, PRETTY)).status == 403


@pytest.mark.parametrize("url", ["/class", "/class-async"])
def test_class_based_views(secret: str, url: str) -> None:
    """SomeView.as_view() results, sync and async, verify like function views."""
    assert post(url, PRETTY, signed(secret, PRETTY)).status == 200
    assert [received.body for received in RECORDER.received] == [PRETTY]


def test_async_views_stay_coroutine_functions_and_sync_views_stay_sync() -> None:
    """Django chooses how to call a view by whether it is a coroutine function: that is preserved."""
    assert iscoroutinefunction(hook_async)
    assert not iscoroutinefunction(hook)
    assert iscoroutinefunction(urlpatterns[6].callback)
    assert not iscoroutinefunction(urlpatterns[5].callback)


def test_only_post_is_allowed(secret: str) -> None:
    """Other methods get 405 with Allow: POST, and the view never runs."""
    response = Client().get("/hook")
    assert (response.status_code, response["Allow"]) == (405, "POST")
    assert RECORDER.received == []


def test_data_upload_max_memory_size_is_a_413_naming_the_setting(secret: str) -> None:
    """Django's own body limit (RequestDataTooBig) ends in our 413, never a 400 or a 500."""
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100):
        answer = post("/hook", PRETTY, signed(secret, PRETTY))
    assert (answer.status, answer.json()["error"]) == (413, "body_too_large")
    assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in answer.json()["detail"]


def test_a_chunked_body_under_wsgi_is_named_unavailable(secret: str) -> None:
    """Django's WSGI handler drops a body without Content-Length: 411 saying so, not a mismatch."""
    headers = {**signed(secret, PRETTY), "Transfer-Encoding": "chunked"}
    environ = RequestFactory().generic("POST", "/hook", PRETTY, "application/json", headers=headers).environ
    del environ["CONTENT_LENGTH"]
    response = hook(WSGIRequest(environ))
    assert response.status_code == 411
    assert b"body_unavailable" in response.content


@pytest.mark.parametrize("length", ["\u00b2", "9" * 5000])
def test_a_strange_content_length_is_no_server_error(secret: str, length: str) -> None:
    """Regression: a Content-Length that str.isdigit() accepts but int() refuses was a 500 (runserver)."""
    environ = (
        RequestFactory().generic("POST", "/hook", PRETTY, "application/json", headers=signed(secret, PRETTY)).environ
    )
    environ["CONTENT_LENGTH"] = length
    response = hook(WSGIRequest(environ))
    assert response.status_code == 411  # Django's own request.body raises ValueError on it
    assert b"not a plain number" in response.content


def test_a_content_length_after_unicode_whitespace_is_not_plain(secret: str) -> None:
    """Only spaces and tabs may surround a Content-Length (RFC 9110): after a NEL it is 411, as in the Flask adapter.

    Django's ``int()`` would read it (and it verified); Werkzeug reads it as 0.
    """
    environ = (
        RequestFactory().generic("POST", "/hook", PRETTY, "application/json", headers=signed(secret, PRETTY)).environ
    )
    environ["CONTENT_LENGTH"] = f"\u0085{len(PRETTY)}"
    response = hook(WSGIRequest(environ))
    assert response.status_code == 411
    assert b"not a plain number" in response.content


@pytest.mark.skipif(django.VERSION < (5, 1), reason="LoginRequiredMiddleware is new in Django 5.1")
def test_login_required_middleware_lets_webhooks_through(secret: str) -> None:
    """Tower never logs in: the view is exempt from LoginRequiredMiddleware."""
    middleware = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.auth.middleware.LoginRequiredMiddleware",
    ]
    with override_settings(MIDDLEWARE=middleware):
        assert post("/unprotected", PRETTY, signed(secret, PRETTY)).status == 302
        assert post("/hook", PRETTY, signed(secret, PRETTY)).status == 200


def test_an_invalid_secret_in_code_fails_at_start_up() -> None:
    """secret= is checked when the decorator is applied."""
    with pytest.raises(InvalidSecretError):
        verify_tower_webhook(secret="")


def test_the_webhook_is_on_the_request(secret: str) -> Any:
    """request.tower_webhook holds the verified webhook, whose JSON the view can parse."""
    post("/hook", PRETTY, signed(secret, PRETTY))
    assert RECORDER.received[0].webhook.json()["data"]["run"]["app_name"] == "rapport-qualité-données"
