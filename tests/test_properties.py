"""Properties over arbitrary input: round trips, tampering, and only our exceptions."""

from __future__ import annotations

import base64
import hmac
from contextlib import suppress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tower_webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    InvalidSecretError,
    SignatureMismatchError,
    Verifier,
    WebhookVerificationError,
    sign,
    verify,
)
from tower_webhooks._signing import KeyedHmacSha512

from .values import BODY, NOW_MS, SECRET

keys = st.binary(min_size=16, max_size=300)
bodies = st.binary(max_size=4096)
timestamps = st.integers(min_value=0, max_value=10**16 - 1)
header_values = st.one_of(st.none(), st.text(max_size=200), st.binary(max_size=200))


@given(key=st.binary(max_size=300), timestamp=st.binary(max_size=20), body=bodies)
def test_keyed_hmac_equals_the_standard_library(key: bytes, timestamp: bytes, body: bytes) -> None:
    """The precomputed key state gives exactly hmac.digest's HMAC-SHA512, for any key length."""
    assert KeyedHmacSha512(key).digest(timestamp, body) == hmac.digest(key, timestamp + body, "sha512")


@given(key=keys, body=bodies, timestamp=timestamps, encode_as_hex=st.booleans())
def test_round_trip(key: bytes, body: bytes, timestamp: int, encode_as_hex: bool) -> None:
    """Whatever sign() produces for any key, body and timestamp, verify() accepts."""
    secret, encoding = (key.hex(), "hex") if encode_as_hex else (base64.b64encode(key).decode(), "base64")
    headers = sign(secret, body, timestamp_ms=timestamp, secret_encoding=encoding)  # type: ignore[arg-type]
    webhook = verify(
        secret,
        headers[TIMESTAMP_HEADER],
        headers[SIGNATURE_HEADER],
        body,
        now_ms=timestamp,
        secret_encoding=encoding,  # type: ignore[arg-type]
    )
    assert (webhook.timestamp_ms, webhook.body) == (timestamp, body)


@given(body=bodies.filter(bool), data=st.data())
def test_any_flipped_body_byte_is_rejected(body: bytes, data: st.DataObject) -> None:
    """Changing any one byte of the body, to any other value, breaks the signature."""
    headers = sign(SECRET, body, timestamp_ms=NOW_MS)
    index = data.draw(st.integers(0, len(body) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = body[:index] + bytes([body[index] ^ flip]) + body[index + 1 :]
    with pytest.raises(SignatureMismatchError):
        Verifier(SECRET, clock=lambda: NOW_MS).verify_headers(headers, tampered)


@given(data=st.data(), which=st.sampled_from([TIMESTAMP_HEADER, SIGNATURE_HEADER]))
def test_any_flipped_header_byte_is_rejected(data: st.DataObject, which: str) -> None:
    """Changing any one byte of the timestamp or signature is rejected (malformed or mismatch)."""
    headers = sign(SECRET, BODY, timestamp_ms=NOW_MS)
    value = headers[which].encode("ascii")
    index = data.draw(st.integers(0, len(value) - 1))
    flip = data.draw(st.integers(1, 255))
    headers_bytes = {name: v.encode("ascii") for name, v in headers.items()}
    headers_bytes[which] = value[:index] + bytes([value[index] ^ flip]) + value[index + 1 :]
    with pytest.raises(WebhookVerificationError):
        Verifier(SECRET, tolerance_ms=None).verify_headers(headers_bytes, BODY)


@given(timestamp=header_values, signature=header_values, body=bodies)
def test_hostile_header_values_raise_only_verification_errors(
    timestamp: str | bytes | None, signature: str | bytes | None, body: bytes
) -> None:
    """Arbitrary text or bytes in either header ends in a WebhookVerificationError."""
    with suppress(WebhookVerificationError):
        verify(SECRET, timestamp, signature, body, now_ms=NOW_MS)


@given(
    pairs=st.lists(
        st.tuples(
            st.one_of(st.sampled_from([TIMESTAMP_HEADER, SIGNATURE_HEADER.upper()]), st.text(max_size=30)),
            st.one_of(st.text(max_size=100), st.binary(max_size=100)),
        ),
        max_size=6,
    )
)
def test_hostile_header_lists_raise_only_verification_errors(pairs: list[tuple[str, str | bytes]]) -> None:
    """Any list of header pairs, duplicates included, ends in a WebhookVerificationError."""
    with suppress(WebhookVerificationError):
        Verifier(SECRET).verify_headers(pairs, BODY)


@given(secret=st.one_of(st.text(max_size=120), st.binary(max_size=120)))
def test_any_secret_text_is_accepted_or_invalid_secret(secret: str | bytes) -> None:
    """A secret is either usable or an InvalidSecretError, never another exception."""
    with suppress(InvalidSecretError):
        Verifier(secret)
