"""The Starlette middleware, verify_request and the FastAPI dependency, through their test clients and raw ASGI."""

# No ``from __future__ import annotations``: FastAPI must evaluate the endpoints' annotations, which
# refer to dependencies local to the functions that build the apps.
import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tower_webhooks import InvalidSecretError, VerifiedWebhook, generate_secret
from tower_webhooks.adapters.starlette import (
    TowerWebhook,
    TowerWebhookMiddleware,
    WebhookRejected,
    verify_request,
    webhook_rejected_handler,
)
from tower_webhooks.dedupe import Deduplicator, MemoryStore
from tower_webhooks.dedupe.redis import AsyncRedisStore

from .contract import PRETTY, AdapterContract, Answer, Received, Recorder, signed
from .dedupe_contract import UNREACHABLE_REDIS_URL, DedupeContract, handle

PATHS = ["/hook", "/hook-async", "/accepted", "/consumed"]


class Drain:
    """A buggy outer middleware: it reads the body of /consumed and passes on an empty one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/consumed":
            while (await receive()).get("more_body"):
                pass

            async def drained() -> Message:
                return {"type": "http.request", "body": b"", "more_body": False}

            receive = drained
        await self.app(scope, receive, send)


def middleware(secret: str) -> list[Middleware]:
    return [
        Middleware(Drain),
        Middleware(TowerWebhookMiddleware, secret=secret, paths=PATHS),
        Middleware(TowerWebhookMiddleware, secret=secret, paths=["/small"], max_body_bytes=64),
    ]


def build_starlette(secret: str, recorder: Recorder) -> Starlette:
    async def hook(request: Request) -> Response:
        recorder.received.append(Received(await request.body(), request.state.tower_webhook))
        return PlainTextResponse("ok")

    async def accepted(request: Request) -> Response:
        await hook(request)
        return Response(status_code=202)

    routes = [Route(path, hook, methods=["POST"]) for path in ["/hook", "/hook-async", "/small", "/consumed"]]
    return Starlette(routes=[*routes, Route("/accepted", accepted, methods=["POST"])], middleware=middleware(secret))


def build_fastapi(secret: str, recorder: Recorder) -> FastAPI:
    app = FastAPI(middleware=middleware(secret))

    @app.post("/hook")
    @app.post("/small")
    @app.post("/consumed")
    def hook(request: Request) -> Response:  # a sync endpoint: FastAPI runs it in a thread
        recorder.received.append(Received(request.state.tower_webhook.body, request.state.tower_webhook))
        return PlainTextResponse("ok")

    @app.post("/hook-async")
    async def hook_async(request: Request) -> Response:
        recorder.received.append(Received(await request.body(), request.state.tower_webhook))
        return PlainTextResponse("ok")

    @app.post("/accepted", status_code=202)
    async def accepted(request: Request) -> None:
        await hook_async(request)

    return app


def deduped_middleware(secret: str, dedupe: Deduplicator) -> list[Middleware]:
    unreachable = AsyncRedisStore.from_url(UNREACHABLE_REDIS_URL, socket_connect_timeout=1)
    return [
        Middleware(TowerWebhookMiddleware, secret=secret, paths=["/deduped", "/deduped-async"], dedupe=dedupe),
        Middleware(TowerWebhookMiddleware, secret=secret, paths=["/deduped-down"], dedupe=Deduplicator(unreachable)),
        Middleware(
            TowerWebhookMiddleware,
            secret=secret,
            paths=["/deduped-open"],
            dedupe=Deduplicator(unreachable, fail_open=True),
        ),
    ]


def build_deduped_starlette(secret: str, recorder: Recorder, dedupe: Deduplicator) -> Starlette:
    async def deduped(request: Request) -> Response:
        recorder.received.append(Received(await request.body(), request.state.tower_webhook))
        return Response(status_code=handle(request.state.tower_webhook))

    paths = ["/deduped", "/deduped-async", "/deduped-down", "/deduped-open"]
    return Starlette(
        routes=[Route(path, deduped, methods=["POST"]) for path in paths],
        middleware=deduped_middleware(secret, dedupe),
    )


def build_deduped_fastapi(secret: str, recorder: Recorder, dedupe: Deduplicator) -> FastAPI:
    app = FastAPI(middleware=deduped_middleware(secret, dedupe))

    @app.post("/deduped")
    @app.post("/deduped-down")
    @app.post("/deduped-open")
    def deduped(request: Request) -> Response:  # a sync endpoint: FastAPI runs it in a thread
        recorder.received.append(Received(request.state.tower_webhook.body, request.state.tower_webhook))
        return Response(status_code=handle(request.state.tower_webhook))

    @app.post("/deduped-async")
    async def deduped_async(request: Request) -> Response:
        recorder.received.append(Received(await request.body(), request.state.tower_webhook))
        return Response(status_code=handle(request.state.tower_webhook))

    return app


class AsgiDriver:
    dedupe: Deduplicator

    def __init__(self, app: ASGIApp, recorder: Recorder) -> None:
        self.client = TestClient(app)
        self.received = recorder.received

    def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        response = self.client.post(path, content=body, headers=dict(headers))
        return Answer(response.status_code, response.content, dict(response.headers))


class TestStarletteContract(AdapterContract):
    @pytest.fixture
    def driver(self, secret: str) -> AsgiDriver:
        recorder = Recorder()
        return AsgiDriver(build_starlette(secret, recorder), recorder)


class TestFastAPIContract(AdapterContract):
    @pytest.fixture
    def driver(self, secret: str) -> AsgiDriver:
        recorder = Recorder()
        return AsgiDriver(build_fastapi(secret, recorder), recorder)


class TestStarletteDedupe(DedupeContract):
    @pytest.fixture
    def deduped(self, secret: str) -> AsgiDriver:
        recorder, dedupe = Recorder(), Deduplicator(MemoryStore())
        driver = AsgiDriver(build_deduped_starlette(secret, recorder, dedupe), recorder)
        driver.dedupe = dedupe
        return driver


class TestFastAPIDedupe(DedupeContract):
    @pytest.fixture
    def deduped(self, secret: str) -> AsgiDriver:
        recorder, dedupe = Recorder(), Deduplicator(MemoryStore())
        driver = AsgiDriver(build_deduped_fastapi(secret, recorder, dedupe), recorder)
        driver.dedupe = dedupe
        return driver


@pytest.fixture
def app(secret: str) -> Starlette:
    return build_starlette(secret, Recorder())


async def call(app: ASGIApp, scope: Scope, messages: list[Message]) -> tuple[list[Message], list[Message]]:
    """Run one ASGI call with these incoming messages; return what was sent and what was never received."""
    pending = list(messages)
    sent: list[Message] = []

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        await asyncio.sleep(3600)  # like a server whose client went quiet
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), timeout=30)  # a hang fails instead of blocking the suite
    return sent, pending


def http_scope(secret: str, body: bytes, path: str = "/hook", **sign_options: Any) -> Scope:
    headers = [(name.lower().encode(), value.encode()) for name, value in signed(secret, body, **sign_options).items()]
    return {"type": "http", "method": "POST", "path": path, "headers": headers, "query_string": b""}


def chunks(body: bytes, size: int) -> list[Message]:
    parts = [body[start : start + size] for start in range(0, len(body), size)]
    return [
        {"type": "http.request", "body": part, "more_body": index < len(parts) - 1} for index, part in enumerate(parts)
    ]


def test_a_body_in_many_messages_verifies(app: Starlette, secret: str) -> None:
    """A body split over many http.request messages is joined, verified and replayed whole."""
    sent, _ = asyncio.run(call(app, http_scope(secret, PRETTY), chunks(PRETTY, 50)))
    assert sent[0]["status"] == 200


def test_a_chunked_body_over_the_limit_stops_being_read(app: Starlette, secret: str) -> None:
    """Without Content-Length the limit is checked while reading: 413 with connection: close, the rest unread."""
    sent, unread = asyncio.run(call(app, http_scope(secret, PRETTY, "/small"), chunks(PRETTY, 40)))
    assert sent[0]["status"] == 413
    assert (b"connection", b"close") in sent[0]["headers"]
    assert len(unread) == len(chunks(PRETTY, 40)) - 2  # stopped at 80 bytes


def test_a_body_over_the_limit_in_one_message_is_refused_too(app: Starlette, secret: str) -> None:
    """Without Content-Length, a body that comes whole in one message is capped as well: 413, connection: close."""
    sent, _ = asyncio.run(call(app, http_scope(secret, PRETTY, "/small"), chunks(PRETTY, len(PRETTY))))
    assert sent[0]["status"] == 413
    assert (b"connection", b"close") in sent[0]["headers"]


def test_a_declared_length_over_the_limit_closes_the_connection(app: Starlette, secret: str) -> None:
    """A Content-Length over the limit gets 413 and connection: close, since the body stays unread."""
    response = TestClient(app).post("/small", content=PRETTY, headers=signed(secret, PRETTY))
    assert response.status_code == 413
    assert response.headers["connection"] == "close"


@pytest.mark.parametrize(
    "length", ["\u00b2", "9" * 5000, "-5", "1e3"], ids=["superscript", "5000-digits", "sign", "exp"]
)
def test_a_strange_content_length_is_no_server_error(app: Starlette, secret: str, length: str) -> None:
    """Regression: a Content-Length that str.isdigit() accepts but int() refuses was a 500."""
    scope = http_scope(secret, PRETTY)
    scope["headers"].append((b"content-length", length.encode("latin-1")))
    sent, _ = asyncio.run(call(app, scope, chunks(PRETTY, 4096)))
    assert sent[0]["status"] == 200


def test_transfer_encoding_overrides_content_length(app: Starlette, secret: str) -> None:
    """Regression: a chunked body with a stale Content-Length was a 500 'body consumed'; the server reads the chunks."""
    scope = http_scope(secret, PRETTY)
    scope["headers"] += [(b"content-length", b"5"), (b"transfer-encoding", b"chunked")]
    sent, _ = asyncio.run(call(app, scope, chunks(PRETTY, 100)))
    assert sent[0]["status"] == 200


def test_a_client_that_leaves_mid_body_causes_no_hang(secret: str) -> None:
    """A disconnect before the body is complete ends the call: nothing sent, the endpoint never called."""
    endpoint_calls: list[Scope] = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        endpoint_calls.append(scope)

    middleware = TowerWebhookMiddleware(endpoint, secret=secret, paths=["/hook"])
    messages: list[Message] = [{"type": "http.request", "body": PRETTY[:100], "more_body": True}]
    sent, _ = asyncio.run(call(middleware, http_scope(secret, PRETTY), [*messages, {"type": "http.disconnect"}]))
    assert (sent, endpoint_calls) == ([], [])


@pytest.mark.parametrize("wrap", [bytearray, memoryview], ids=["bytearray", "memoryview"])
def test_a_body_in_one_message_reaches_the_app_as_bytes(secret: str, wrap: Callable[[bytes], object]) -> None:
    """Regression: a server's bytearray in one message went to the app as it was, so the server could change it after
    verification; it is copied to bytes, as a body in several messages is by joining them."""
    bodies: list[object] = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        bodies.append((await receive())["body"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    middleware = TowerWebhookMiddleware(endpoint, secret=secret, paths=["/hook"])
    message: Message = {"type": "http.request", "body": wrap(PRETTY), "more_body": False}
    sent, _ = asyncio.run(call(middleware, http_scope(secret, PRETTY), [message]))
    assert sent[0]["status"] == 200
    assert [type(body) for body in bodies] == [bytes]
    assert bodies == [PRETTY]


def test_a_client_that_leaves_before_the_body_causes_no_hang(secret: str) -> None:
    """A disconnect as the first message ends the call too: nothing sent, the endpoint never called."""
    endpoint_calls: list[Scope] = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        endpoint_calls.append(scope)

    middleware = TowerWebhookMiddleware(endpoint, secret=secret, paths=["/hook"])
    sent, _ = asyncio.run(call(middleware, http_scope(secret, PRETTY), [{"type": "http.disconnect"}]))
    assert (sent, endpoint_calls) == ([], [])


@pytest.mark.parametrize("scope", [{"type": "lifespan"}, {"type": "websocket", "path": "/hook"}])
def test_other_scopes_pass_through_untouched(secret: str, scope: Scope) -> None:
    """Lifespan and websocket scopes reach the app with the very same scope, receive and send."""
    seen: list[tuple[Scope, Receive, Send]] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope, receive, send))

    async def receive() -> Message:
        raise AssertionError("the middleware must not receive")

    async def send(message: Message) -> None:
        raise AssertionError("the middleware must not send")

    asyncio.run(TowerWebhookMiddleware(inner, secret=secret, paths=["/hook"])(scope, receive, send))
    assert seen == [(scope, receive, send)]


def test_other_paths_are_not_verified(secret: str) -> None:
    """Only the configured paths are checked; the rest of the app is untouched."""

    async def health(request: Request) -> Response:
        return PlainTextResponse("up")

    app = Starlette(routes=[Route("/health", health, methods=["POST"])], middleware=middleware(secret))
    assert TestClient(app).post("/health", content=b"{}").text == "up"


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
def test_other_methods_to_a_webhook_path_are_405_and_never_reach_the_route(secret: str, method: str) -> None:
    """Regression: a route at a webhook path that also accepts other methods ran them unverified."""
    ran: list[str] = []

    async def hook(request: Request) -> Response:
        ran.append(request.method)
        return PlainTextResponse("ran")

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    app = Starlette(routes=[Route("/hook", hook, methods=methods)], middleware=middleware(secret))
    client = TestClient(app)
    response = client.request(method, "/hook", content=PRETTY, headers=signed(secret, PRETTY))
    assert (response.status_code, response.headers["allow"], response.headers["connection"]) == (405, "POST", "close")
    if method != "HEAD":
        assert response.json()["error"] == "method_not_allowed"
    assert ran == []
    assert client.get("/other").status_code == 404  # other paths still pass through to the router


@pytest.mark.parametrize("paths", [["/webhooks/tower"], ["/api/webhooks/tower"]], ids=["route path", "full path"])
def test_a_mounted_app_verifies_its_paths(secret: str, paths: list[str]) -> None:
    """Regression: in an app mounted under /api, a POST to its route "/webhooks/tower" reached the endpoint unverified.

    Starlette's Mount keeps the prefix in scope["path"] and adds it to root_path; the routes match what follows it.
    """
    ran: list[bool] = []

    async def hook(request: Request) -> Response:
        ran.append(hasattr(request.state, "tower_webhook"))
        return Response(status_code=200)

    inner = Starlette(
        routes=[Route("/webhooks/tower", hook, methods=["POST"])],
        middleware=[Middleware(TowerWebhookMiddleware, secret=secret, paths=paths)],
    )
    client = TestClient(Starlette(routes=[Mount("/api", app=inner)]))
    forged = client.post("/api/webhooks/tower", content=PRETTY)
    assert (forged.status_code, forged.json()["error"], ran) == (400, "missing_header", [])
    assert client.post("/api/webhooks/tower", content=PRETTY, headers=signed(secret, PRETTY)).status_code == 200
    assert ran == [True]


def test_a_root_path_prefix_matches_only_whole_segments(secret: str) -> None:
    """With root_path "/api", "/apix/hook" is not "/hook": it passes through, as the router would not strip it."""
    seen: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["path"])

    scope = {**http_scope(secret, PRETTY), "path": "/apix/hook", "root_path": "/api"}
    asyncio.run(call(TowerWebhookMiddleware(inner, secret=secret, paths=["/hook"]), scope, []))
    assert seen == ["/apix/hook"]


def test_a_secret_that_cannot_be_used_fails_when_the_middleware_is_built() -> None:
    """An invalid secret is a start-up error, never a 400 at delivery time."""
    with pytest.raises(InvalidSecretError):
        TowerWebhookMiddleware(PlainTextResponse("never"), secret="c2hvcnQ=", paths=["/hook"])


def test_paths_must_be_a_collection() -> None:
    """paths="/hook" would silently match single characters: it is refused."""
    with pytest.raises(TypeError, match=r"\['/hook'\]"):
        TowerWebhookMiddleware(PlainTextResponse("never"), secret="x" * 24, paths="/hook")


def manual_app(secret: str) -> Starlette:
    async def manual(request: Request) -> Response:
        webhook = await verify_request(request, secret=secret)
        return JSONResponse({"same": await request.body() == webhook.body})

    async def streamed_first(request: Request) -> Response:
        async for _ in request.stream():
            pass
        await verify_request(request, secret=secret)
        return PlainTextResponse("never")

    routes = [Route("/manual", manual, methods=["POST"]), Route("/streamed", streamed_first, methods=["POST"])]
    return Starlette(routes=routes)


def test_verify_request_keeps_the_body_readable(secret: str) -> None:
    """verify_request returns the webhook and the endpoint can still read the same body."""
    response = TestClient(manual_app(secret)).post("/manual", content=PRETTY, headers=signed(secret, PRETTY))
    assert response.json() == {"same": True}


def test_verify_request_refuses_with_the_reason(secret: str) -> None:
    """A forged request raises WebhookRejected: 400 with the message, the endpoint stops there."""
    response = TestClient(manual_app(secret)).post("/manual", content=b"{}", headers=signed(secret, PRETTY))
    assert response.status_code == 400
    assert "does not match" in response.text


def test_verify_request_names_a_stream_read_before_it(secret: str) -> None:
    """A body already streamed by the endpoint is a 500 saying so, not a signature mismatch."""
    client = TestClient(manual_app(secret), raise_server_exceptions=False)
    response = client.post("/streamed", content=PRETTY, headers=signed(secret, PRETTY))
    assert response.status_code == 500
    assert "already read" in response.text


class Event(BaseModel):
    event_type: str


def dependency_app(secret: str) -> FastAPI:
    app = FastAPI()
    tower_webhook = TowerWebhook(secret=secret)

    @app.post("/typed")
    async def typed(event: Event, webhook: Annotated[VerifiedWebhook, Depends(tower_webhook)]) -> dict[str, Any]:
        return {"event_type": event.event_type, "same": webhook.json()["event_type"] == event.event_type}

    @app.post("/accepted", status_code=202)
    async def accepted(webhook: Annotated[VerifiedWebhook, Depends(tower_webhook)]) -> None:
        pass

    @app.post("/raw")
    async def raw(request: Request, webhook: Annotated[VerifiedWebhook, Depends(tower_webhook)]) -> dict[str, Any]:
        return {"same": await request.body() == webhook.body, "state": request.state.tower_webhook is webhook}

    return app


def test_the_fastapi_dependency_works_with_a_pydantic_body(secret: str) -> None:
    """Depends(TowerWebhook(...)) verifies the same bytes FastAPI parses into the Pydantic model."""
    response = TestClient(dependency_app(secret)).post("/typed", content=PRETTY, headers=signed(secret, PRETTY))
    assert response.json() == {"event_type": "run.finished", "same": True}


def test_the_fastapi_dependency_leaves_the_body_readable(secret: str) -> None:
    """Without a body parameter, the endpoint still reads the verified body, and request.state has it."""
    response = TestClient(dependency_app(secret)).post("/raw", content=PRETTY, headers=signed(secret, PRETTY))
    assert response.json() == {"same": True, "state": True}


def test_the_fastapi_dependency_refuses_with_fastapi_errors(secret: str) -> None:
    """A forged request is a 400 in FastAPI's own error shape, and the endpoint never runs."""
    response = TestClient(dependency_app(secret)).post("/typed", content=PRETTY, headers=signed(secret, b"{}"))
    assert response.status_code == 400
    assert "does not match" in response.json()["detail"]


def test_the_handler_gives_the_dependency_the_adapters_error_shape(secret: str) -> None:
    """With webhook_rejected_handler registered, the dependency refuses with {"error", "detail"} like the middleware."""
    app = dependency_app(secret)
    app.add_exception_handler(WebhookRejected, webhook_rejected_handler)
    response = TestClient(app).post("/typed", content=PRETTY, headers=signed(secret, b"{}"))
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == "signature_mismatch"
    assert "does not match" in response.json()["detail"]


def test_the_handler_gives_verify_request_the_adapters_error_shape(secret: str) -> None:
    """verify_request's refusals get the same JSON shape in a Starlette app with the handler."""

    async def endpoint(request: Request) -> PlainTextResponse:
        await verify_request(request, secret=secret)
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[Route("/hook", endpoint, methods=["POST"])],
        exception_handlers={WebhookRejected: webhook_rejected_handler},
    )
    response = TestClient(app).post(
        "/hook", content=PRETTY, headers={**signed(secret, PRETTY), "X-Tower-Signature": ""}
    )
    assert (response.status_code, response.json()["error"]) == (400, "missing_header")


def test_a_forged_body_that_is_not_json_never_reaches_the_endpoint(secret: str) -> None:
    """FastAPI decodes a JSON body before any dependency: it answers 422 first, and the endpoint never runs."""
    body = b"not json"
    response = TestClient(dependency_app(secret)).post("/typed", content=body, headers=signed(generate_secret(), body))
    assert response.status_code == 422


def test_the_middleware_works_with_a_pydantic_body(secret: str) -> None:
    """The middleware replays the body it verified, so FastAPI can still parse it into a model."""
    app = FastAPI(middleware=[Middleware(TowerWebhookMiddleware, secret=secret, paths=["/typed"])])

    @app.post("/typed")
    async def typed(event: Event, request: Request) -> dict[str, Any]:
        return {"event_type": event.event_type, "verified": request.state.tower_webhook.body == PRETTY}

    response = TestClient(app).post("/typed", content=PRETTY, headers=signed(secret, PRETTY))
    assert response.json() == {"event_type": "run.finished", "verified": True}


def test_the_fastapi_dependency_warns_about_a_route_declared_202(secret: str, caplog: pytest.LogCaptureFixture) -> None:
    """A route declared with status_code=202 logs, once, that Tower will retry what it accepts."""
    client = TestClient(dependency_app(secret))
    with caplog.at_level(logging.WARNING, "tower_webhooks"):
        for _ in range(2):
            assert client.post("/accepted", content=PRETTY, headers=signed(secret, PRETTY)).status_code == 202
    assert ["202" in record.getMessage() for record in caplog.records if record.name == "tower_webhooks"] == [True]


@pytest.mark.parametrize("value", [None, "", "c2hvcnQ="])
def test_a_secret_read_per_request_that_is_missing_is_a_logged_500(
    value: str | None, secret: str, caplog: pytest.LogCaptureFixture
) -> None:
    """secret= may be a function read per request: a missing or invalid value is a logged 500, never a 400."""

    async def hook(request: Request) -> Response:
        return PlainTextResponse("never")

    app = Starlette(
        routes=[Route("/hook", hook, methods=["POST"])],
        middleware=[Middleware(TowerWebhookMiddleware, secret=lambda: value, paths=["/hook"])],
    )
    with caplog.at_level(logging.ERROR, "tower_webhooks"):
        response = TestClient(app).post("/hook", content=PRETTY, headers=signed(secret, PRETTY))
    assert (response.status_code, response.json()["error"]) == (500, "receiver_misconfigured")
    assert ["secret= function" in record.getMessage() for record in caplog.records] == [True]


def test_the_dependency_reads_a_secret_function_per_request(secret: str) -> None:
    """TowerWebhook(secret=function) verifies with the value the function returns at each request."""
    configured: dict[str, str] = {}
    app = FastAPI()

    @app.post("/hook")
    async def hook(
        webhook: Annotated[VerifiedWebhook, Depends(TowerWebhook(secret=lambda: configured.get("s")))],
    ) -> None:
        pass

    client = TestClient(app)
    assert client.post("/hook", content=PRETTY, headers=signed(secret, PRETTY)).status_code == 500
    configured["s"] = secret
    assert client.post("/hook", content=PRETTY, headers=signed(secret, PRETTY)).status_code == 200


def test_the_answer_completes_only_once_the_delivery_is_marked_done(secret: str) -> None:
    """A copy sent the moment the 200 arrives already finds the delivery done, not still in progress."""
    dedupe = Deduplicator(MemoryStore())
    seen_when_answered: list[int | None] = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    app = TowerWebhookMiddleware(endpoint, secret=secret, paths=["/hook"], dedupe=dedupe)

    async def scenario() -> None:
        async def receive() -> Message:
            return {"type": "http.request", "body": PRETTY, "more_body": False}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":  # with Content-Length: 0, all Tower waits for
                answer = dedupe.begin(VerifiedWebhook(0, PRETTY)).answer  # Tower's next copy, right now
                seen_when_answered.append(None if answer is None else answer.status)

        await app(http_scope(secret, PRETTY), receive, send)

    asyncio.run(scenario())
    assert seen_when_answered == [200]


def test_an_endpoint_that_fails_after_starting_its_answer_is_not_seen_as_a_200(secret: str) -> None:
    """The held 200 is dropped when the endpoint then raises: the claim is released, and Tower gets the 500."""
    dedupe = Deduplicator(MemoryStore())

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("failed while answering")

    app = TowerWebhookMiddleware(endpoint, secret=secret, paths=["/hook"], dedupe=dedupe)
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": PRETTY, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    with pytest.raises(RuntimeError, match="failed while answering"):
        asyncio.run(app(http_scope(secret, PRETTY), receive, send))
    assert sent == []  # the server's error handling answers 500
    assert dedupe.begin(VerifiedWebhook(0, PRETTY)).answer is None  # released: the retry runs the handler


def test_a_background_task_runs_after_the_answer_went_out_and_the_delivery_was_marked_done(secret: str) -> None:
    """A BackgroundTask runs after the answer: with dedupe, Tower must not wait for it to finish.

    Starlette runs it inside the app, after sending the body. The middleware settled the claim and
    sent the held answer only when the app returned, so a slow task held Tower's 200 past its 30 s.
    """
    dedupe = Deduplicator(MemoryStore())
    sent: list[Message] = []
    seen_by_task: list[tuple[list[str], int | None]] = []

    def later() -> None:  # the work handed to a background task, as in "answer 200 fast"
        copy_now = dedupe.begin(VerifiedWebhook(0, PRETTY)).answer  # Tower's next copy, meanwhile
        seen_by_task.append(([message["type"] for message in sent], None if copy_now is None else copy_now.status))

    async def hook(request: Request) -> Response:
        return Response("", 200, background=BackgroundTask(later))

    app = Starlette(
        routes=[Route("/hook", hook, methods=["POST"])],
        middleware=[Middleware(TowerWebhookMiddleware, secret=secret, paths=["/hook"], dedupe=dedupe)],
    )

    async def receive() -> Message:
        return {"type": "http.request", "body": PRETTY, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(http_scope(secret, PRETTY), receive, send))
    assert seen_by_task == [(["http.response.start", "http.response.body"], 200)]


def test_a_background_task_that_fails_after_the_200_leaves_the_delivery_done(secret: str) -> None:
    """Tower already has its 200, as without dedupe: the failure is the app's to log, not a redelivery."""
    dedupe = Deduplicator(MemoryStore())

    def later() -> None:
        raise RuntimeError("the background task failed")

    async def hook(request: Request) -> Response:
        return Response("", 200, background=BackgroundTask(later))

    app = Starlette(
        routes=[Route("/hook", hook, methods=["POST"])],
        middleware=[Middleware(TowerWebhookMiddleware, secret=secret, paths=["/hook"], dedupe=dedupe)],
    )
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": PRETTY, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    with pytest.raises(RuntimeError, match="background task failed"):
        asyncio.run(app(http_scope(secret, PRETTY), receive, send))
    assert [(message["type"], message.get("status")) for message in sent][:1] == [("http.response.start", 200)]
    duplicate = dedupe.begin(VerifiedWebhook(0, PRETTY)).answer  # Tower's retry, were there one
    assert getattr(duplicate, "reason", None) == "duplicate"
