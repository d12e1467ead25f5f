"""The Flask decorator, through Flask's own test client and WSGI environ."""

from __future__ import annotations

import functools
import io
from typing import TYPE_CHECKING, Any

import flask
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder, run_wsgi_app
from werkzeug.wsgi import get_content_length

from tower_webhooks import InvalidSecretError
from tower_webhooks.adapters._shared import parse_content_length
from tower_webhooks.adapters.flask import verify_tower_webhook
from tower_webhooks.dedupe import Deduplicator, MemoryStore
from tower_webhooks.dedupe.redis import AsyncRedisStore, RedisStore

from .contract import PRETTY, AdapterContract, Answer, ConfiguredSecretContract, Received, Recorder, signed
from .dedupe_contract import UNREACHABLE_REDIS_URL, DedupeContract, handle

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


def build_app(secret: str, recorder: Recorder) -> flask.Flask:
    app = flask.Flask(__name__)
    app.config["TOWER_WEBHOOK_SECRET"] = secret

    def record() -> str:
        recorder.received.append(Received(flask.request.get_data(), flask.g.tower_webhook))
        return "ok"

    def form_first(view: Callable[[], Any]) -> Callable[[], Any]:
        @functools.wraps(view)
        def wrapper() -> Any:
            assert flask.request.form  # parsing the form reads the body
            return view()

        return wrapper

    @app.post("/hook")
    @verify_tower_webhook
    def hook() -> str:
        return record()

    @app.post("/hook-async")
    @verify_tower_webhook()
    async def hook_async() -> str:
        return record()

    @app.post("/accepted")
    @verify_tower_webhook
    def accepted() -> tuple[str, int]:
        record()
        return "", 202

    @app.post("/small")
    @verify_tower_webhook(secret=secret, max_body_bytes=64)
    def small() -> str:
        return record()

    @app.post("/consumed")
    @form_first
    @verify_tower_webhook
    def consumed() -> str:
        return record()

    return app


class FlaskDriver:
    dedupe: Deduplicator

    def __init__(self, app: flask.Flask, recorder: Recorder) -> None:
        self.app = app
        self.received = recorder.received

    def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        response = self.app.test_client().post(path, data=body, headers=dict(headers))
        return Answer(response.status_code, response.get_data(), {k.lower(): v for k, v in response.headers.items()})


@pytest.fixture
def app(secret: str) -> flask.Flask:
    return build_app(secret, Recorder())


class TestFlaskContract(AdapterContract, ConfiguredSecretContract):
    @pytest.fixture
    def driver(self, secret: str) -> FlaskDriver:
        recorder = Recorder()
        self.app = build_app(secret, recorder)
        return FlaskDriver(self.app, recorder)

    @pytest.fixture
    def configure(self, driver: FlaskDriver) -> Callable[[str | None], None]:
        def configure(value: str | None) -> None:
            driver.app.config.pop("TOWER_WEBHOOK_SECRET")
            if value is not None:
                driver.app.config["TOWER_WEBHOOK_SECRET"] = value

        return configure


def build_deduped_app(secret: str, recorder: Recorder, dedupe: Deduplicator) -> flask.Flask:
    app = flask.Flask(__name__)
    unreachable = RedisStore.from_url(UNREACHABLE_REDIS_URL, socket_connect_timeout=1)

    def run() -> tuple[str, int]:
        recorder.received.append(Received(flask.request.get_data(), flask.g.tower_webhook))
        return "", handle(flask.g.tower_webhook)

    @app.post("/deduped")
    @verify_tower_webhook(secret=secret, dedupe=dedupe)
    def deduped() -> tuple[str, int]:
        return run()

    @app.post("/deduped-async")
    @verify_tower_webhook(secret=secret, dedupe=dedupe)
    async def deduped_async() -> tuple[str, int]:
        return run()

    @app.post("/deduped-down")
    @verify_tower_webhook(secret=secret, dedupe=Deduplicator(unreachable))
    def deduped_down() -> tuple[str, int]:
        return run()

    @app.post("/deduped-open")
    @verify_tower_webhook(secret=secret, dedupe=Deduplicator(unreachable, fail_open=True))
    def deduped_open() -> tuple[str, int]:
        return run()

    return app


class TestFlaskDedupe(DedupeContract):
    @pytest.fixture
    def deduped(self, secret: str) -> FlaskDriver:
        recorder, dedupe = Recorder(), Deduplicator(MemoryStore())
        driver = FlaskDriver(build_deduped_app(secret, recorder, dedupe), recorder)
        driver.dedupe = dedupe
        return driver


def test_an_asyncio_dedupe_store_is_refused(secret: str) -> None:
    """Flask runs each async view in a new event loop, where a pooled asyncio client breaks: refused at once."""
    with pytest.raises(TypeError, match="event loop of its own"):
        verify_tower_webhook(secret=secret, dedupe=Deduplicator(AsyncRedisStore.from_url(UNREACHABLE_REDIS_URL)))


def post_environ(app: flask.Flask, environ: dict[str, Any]) -> Answer:
    body, status, headers = run_wsgi_app(app, environ)
    return Answer(int(status.split()[0]), b"".join(body), {k.lower(): v for k, v in headers.items()})


def chunked_environ(secret: str, body: bytes, *, input_terminated: bool, path: str = "/hook") -> dict[str, Any]:
    """A chunked request as a WSGI server hands it over: no CONTENT_LENGTH."""
    environ = EnvironBuilder(path=path, method="POST", headers=list(signed(secret, body).items())).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    environ["wsgi.input"] = io.BytesIO(body)
    if input_terminated:
        environ["wsgi.input_terminated"] = True
    return environ


def test_chunked_body_under_a_server_that_drops_it_is_named(app: flask.Flask, secret: str) -> None:
    """Chunked without wsgi.input_terminated arrives empty: 411 body_unavailable, not a mismatch."""
    answer = post_environ(app, chunked_environ(secret, PRETTY, input_terminated=False))
    assert (answer.status, answer.json()["error"]) == (411, "body_unavailable")
    assert "Content-Length" in answer.json()["detail"]


def test_chunked_body_under_a_server_that_passes_it_verifies(app: flask.Flask, secret: str) -> None:
    """Gunicorn and the Werkzeug server pass chunked bodies on (wsgi.input_terminated): they verify."""
    assert post_environ(app, chunked_environ(secret, PRETTY, input_terminated=True)).status == 200


def test_chunked_body_over_the_limit_is_413_while_reading(app: flask.Flask, secret: str) -> None:
    """A chunked body with no length to check up front is cut off at the limit."""
    environ = chunked_environ(secret, PRETTY, input_terminated=True, path="/small")
    stream = environ["wsgi.input"]
    answer = post_environ(app, environ)
    assert (answer.status, answer.json()["error"]) == (413, "body_too_large")
    assert stream.tell() == 65  # one byte past the limit, and the rest stays unread


def test_max_content_length_is_a_413_naming_the_setting(app: flask.Flask, secret: str) -> None:
    """Flask's MAX_CONTENT_LENGTH ends in our 413, naming the setting, never a 500."""
    app.config["MAX_CONTENT_LENGTH"] = 100
    response = app.test_client().post("/hook", data=PRETTY, headers=signed(secret, PRETTY))
    assert response.status_code == 413
    assert response.json is not None
    assert response.json["error"] == "body_too_large"
    assert "MAX_CONTENT_LENGTH" in response.json["detail"]


def test_a_chunked_body_over_max_content_length_is_a_413_naming_the_setting(app: flask.Flask, secret: str) -> None:
    """Werkzeug cuts a chunked body off at MAX_CONTENT_LENGTH, which verified as a signature mismatch (regression)."""
    app.config["MAX_CONTENT_LENGTH"] = len(PRETTY) - 1
    answer = post_environ(app, chunked_environ(secret, PRETTY, input_terminated=True))
    assert (answer.status, answer.json()["error"]) == (413, "body_too_large")
    assert "MAX_CONTENT_LENGTH" in answer.json()["detail"]
    app.config["MAX_CONTENT_LENGTH"] = len(PRETTY)  # a body exactly at the limit is whole
    assert post_environ(app, chunked_environ(secret, PRETTY, input_terminated=True)).status == 200


def test_the_view_can_still_read_the_body_as_json(secret: str) -> None:
    """The body stays cached for the view: request.get_json() works after verification."""
    app = flask.Flask(__name__)

    @app.post("/")
    @verify_tower_webhook(secret=secret)
    def view() -> Any:
        return {"same": flask.request.get_json() == flask.g.tower_webhook.json()}

    assert app.test_client().post("/", data=PRETTY, headers=signed(secret, PRETTY)).json == {"same": True}


def test_an_invalid_secret_in_code_fails_at_start_up() -> None:
    """secret= is checked when the decorator is applied, not at the first delivery."""
    with pytest.raises(InvalidSecretError, match="fewer than 16"):
        verify_tower_webhook(secret="c2hvcnQ=")


@pytest.mark.parametrize("length", ["abc", "-7", "7, 7", "0x7", "\u00b2", "9" * 5000, f"\u0085{len(PRETTY)}"])
def test_a_content_length_that_is_not_plain_digits_is_named(app: flask.Flask, secret: str, length: str) -> None:
    """Regression: Werkzeug reads such a length as 0, so the body arrived empty and was blamed on the signature.

    The Werkzeug server passes the header on as sent; Django answers the same 411.
    """
    environ = EnvironBuilder(path="/hook", method="POST", headers=list(signed(secret, PRETTY).items())).get_environ()
    environ["CONTENT_LENGTH"] = length
    environ["wsgi.input"] = io.BytesIO(PRETTY)
    answer = post_environ(app, environ)
    assert (answer.status, answer.json()["error"]) == (411, "body_unavailable")
    assert "not a plain number" in answer.json()["detail"]


def test_a_content_length_of_twenty_digits_is_too_large(app: flask.Flask, secret: str) -> None:
    """Regression: a plain length too long to be a declared length here went to the malformed check (411).

    Werkzeug reads it as the number it is, which is over the limit: 413, as before reading it here.
    """
    environ = EnvironBuilder(path="/hook", method="POST", headers=list(signed(secret, PRETTY).items())).get_environ()
    environ["CONTENT_LENGTH"] = "9" * 20
    environ["wsgi.input"] = io.BytesIO(PRETTY)
    answer = post_environ(app, environ)
    assert (answer.status, answer.json()["error"]) == (413, "body_too_large")


@given(st.one_of(st.from_regex(r"\s*[0-9]{1,22}\s*", fullmatch=True), st.text(max_size=24)))
@example(" 1024 ")
@example("0" * 19)
@example("9" * 20)
@example("\u00b2")
def test_a_length_read_without_werkzeug_is_the_length_werkzeug_reads(value: str) -> None:
    """The adapter reads a plain Content-Length itself (``get_content_length`` costs a request 1 us).

    Whenever it accepts one, and no Transfer-Encoding is sent, it must read the number Werkzeug
    reads: the body Werkzeug hands over is exactly that long.
    """
    length = parse_content_length(value)
    if length is not None:
        assert length == get_content_length({"CONTENT_LENGTH": value})


@pytest.mark.parametrize("length", ["", " ", f" {len(PRETTY)} "])
def test_an_empty_or_padded_content_length_is_not_malformed(app: flask.Flask, secret: str, length: str) -> None:
    """The Werkzeug server sets CONTENT_LENGTH to "" when the header is absent: an empty body, not a 411."""
    environ = EnvironBuilder(path="/hook", method="POST", headers=list(signed(secret, PRETTY).items())).get_environ()
    environ["CONTENT_LENGTH"] = length
    environ["wsgi.input"] = io.BytesIO(PRETTY)
    answer = post_environ(app, environ)
    expected = (200, None) if length.strip() else (400, "signature_mismatch")
    assert (answer.status, answer.json().get("error") if answer.status != 200 else None) == expected
