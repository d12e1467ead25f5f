"""sign(): the headers Tower would send, for users' own tests."""

from __future__ import annotations

import time

import pytest

from tower_webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, Verifier, sign

from .values import BODY, SECRET


def test_defaults_to_now() -> None:
    """Without timestamp_ms, the current time in milliseconds is signed."""
    before = time.time_ns() // 1_000_000
    headers = sign(SECRET, BODY)
    after = time.time_ns() // 1_000_000
    assert before <= int(headers[TIMESTAMP_HEADER]) <= after
    assert set(headers) == {TIMESTAMP_HEADER, SIGNATURE_HEADER}


def test_verifies() -> None:
    """What sign() produces, Verifier accepts."""
    assert Verifier(SECRET).verify_headers(sign(SECRET, BODY), BODY).body == BODY


@pytest.mark.parametrize("timestamp", [1.5, "1764468000000", True])
def test_timestamp_must_be_int(timestamp: object) -> None:
    """A non-int timestamp is a TypeError."""
    with pytest.raises(TypeError, match="timestamp_ms"):
        sign(SECRET, BODY, timestamp_ms=timestamp)  # type: ignore[arg-type]


@pytest.mark.parametrize("timestamp", [-1, 10**16])
def test_timestamp_out_of_range(timestamp: int) -> None:
    """A negative or over-long timestamp is a ValueError."""
    with pytest.raises(ValueError, match="digits"):
        sign(SECRET, BODY, timestamp_ms=timestamp)


def test_str_body_is_refused() -> None:
    """sign() wants the bytes that will be sent."""
    with pytest.raises(TypeError, match="bytes"):
        sign(SECRET, BODY.decode())  # type: ignore[arg-type]
