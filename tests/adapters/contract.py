"""The behaviour every adapter promises, written once and run per framework.

Each framework's test module builds a real app with the same routes and subclasses
:class:`AdapterContract`, overriding only the ``driver`` fixture:

- ``/hook`` and ``/hook-async``: a sync and an async handler that record what they received;
- ``/accepted``: a handler that answers 202;
- ``/small``: ``max_body_bytes=64``;
- ``/consumed``: code that parses the form body before the adapter runs.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tower_webhooks import VerifiedWebhook, sign
from tower_webhooks._samples import sample_body

if TYPE_CHECKING:
    from collections.abc import Mapping

PRETTY = sample_body("run-crashed-pretty.json")  # non-ASCII and indented: re-serialising would change it
MULTIPART = b'--xyz\r\nContent-Disposition: form-data; name="event"\r\n\r\nrun.finished\r\n--xyz--\r\n'
FORMS = [
    ("application/x-www-form-urlencoded", b"event=run.finished&note=%C3%A9chec"),
    ("multipart/form-data; boundary=xyz", MULTIPART),
]


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Received:
    """What a handler saw: the body as its framework gives it, and the adapter's webhook."""

    body: bytes
    webhook: VerifiedWebhook


class Driver(Protocol):
    received: list[Received]

    def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> Answer: ...


@dataclass
class Recorder:
    """Shared by a test app's handlers, so tests can see whether a handler ran."""

    received: list[Received] = field(default_factory=list)


def signed(secret: str, body: bytes, content_type: str = "application/json", **sign_options: Any) -> dict[str, str]:
    return {"Content-Type": content_type, **sign(secret, body, **sign_options)}


class AdapterContract:
    @pytest.fixture
    def driver(self) -> Driver:
        raise NotImplementedError("each framework's test class provides a driver")

    @pytest.mark.parametrize("path", ["/hook", "/hook-async"])
    def test_verified_body_reaches_the_handler_byte_identical(self, driver: Driver, secret: str, path: str) -> None:
        """A signed webhook gets 200, and sync and async handlers get exactly the signed bytes."""
        answer = driver.post(path, PRETTY, signed(secret, PRETTY))
        assert answer.status == 200
        [received] = driver.received
        assert received.body == PRETTY
        assert received.webhook.body == PRETTY

    @pytest.mark.parametrize("case", [str.lower, str.upper])
    def test_header_names_in_any_case(self, driver: Driver, secret: str, case: Any) -> None:
        """Header names are matched whatever their case."""
        headers = {case(name): value for name, value in signed(secret, PRETTY).items()}
        assert driver.post("/hook", PRETTY, headers).status == 200

    @pytest.mark.parametrize(("content_type", "body"), FORMS)
    def test_form_bodies_verify(self, driver: Driver, secret: str, content_type: str, body: bytes) -> None:
        """A form content type is read raw before any form parsing, so its signature verifies."""
        answer = driver.post("/hook", body, signed(secret, body, content_type))
        assert answer.status == 200
        assert [received.body for received in driver.received] == [body]

    # Each framework's class runs this one method (the point of a contract), and the driver is
    # per test: both are intended, and received is cleared per example.
    @settings(
        max_examples=25,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors],
    )
    @given(body=st.binary(min_size=1, max_size=2048), flip=st.integers(min_value=0))
    def test_any_body_round_trips_and_any_changed_byte_is_refused(
        self, driver: Driver, secret: str, body: bytes, flip: int
    ) -> None:
        """Whatever the bytes, the handler gets them exactly; change one and the handler never runs."""
        headers = signed(secret, body, "application/octet-stream")
        driver.received.clear()
        assert driver.post("/hook", body, headers).status == 200
        assert [received.body for received in driver.received] == [body]
        index = flip % len(body)
        tampered = body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1 :]
        answer = driver.post("/hook", tampered, headers)
        assert (answer.status, answer.json()["error"]) == (400, "signature_mismatch")
        assert len(driver.received) == 1

    def test_tampered_body_is_400_and_the_handler_never_runs(self, driver: Driver, secret: str) -> None:
        """A changed body is rejected with the reason, and the handler does not run."""
        answer = driver.post("/hook", PRETTY.replace(b"137", b"0"), signed(secret, PRETTY))
        assert answer.status == 400
        assert answer.headers["content-type"].startswith("application/json")
        assert answer.json()["error"] == "signature_mismatch"
        assert "re-serialised" in answer.json()["detail"]
        assert secret not in answer.body.decode()
        assert driver.received == []

    def test_missing_signature_is_400(self, driver: Driver, secret: str) -> None:
        """A request without the signature header names the missing header."""
        headers = signed(secret, PRETTY)
        del headers["X-Tower-Signature"]
        answer = driver.post("/hook", PRETTY, headers)
        assert (answer.status, answer.json()["error"]) == (400, "missing_header")
        assert "X-Tower-Signature" in answer.json()["detail"]
        assert driver.received == []

    def test_stale_timestamp_is_400(self, driver: Driver, secret: str) -> None:
        """A capture signed long ago (a replay) is refused as too old."""
        answer = driver.post("/hook", PRETTY, signed(secret, PRETTY, timestamp_ms=1_000_000_000_000))
        assert (answer.status, answer.json()["error"]) == (400, "timestamp_too_old")
        assert driver.received == []

    def test_body_over_the_limit_is_413(self, driver: Driver, secret: str) -> None:
        """A body over max_body_bytes gets 413, naming the limit, and the handler never runs."""
        answer = driver.post("/small", PRETTY, signed(secret, PRETTY))
        assert (answer.status, answer.json()["error"]) == (413, "body_too_large")
        assert "64 bytes" in answer.json()["detail"]
        assert driver.received == []

    def test_a_body_consumed_before_the_adapter_is_named_not_a_mismatch(
        self, driver: Driver, secret: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Earlier code that read the body gets a 500 saying so, logged, never a signature mismatch."""
        content_type, body = FORMS[1]  # multipart: every framework streams it instead of caching it
        with caplog.at_level(logging.ERROR, "tower_webhooks"):
            answer = driver.post("/consumed", body, signed(secret, body, content_type))
        assert (answer.status, answer.json()["error"]) == (500, "body_consumed")
        assert "already read" in answer.json()["detail"]
        assert any("already read" in record.getMessage() for record in caplog.records if record.levelname == "ERROR")
        assert driver.received == []

    def test_another_2xx_warns_once_that_tower_will_retry(
        self, driver: Driver, secret: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A verified webhook answered with 202 logs one warning, however often it happens."""
        with caplog.at_level(logging.WARNING, "tower_webhooks"):
            for _ in range(2):
                assert driver.post("/accepted", PRETTY, signed(secret, PRETTY)).status == 202
        warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "202" in warnings[0]
        assert "only an exact 200" in warnings[0]


class ConfiguredSecretContract:
    """For adapters that read the secret from the framework's configuration by default."""

    @pytest.fixture
    def driver(self) -> Driver:
        raise NotImplementedError

    @pytest.fixture
    def configure(self) -> Any:
        """A function that sets (or, given None, removes) the configured secret."""
        raise NotImplementedError

    @pytest.mark.parametrize("value", [None, "", "c2hvcnQ="])
    def test_a_missing_or_invalid_secret_is_a_logged_500_not_a_400(
        self, driver: Driver, configure: Any, secret: str, value: str | None, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A broken secret configuration answers 500 and logs the setting to fix; the sender is not blamed."""
        configure(value)
        with caplog.at_level(logging.ERROR, "tower_webhooks"):
            answer = driver.post("/hook", PRETTY, signed(secret, PRETTY))
        assert (answer.status, answer.json()["error"]) == (500, "receiver_misconfigured")
        [record] = [record for record in caplog.records if record.name == "tower_webhooks"]
        assert "TOWER_WEBHOOK_SECRET" in record.getMessage()
        if value:
            assert value not in record.getMessage()
            assert value not in answer.body.decode()
        assert driver.received == []
