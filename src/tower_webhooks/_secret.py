"""Turning the shared secret Tower shows once into the HMAC key, exactly once per verifier."""

from __future__ import annotations

import binascii
import re
import secrets
from typing import Literal, TypeAlias

from .exceptions import InvalidSecretError

__all__ = [
    "MIN_KEY_BYTES",
    "Secret",
    "SecretEncoding",
    "decode_secret",
    "decode_secrets",
    "generate_secret",
    "wrong_secret_type",
]

SecretEncoding: TypeAlias = Literal["base64", "hex", "raw"]
"""How the configured secret is written: Tower shows it base64-encoded."""

Secret: TypeAlias = str | bytes

MIN_KEY_BYTES = 16
"""Shorter keys are refused: they are almost always a truncated copy-paste."""

_STANDARD_BASE64 = re.compile(rb"[A-Za-z0-9+/]+={0,2}")
_URLSAFE_BASE64 = re.compile(rb"[A-Za-z0-9_-]+={0,2}")
# Only ASCII whitespace is trimmed, the same for str and bytes, so a raw secret read from a file
# and from an environment variable give the same key.
_ASCII_WHITESPACE = b" \t\r\n\f\v"
_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_HEX = re.compile(rb"(?:[0-9a-fA-F]{2})+")
_ENCODINGS = ("base64", "hex", "raw")


def decode_secret(secret: Secret, encoding: SecretEncoding = "base64") -> bytes:
    """Return the HMAC key for ``secret``, trimming surrounding whitespace first.

    The encoding is never guessed: a hex string is also valid base64, and guessing wrong would
    make every signature mismatch with no hint why.

    Raises:
        InvalidSecretError: The secret is empty, not valid in ``encoding``, or too short.
        TypeError: ``secret`` is neither ``str`` nor ``bytes``.
        ValueError: ``encoding`` is not one of ``"base64"``, ``"hex"``, ``"raw"``.
    """
    if encoding not in _ENCODINGS:
        raise ValueError(f"secret_encoding must be one of {_ENCODINGS}, got {encoding!r}")
    if isinstance(secret, str):
        if encoding == "raw":
            # surrogateescape gives back the exact bytes of an environment variable that is not UTF-8.
            text = secret.encode("utf-8", "surrogateescape").strip(_ASCII_WHITESPACE)
        else:
            try:
                text = secret.encode("ascii").strip(_ASCII_WHITESPACE)
            except UnicodeEncodeError:
                raise InvalidSecretError(
                    f"the secret contains non-ASCII characters, so it cannot be {encoding}: copy it again from Tower"
                ) from None
    elif isinstance(secret, bytes):
        text = secret.strip(_ASCII_WHITESPACE)
    else:
        raise wrong_secret_type(secret)
    if not text:
        raise InvalidSecretError("the secret is empty: set it to the value Tower showed when the webhook was created")
    key = _decode(text, encoding)
    if len(key) < MIN_KEY_BYTES:
        raise InvalidSecretError(
            f"the secret decodes to {len(key)} bytes, fewer than {MIN_KEY_BYTES}: was it cut short when copied?"
        )
    return key


def wrong_secret_type(secret: object) -> TypeError:
    """The error for a secret that is neither ``str`` nor ``bytes``, with the fix for bytes-like ones."""
    hint = ": pass bytes(secret)" if isinstance(secret, (bytearray, memoryview)) else ""
    return TypeError(f"the secret must be str or bytes, not {type(secret).__name__}{hint}")


def _decode(text: bytes, encoding: SecretEncoding) -> bytes:
    if encoding == "raw":
        return text
    if encoding == "hex":
        if not _HEX.fullmatch(text):
            raise InvalidSecretError(
                "the secret is not hex (an even number of 0-9, a-f): "
                "Tower's secrets are base64, so try base64 (secret_encoding='base64' in Python, "
                "--secret-encoding base64 on the command line)"
            )
        return bytes.fromhex(text.decode("ascii"))
    if _URLSAFE_BASE64.fullmatch(text):
        text = text.translate(_URLSAFE_TO_STANDARD)
    elif not _STANDARD_BASE64.fullmatch(text):
        raise InvalidSecretError(
            "the secret is not base64 (it has characters outside one base64 alphabet, or inner "
            "whitespace): copy it again from Tower, or say it is hex or raw (secret_encoding= in "
            "Python, --secret-encoding on the command line)"
        )
    unpadded = text.rstrip(b"=")
    if len(unpadded) % 4 == 1:
        raise InvalidSecretError("the secret is not valid base64 (its length is impossible): was it cut short?")
    try:
        return binascii.a2b_base64(unpadded + b"=" * (-len(unpadded) % 4))
    except binascii.Error:
        raise InvalidSecretError("the secret is not valid base64: copy it again from Tower") from None


def decode_secrets(secrets: tuple[Secret, ...], encoding: SecretEncoding) -> tuple[bytes, ...]:
    """Decode the live secrets: one, or several while a webhook is being replaced.

    Raises:
        InvalidSecretError: No secret was given, or one of them is invalid.
    """
    if not secrets:
        raise InvalidSecretError("no secret given: pass the webhook's secret (or a list of the live ones)")
    return tuple(decode_secret(secret, encoding) for secret in secrets)


def generate_secret() -> str:
    """Return a fresh random secret, base64-encoded like Tower's (64 random bytes).

    For tests and local tools: in production the secret comes from Tower.

    .. versionadded:: 0.1.0
    """
    return binascii.b2a_base64(secrets.token_bytes(64), newline=False).decode("ascii")
