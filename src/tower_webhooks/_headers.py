"""Tower's two headers: their names, finding them, and parsing them strictly.

Everything here handles bytes that came over the network, so every failure ends in a
[`WebhookVerificationError`][tower_webhooks.WebhookVerificationError] subclass, never a bare
``ValueError`` or ``UnicodeError``.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable
from typing import Protocol, TypeAlias

from .exceptions import MalformedSignatureError, MalformedTimestampError, MissingHeaderError

__all__ = [
    "MAX_TIMESTAMP_DIGITS",
    "SIGNATURE_HEADER",
    "SIGNATURE_LENGTH",
    "TIMESTAMP_HEADER",
    "HeaderValue",
    "Headers",
    "SupportsItems",
    "find_tower_headers",
    "parse_signature",
    "parse_timestamp",
    "require_canonical",
]

TIMESTAMP_HEADER = "X-Tower-Webhook-Timestamp"
"""Unix time in milliseconds when Tower sent the request, as ASCII digits."""

SIGNATURE_HEADER = "X-Tower-Signature"
"""Padded standard base64 of the HMAC-SHA512 of the timestamp digits and the raw body."""

MAX_TIMESTAMP_DIGITS = 16
"""Enough for microseconds until the year 2286; anything longer is not a timestamp."""

SIGNATURE_LENGTH = 88
"""Characters in the padded base64 of the 64 bytes of an HMAC-SHA512."""

HeaderValue: TypeAlias = str | bytes | None
_HeaderPairs: TypeAlias = Iterable[tuple[str | bytes, str | bytes]]


class SupportsItems(Protocol):
    """Anything with ``items()``: dicts, Django's, Werkzeug's and Starlette's headers, ``email.message.Message``."""

    def items(self) -> _HeaderPairs: ...


Headers: TypeAlias = SupportsItems | _HeaderPairs

_DIGEST_SIZE = 64  # bytes in an HMAC-SHA512
_BLANKS = b" \t"
# Longer values are refused before any work is done on them; a valid one is at most 88 bytes.
_MAX_HEADER_BYTES = 1024
_TIMESTAMP_KEY = TIMESTAMP_HEADER.lower()
_SIGNATURE_KEY = SIGNATURE_HEADER.lower()
_NAME_LENGTHS = frozenset({len(TIMESTAMP_HEADER), len(SIGNATURE_HEADER)})


def _as_ascii(
    value: HeaderValue, header: str, malformed: type[MalformedTimestampError | MalformedSignatureError]
) -> bytes:
    """Return the header's bytes with blanks trimmed, or raise if it is missing or unreadable."""
    if value is None:
        raise MissingHeaderError(header)
    if isinstance(value, str):
        if len(value) > _MAX_HEADER_BYTES:
            raise malformed(f"the {header} header is {len(value)} characters long, far too long to be valid")
        try:
            raw = value.encode("ascii")
        except UnicodeEncodeError:
            raise malformed(f"the {header} header contains non-ASCII characters") from None
    elif isinstance(value, (bytes, bytearray)):
        if len(value) > _MAX_HEADER_BYTES:
            raise malformed(f"the {header} header is {len(value)} bytes long, far too long to be valid")
        if not value.isascii():
            raise malformed(f"the {header} header contains non-ASCII bytes")
        raw = bytes(value)
    else:
        from email.header import Header  # noqa: PLC0415 (only this rare path needs the email package)

        if isinstance(value, Header):  # how email.message.Message hands over a value with non-ASCII bytes
            return _as_ascii(str(value), header, malformed)
        raise TypeError(f"the {header} header value must be str, bytes or None, not {type(value).__name__}")
    trimmed = raw.strip(_BLANKS)
    if not trimmed:
        raise MissingHeaderError(header)
    return trimmed


def parse_timestamp(value: HeaderValue) -> tuple[bytes, int]:
    """Return the timestamp's digits exactly as sent (they are what was signed) and their value.

    Raises:
        MissingHeaderError: The header is absent, empty or only blanks.
        MalformedTimestampError: It is not 1 to 16 ASCII digits.
    """
    digits = _as_ascii(value, TIMESTAMP_HEADER, MalformedTimestampError)
    if len(digits) > MAX_TIMESTAMP_DIGITS or not digits.isdigit():
        raise MalformedTimestampError(
            f"the {TIMESTAMP_HEADER} header must be 1 to {MAX_TIMESTAMP_DIGITS} digits of Unix "
            f"milliseconds, got {_preview(digits)}{_COMMA_HINT if b',' in digits else ''}"
        )
    return digits, int(digits)


def parse_signature(value: HeaderValue) -> bytes:
    """Return the signature header's base64 text, checked for shape but not yet canonicality.

    The hot path compares this text with the canonical encoding of the expected HMAC: a value
    equal to it is canonical by construction, so the full check (``require_canonical``)
    runs only when the comparison fails, to tell a malformed value from a mismatch.

    Raises:
        MissingHeaderError: The header is absent, empty or only blanks.
        MalformedSignatureError: It is not 88 characters ending in ``==``.
    """
    encoded = _as_ascii(value, SIGNATURE_HEADER, MalformedSignatureError)
    if len(encoded) != SIGNATURE_LENGTH or not encoded.endswith(b"=="):
        raise _malformed_signature(encoded)
    return encoded


def require_canonical(encoded: bytes) -> None:
    """Raise unless ``encoded`` is exactly the padded standard base64 of 64 bytes.

    Decoding and encoding again must give back the same characters, which rules out other
    alphabets, inner whitespace, data after the padding and non-zero padding bits at once.

    Raises:
        MalformedSignatureError: The encoding is not canonical.
    """
    try:
        digest = binascii.a2b_base64(encoded)
    except binascii.Error:
        digest = b""
    if len(digest) != _DIGEST_SIZE or binascii.b2a_base64(digest, newline=False) != encoded:
        raise _malformed_signature(encoded)


def _malformed_signature(encoded: bytes) -> MalformedSignatureError:
    return MalformedSignatureError(
        f"the {SIGNATURE_HEADER} header must be {SIGNATURE_LENGTH} characters of padded standard "
        f"base64 (an HMAC-SHA512), got {_preview(encoded)}{_signature_hint(encoded)}"
    )


_COMMA_HINT = ": it holds several values joined by a comma (was the header sent twice?)"


def _signature_hint(encoded: bytes) -> str:
    """Name the likely mistake behind a malformed signature, to save the reader a search."""
    if b"," in encoded:
        return _COMMA_HINT
    if b"-" in encoded or b"_" in encoded:
        return ": it uses the URL-safe alphabet; Tower sends standard base64 (+ and /)"
    if b" " in encoded or b"\t" in encoded:
        return ": it has whitespace inside"
    if len(encoded) == SIGNATURE_LENGTH - 2 and not encoded.endswith(b"="):
        return ": it lacks the '==' padding Tower sends"
    if len(encoded) == 128 and all(char in b"0123456789abcdefABCDEF" for char in encoded):
        return ": it looks hex-encoded; Tower sends base64"
    return ""


def _preview(value: bytes) -> str:
    """A short, printable excerpt of what was received (never of what was expected)."""
    shown = value[:24].decode("ascii", "backslashreplace")
    more = f"... ({len(value)} characters)" if len(value) > 24 else ""
    return f"{shown!r}{more}"


def find_tower_headers(headers: Headers) -> tuple[HeaderValue, HeaderValue]:
    """Find the timestamp and signature headers, whatever the case of their names.

    ``headers`` may be anything with ``items()`` (a dict; Django's, Werkzeug's or Starlette's
    headers; ``http.server``'s message) or an iterable of ``(name, value)`` pairs as ASGI gives
    them. A header that appears twice is an error rather
    than "first one wins": a forwarding proxy that duplicates it is worth knowing about.

    Raises:
        MalformedTimestampError, MalformedSignatureError: A header was given more than once.
    """
    items = getattr(headers, "items", None)
    pairs: _HeaderPairs = items() if callable(items) else headers  # type: ignore[assignment]
    timestamp: HeaderValue = None
    signature: HeaderValue = None
    for name, value in pairs:
        if len(name) not in _NAME_LENGTHS:  # most headers, decided without decoding their name
            continue
        if not name.isascii():  # str.lower() folds KELVIN SIGN to "k": only ASCII spells a header name
            continue
        key = name.lower() if isinstance(name, str) else name.decode("latin-1").lower()
        if key == _TIMESTAMP_KEY:
            if timestamp is not None:
                raise MalformedTimestampError(f"the {TIMESTAMP_HEADER} header was sent more than once")
            timestamp = value
        elif key == _SIGNATURE_KEY:
            if signature is not None:
                raise MalformedSignatureError(f"the {SIGNATURE_HEADER} header was sent more than once")
            signature = value
    return timestamp, signature
