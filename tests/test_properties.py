"""Properties over arbitrary input: round trips, tampering, and only our exceptions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
import sys
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tower_webhooks import (
    DEFAULT_TOLERANCE_MS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    InvalidSecretError,
    SignatureMismatchError,
    Verifier,
    WebhookVerificationError,
    _signing,
    sign,
    verify,
)
from tower_webhooks._headers import HeaderValue, parse_signature, parse_timestamp, require_canonical
from tower_webhooks._secret import decode_secret
from tower_webhooks._signing import KeyedHmacSha512

from .values import BODY, NOW_MS, SECRET

keys = st.binary(min_size=16, max_size=300)
bodies = st.binary(max_size=4096)
timestamps = st.integers(min_value=0, max_value=10**16 - 1)
header_values = st.one_of(st.none(), st.text(max_size=200), st.binary(max_size=200))


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="_sha512 is the module of Python 3.11 and before")
def test_the_outer_hash_is_the_interpreters_own_up_to_python_3_11() -> None:
    """CPython 3.11's own SHA-512 copies and finishes faster, so the outer hash uses it."""
    assert _signing._small_message_sha512 is importlib.import_module("_sha512").sha512


@pytest.mark.skipif(sys.version_info < (3, 12), reason="_sha2 (HACL*) replaced _sha512 in Python 3.12")
def test_the_outer_hash_is_openssls_from_python_3_12() -> None:
    """_sha2 (HACL*), present from 3.12, was measured slower than OpenSSL's: a regression test."""
    assert importlib.import_module("_sha2").sha512 is not hashlib.sha512
    assert _signing._small_message_sha512 is hashlib.sha512


def test_the_outer_hash_is_hashlibs_on_other_interpreters(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only CPython's own SHA-512 was measured to be cheaper; PyPy's, for one, is written in Python."""
    monkeypatch.setattr(sys.implementation, "name", "pypy")
    assert _signing._own_sha512() is hashlib.sha512


def test_the_outer_hash_is_openssls_in_fips_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """In FIPS mode every hash must come from the validated OpenSSL module."""
    monkeypatch.setattr(importlib.import_module("_hashlib"), "get_fips_mode", lambda: 1)
    assert _signing._own_sha512() is hashlib.sha512


def test_the_outer_hash_is_openssls_where_the_interpreters_own_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Builds that refuse their own hashes at use (some, in FIPS mode) fall back to hashlib's."""

    def refused(data: bytes) -> None:
        raise ValueError("[digital envelope routines] unsupported")

    with suppress(ImportError):  # Python 3.12 and later have no _sha512 (and keep hashlib's anyway)
        monkeypatch.setattr(importlib.import_module("_sha512"), "sha512", refused)
    assert _signing._own_sha512() is hashlib.sha512


@pytest.mark.parametrize(
    "outer_sha512",
    [_signing._small_message_sha512, hashlib.sha512],
    ids=["own", "hashlib"],
)
@given(key=st.binary(max_size=300), timestamp=st.binary(max_size=20), body=bodies)
def test_keyed_hmac_equals_the_standard_library(
    outer_sha512: Callable[[bytes], Any], key: bytes, timestamp: bytes, body: bytes
) -> None:
    """The precomputed key states give exactly hmac.digest's HMAC-SHA512, for any key length."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_signing, "_small_message_sha512", outer_sha512)
        keyed = KeyedHmacSha512(key)
    expected = base64.b64encode(hmac.digest(key, timestamp + body, "sha512"))
    assert keyed.signature(timestamp, body) == expected


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


def _accepted_by_the_contract(timestamp: HeaderValue, signature: HeaderValue, body: bytes) -> bool:
    """Tower's contract written out the slow, obvious way: strict parsers, then hmac.digest."""
    try:
        digits, timestamp_ms = parse_timestamp(timestamp)
        given = parse_signature(signature)
        require_canonical(given)
    except WebhookVerificationError:
        return False
    expected = base64.b64encode(hmac.digest(decode_secret(SECRET), digits + body, "sha512"))
    return abs(timestamp_ms - NOW_MS) <= DEFAULT_TOLERANCE_MS and hmac.compare_digest(expected, given)


def _as_sent(value: str) -> st.SearchStrategy[HeaderValue]:
    """``value`` as a server may hand it over: text or bytes, blanks around, perhaps one character changed."""
    blanks = st.sampled_from(["", " ", "\t", " \t "])
    changed = st.builds(
        lambda index, char: value[:index] + char + value[index + 1 :], st.integers(0, len(value) - 1), st.characters()
    )
    text = st.builds(lambda before, core, after: before + core + after, blanks, st.just(value) | changed, blanks)
    ascii_bytes = text.filter(str.isascii).map(lambda sent: sent.encode("ascii"))
    return st.one_of(text, ascii_bytes, header_values)


@given(data=st.data(), timestamp_ms=st.integers(NOW_MS - 2 * DEFAULT_TOLERANCE_MS, NOW_MS + 2 * DEFAULT_TOLERANCE_MS))
def test_verify_accepts_exactly_what_the_contract_accepts(data: st.DataObject, timestamp_ms: int) -> None:
    """The hot path's shortcuts never accept what the strict parsers refuse, nor refuse what they accept."""
    headers = sign(SECRET, BODY, timestamp_ms=timestamp_ms)
    timestamp = data.draw(_as_sent(headers[TIMESTAMP_HEADER]), label="timestamp")
    signature = data.draw(_as_sent(headers[SIGNATURE_HEADER]), label="signature")
    try:
        webhook = Verifier(SECRET, clock=lambda: NOW_MS).verify(timestamp, signature, BODY)
    except WebhookVerificationError:
        assert not _accepted_by_the_contract(timestamp, signature, BODY)
    else:
        assert _accepted_by_the_contract(timestamp, signature, BODY)
        assert webhook == (int(timestamp.strip()), BODY)  # type: ignore[union-attr]
