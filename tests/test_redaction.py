"""Nothing the library says ever shows the secret, the key or the expected signature."""

from __future__ import annotations

import base64

import pytest

from tower_webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, Verifier, WebhookVerificationError, sign
from tower_webhooks._secret import decode_secret
from tower_webhooks._signing import KeyedHmacSha512

from .values import BODY, NOW_MS, SECRET

EXPECTED = sign(SECRET, BODY, timestamp_ms=NOW_MS)[SIGNATURE_HEADER]
KEY = decode_secret(SECRET)
FORBIDDEN = [SECRET, EXPECTED, KEY.hex(), base64.b64encode(KEY).decode(), repr(KEY)]


def _assert_clean(text: str) -> None:
    for secret_text in FORBIDDEN:
        assert secret_text not in text


def test_reprs_are_redacted() -> None:
    """Verifier and the key state show no key material."""
    verifier = Verifier(SECRET)
    _assert_clean(repr(verifier) + str(verifier) + repr(KeyedHmacSha512(KEY)))
    assert "redacted" in repr(verifier)


@pytest.mark.parametrize(
    "headers",
    [
        {TIMESTAMP_HEADER: str(NOW_MS), SIGNATURE_HEADER: "A" * 86 + "=="},  # mismatch
        {TIMESTAMP_HEADER: str(NOW_MS - 10**9), SIGNATURE_HEADER: EXPECTED},  # too old
        {TIMESTAMP_HEADER: str(NOW_MS), SIGNATURE_HEADER: EXPECTED[:-2]},  # malformed
        {TIMESTAMP_HEADER: "x", SIGNATURE_HEADER: EXPECTED},
        {TIMESTAMP_HEADER: str(NOW_MS)},
    ],
)
def test_error_messages_are_clean(headers: dict[str, str]) -> None:
    """No failure's message, repr or attributes contain the secret, key or expected signature."""
    with pytest.raises(WebhookVerificationError) as caught:
        Verifier(SECRET, clock=lambda: NOW_MS).verify_headers(headers, BODY + b"!")
    error = caught.value
    _assert_clean(f"{error} {error!r} {vars(error)} {caught.getrepr()}")


def test_invalid_secret_message_does_not_echo_the_secret() -> None:
    """A refused secret is not repeated back in the error."""
    bad = "Zm9vYmFy$" + SECRET
    with pytest.raises(ValueError, match="not base64") as caught:
        Verifier(bad)
    assert bad not in str(caught.value)
    assert SECRET not in str(caught.value)
