"""The one definition of what Tower signs, shared by verification and :func:`sign`.

Tower's signature is ``base64(HMAC-SHA512(key, timestamp_digits + raw_body))``: the timestamp
header's ASCII digits, then the body bytes, with nothing between them.
"""

from __future__ import annotations

import binascii
import hashlib
import time
from typing import TypeAlias

from ._headers import MAX_TIMESTAMP_DIGITS, SIGNATURE_HEADER, TIMESTAMP_HEADER
from ._secret import Secret, SecretEncoding, decode_secret

__all__ = ["Body", "KeyedHmacSha512", "current_time_ms", "require_body", "sign"]

Body: TypeAlias = bytes | bytearray | memoryview

_BLOCK_SIZE = hashlib.sha512().block_size
_INNER_PAD = bytes(byte ^ 0x36 for byte in range(256))
_OUTER_PAD = bytes(byte ^ 0x5C for byte in range(256))


class KeyedHmacSha512:
    """HMAC-SHA512 (RFC 2104) with the key schedule done once, for many messages.

    ``hmac.new(key, digestmod="sha512").copy()`` gives the same digests, but with OpenSSL 3 every
    HMAC object pays a provider lookup and the wrapper adds Python calls: copying two plain
    ``hashlib`` states is about 40% faster for a 1 KiB body (see ``bench/``). The construction
    is the one ``hmac.HMAC`` itself uses without OpenSSL, and the tests check it against
    ``hmac.digest`` for arbitrary keys and messages.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > _BLOCK_SIZE:
            key = hashlib.sha512(key).digest()
        key = key.ljust(_BLOCK_SIZE, b"\0")
        self._inner = hashlib.sha512(key.translate(_INNER_PAD))
        self._outer = hashlib.sha512(key.translate(_OUTER_PAD))

    def __repr__(self) -> str:
        return "KeyedHmacSha512(<key redacted>)"

    def digest(self, timestamp_digits: bytes, body: Body) -> bytes:
        """Return the 64-byte HMAC of ``timestamp_digits + body``, without joining them."""
        inner = self._inner.copy()
        inner.update(timestamp_digits)
        inner.update(body)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def signature(self, timestamp_digits: bytes, body: Body) -> bytes:
        """Return the ``X-Tower-Signature`` value for this message: padded standard base64."""
        return binascii.b2a_base64(self.digest(timestamp_digits, body), newline=False)


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
    once, so the body a :class:`VerifiedWebhook` holds cannot change after it was verified.

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
