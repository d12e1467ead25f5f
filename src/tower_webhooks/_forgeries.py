"""The requests a correct endpoint must reject: one list, for ``tower_webhooks.testing`` and ``send --check``.

Each forgery is the genuine request with one thing changed, so each tests one check. How far
outside the tolerance the stale and future ones are is the caller's: a test knows its endpoint's
tolerance, ``send --check`` does not.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass

from ._headers import SIGNATURE_HEADER, TIMESTAMP_HEADER
from ._secret import Secret, SecretEncoding
from ._signing import sign

__all__ = ["Forgery", "forge"]


@dataclass(frozen=True, slots=True)
class Forgery:
    """One request a correct endpoint rejects, and why.

    Attributes:
        name: What was changed, such as ``"tampered body"``.
        body: The body to post.
        headers: Tower's headers to send with it (one is left out where that is the forgery).
        reason: The [`WebhookVerificationError`][tower_webhooks.WebhookVerificationError] `reason`
            it must be rejected with.
    """

    name: str
    body: bytes
    headers: dict[str, str]
    reason: str


def forge(
    secret: Secret,
    body: bytes,
    *,
    now_ms: int,
    outside_ms: int,
    other_secret: Secret,
    secret_encoding: SecretEncoding = "base64",
) -> tuple[Forgery, ...]:
    """Return the forgeries of the request signed with ``secret`` over ``body`` at ``now_ms``.

    Args:
        secret: The secret the endpoint is configured with.
        body: The genuine request's body.
        now_ms: When the genuine request is signed, in Unix milliseconds.
        outside_ms: How far before and after ``now_ms`` the stale and future timestamps are.
        other_secret: The wrong secret to sign with (base64, like Tower's).
        secret_encoding: How ``secret`` is encoded.
    """

    def signed(timestamp_ms: int = now_ms) -> dict[str, str]:
        return sign(secret, body, timestamp_ms=timestamp_ms, secret_encoding=secret_encoding)

    genuine = signed()
    tampered = {**genuine, SIGNATURE_HEADER: _flip_bit(genuine[SIGNATURE_HEADER])}
    return (
        Forgery("tampered body", body + b" ", genuine, "signature_mismatch"),
        Forgery("tampered signature", body, tampered, "signature_mismatch"),
        Forgery("wrong secret", body, sign(other_secret, body, timestamp_ms=now_ms), "signature_mismatch"),
        Forgery("stale timestamp", body, signed(now_ms - outside_ms), "timestamp_too_old"),
        Forgery("future timestamp", body, signed(now_ms + outside_ms), "timestamp_too_new"),
        Forgery("timestamp in seconds", body, signed(now_ms // 1000), "timestamp_too_old"),
        Forgery("missing signature", body, _without(genuine, SIGNATURE_HEADER), "missing_header"),
        Forgery("missing timestamp", body, _without(genuine, TIMESTAMP_HEADER), "missing_header"),
    )


def _flip_bit(signature: str) -> str:
    """Flip one bit of the digest: still well-formed base64, and never the same letters in other case."""
    digest = bytearray(binascii.a2b_base64(signature))
    digest[0] ^= 1
    return binascii.b2a_base64(bytes(digest), newline=False).decode("ascii")


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in headers.items() if key != name}
