"""The one definition of what Tower signs, shared by verification and [`sign`][tower_webhooks.sign].

Tower's signature is ``base64(HMAC-SHA512(key, timestamp_digits + raw_body))``: the timestamp
header's ASCII digits, then the body bytes, with nothing between them.
"""

from __future__ import annotations

import binascii
import hashlib
import importlib
import sys
import time
from collections.abc import Callable
from typing import Any, TypeAlias

from ._headers import MAX_TIMESTAMP_DIGITS, SIGNATURE_HEADER, TIMESTAMP_HEADER
from ._secret import Secret, SecretEncoding, decode_secret

__all__ = ["Body", "KeyedHmacSha512", "current_time_ms", "require_body", "sign"]

Body: TypeAlias = bytes | bytearray | memoryview


def _own_sha512() -> Callable[[bytes], Any]:
    """CPython's own SHA-512 constructor where it beats OpenSSL's on one block, else hashlib's.

    Only ``_sha512``, the module of Python 3.11 and before, is cheaper to copy and finish.
    Python 3.12 replaced it with ``_sha2`` (HACL*), whose copy allocates: measured slower than
    OpenSSL's for the outer hash (1.43 against 1.25 us on this project's benchmark machine),
    so 3.12 and later keep hashlib's. Some builds leave ``_sha512`` out, some refuse it at use
    when OpenSSL runs in FIPS mode, and in FIPS mode every hash must come from the validated
    OpenSSL module anyway. Other interpreters (PyPy's is written in Python) keep hashlib's, the
    only one measured there.
    """
    if sys.implementation.name != "cpython":
        return hashlib.sha512
    try:
        fips_mode = importlib.import_module("_hashlib").get_fips_mode()
    except (ImportError, AttributeError):  # no OpenSSL at all, or a build without the query
        fips_mode = 0
    if fips_mode:
        return hashlib.sha512
    try:
        constructor: Callable[[bytes], Any] = importlib.import_module("_sha512").sha512
        constructor(b"")
    except (ImportError, AttributeError, ValueError):
        return hashlib.sha512
    return constructor


_small_message_sha512 = _own_sha512()
_BLOCK_SIZE = hashlib.sha512().block_size
_INNER_PAD = bytes(byte ^ 0x36 for byte in range(256))
_OUTER_PAD = bytes(byte ^ 0x5C for byte in range(256))


class KeyedHmacSha512:
    """HMAC-SHA512 (RFC 2104) with the key schedule done once, for many messages.

    ``hmac.new(key, digestmod="sha512").copy()`` gives the same digests, but with OpenSSL 3 every
    HMAC object pays a provider lookup and the wrapper adds Python calls: copying two plain
    hash states is about 40% faster for a 1 KiB body (see ``bench/``). The construction is the
    one ``hmac.HMAC`` itself uses without OpenSSL, and the tests check it against ``hmac.digest``
    for arbitrary keys and messages.

    The inner hash runs over the body, so it uses OpenSSL (``hashlib``), the fastest at hashing.
    The outer hash only ever sees one 64-byte digest, so on Python 3.11 and before it uses
    CPython's own SHA-512 where that may be used: copying and finishing its state costs about
    half of OpenSSL's in a tight loop, and a fifth in a running server, where OpenSSL's contexts
    are no longer in the CPU caches (``docs/performance.md``).
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > _BLOCK_SIZE:
            key = hashlib.sha512(key).digest()
        key = key.ljust(_BLOCK_SIZE, b"\0")
        self._inner = hashlib.sha512(key.translate(_INNER_PAD))
        self._outer = _small_message_sha512(key.translate(_OUTER_PAD))

    def __repr__(self) -> str:
        return "KeyedHmacSha512(<key redacted>)"

    def signature(self, timestamp_digits: bytes, body: Body) -> bytes:
        """Return the ``X-Tower-Signature`` value for ``timestamp_digits + body``, without joining them.

        The value is padded standard base64 of the 64-byte HMAC: the one canonical encoding, so
        a header equal to it is well formed by construction.
        """
        inner = self._inner.copy()
        inner.update(timestamp_digits)
        inner.update(body)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return binascii.b2a_base64(outer.digest(), newline=False)


def current_time_ms() -> int:
    """The current Unix time in milliseconds, the unit of Tower's timestamp header."""
    return time.time_ns() // 1_000_000


def sign(
    secret: Secret,
    raw_body: Body,
    *,
    timestamp_ms: int | None = None,
    secret_encoding: SecretEncoding = "base64",
) -> dict[str, str]:
    """Sign ``raw_body`` the way Tower does and return the two headers to send with it.

    Meant for tests and local tools: post ``raw_body`` with these headers to your endpoint.

    Args:
        secret: The shared secret, encoded as ``secret_encoding`` says.
        raw_body: The exact bytes that will be sent.
        timestamp_ms: Unix time in milliseconds to sign with; the current time by default.
            Pass an old value to test that your endpoint rejects stale requests.
        secret_encoding: ``"base64"`` (Tower's), ``"hex"`` or ``"raw"``.

    Returns:
        ``{"X-Tower-Webhook-Timestamp": ..., "X-Tower-Signature": ...}``.

    Raises:
        InvalidSecretError: The secret cannot be used.
        TypeError: ``raw_body`` is not bytes-like, or ``timestamp_ms`` is not an ``int``.
        ValueError: ``timestamp_ms`` is negative or longer than 16 digits.

    .. versionadded:: 0.1.0
    """
    if timestamp_ms is None:
        timestamp_ms = current_time_ms()
    elif not isinstance(timestamp_ms, int) or isinstance(timestamp_ms, bool):
        raise TypeError(f"timestamp_ms must be an int of Unix milliseconds, not {type(timestamp_ms).__name__}")
    elif not 0 <= timestamp_ms < 10**MAX_TIMESTAMP_DIGITS:
        raise ValueError(f"timestamp_ms must be 0 to {MAX_TIMESTAMP_DIGITS} digits of Unix milliseconds")
    body = require_body(raw_body)
    digits = str(timestamp_ms).encode("ascii")
    signature = KeyedHmacSha512(decode_secret(secret, secret_encoding)).signature(digits, body)
    return {TIMESTAMP_HEADER: digits.decode("ascii"), SIGNATURE_HEADER: signature.decode("ascii")}


def require_body(raw_body: object) -> bytes:
    """Return the body as ``bytes``, or explain why the caller passed the wrong thing.

    ``bytes`` is returned as is (no copy). A ``bytearray`` or ``memoryview`` is snapshotted
    once, so the body a [`VerifiedWebhook`][tower_webhooks.VerifiedWebhook] holds cannot change
    after it was verified.

    Raises:
        TypeError: The body is text or parsed JSON rather than the raw bytes.
    """
    if type(raw_body) is bytes:
        return raw_body
    if isinstance(raw_body, (bytes, bytearray, memoryview)):
        return bytes(raw_body)
    if isinstance(raw_body, str):
        raise TypeError(
            "raw_body must be the raw request body as bytes, not str: decoding and re-encoding "
            "can change the bytes Tower signed (pass request.get_data(), request.body or "
            "await request.body())"
        )
    if isinstance(raw_body, (dict, list)):
        raise TypeError(
            f"raw_body must be the raw request body as bytes, not parsed JSON "
            f"({type(raw_body).__name__}): re-serialised JSON never matches the signature"
        )
    raise TypeError(f"raw_body must be bytes, bytearray or memoryview, not {type(raw_body).__name__}")
