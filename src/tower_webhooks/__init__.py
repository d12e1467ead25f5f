"""Verify that webhooks really come from Tower: HMAC-SHA512 over the timestamp and raw body.

    from tower_webhooks import Verifier

    verifier = Verifier(secret)                          # once, at start-up
    webhook = verifier.verify_headers(headers, raw_body)  # per request; raises if forged

Framework adapters live in ``tower_webhooks.adapters`` and are never imported from here, so
the core stays free of dependencies.
"""

from ._headers import SIGNATURE_HEADER, TIMESTAMP_HEADER
from ._secret import SecretEncoding, generate_secret
from ._signing import sign
from ._verify import DEFAULT_TOLERANCE_MS, VerifiedWebhook, Verifier, verify
from .exceptions import (
    BodyConsumedError,
    BodyTooLargeError,
    BodyUnavailableError,
    InvalidPayloadError,
    InvalidSecretError,
    MalformedSignatureError,
    MalformedTimestampError,
    MissingHeaderError,
    SignatureMismatchError,
    TimestampOutsideToleranceError,
    TowerWebhooksError,
    WebhookVerificationError,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_TOLERANCE_MS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "BodyConsumedError",
    "BodyTooLargeError",
    "BodyUnavailableError",
    "InvalidPayloadError",
    "InvalidSecretError",
    "MalformedSignatureError",
    "MalformedTimestampError",
    "MissingHeaderError",
    "SecretEncoding",
    "SignatureMismatchError",
    "TimestampOutsideToleranceError",
    "TowerWebhooksError",
    "VerifiedWebhook",
    "Verifier",
    "WebhookVerificationError",
    "__version__",
    "generate_secret",
    "sign",
    "verify",
]
