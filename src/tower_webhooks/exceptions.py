"""The exceptions tower-webhooks raises.

Everything derives from [`TowerWebhooksError`][tower_webhooks.TowerWebhooksError]. A request that
must be rejected raises a [`WebhookVerificationError`][tower_webhooks.WebhookVerificationError]
subclass, whose ``reason`` is a stable machine-readable code (safe to log, to count in metrics and
to send back to the caller). Configuration mistakes
([`InvalidSecretError`][tower_webhooks.InvalidSecretError]) are kept apart from bad requests on
purpose: a broken deployment must never look like a sender's fault.

No message or attribute ever holds the secret, the key or the expected signature.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "BodyConsumedError",
    "BodyTooLargeError",
    "BodyUnavailableError",
    "InvalidPayloadError",
    "InvalidSecretError",
    "MalformedSignatureError",
    "MalformedTimestampError",
    "MissingHeaderError",
    "SignatureMismatchError",
    "TimestampOutsideToleranceError",
    "TowerWebhooksError",
    "WebhookVerificationError",
]


class TowerWebhooksError(Exception):
    """Root of every exception this library raises.

    .. versionadded:: 0.1.0
    """


class WebhookVerificationError(TowerWebhooksError):
    """The request did not prove it came from Tower: reject it (HTTP 400, or as a subclass says).

    Attributes:
        reason: A stable code for the failure, such as ``"signature_mismatch"``.

    .. versionadded:: 0.1.0
    """

    reason: str = "verification_failed"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MissingHeaderError(WebhookVerificationError):
    """A required header is absent, empty or only whitespace.

    Attributes:
        header: The header's canonical name, such as ``"X-Tower-Signature"``.

    .. versionadded:: 0.1.0
    """

    reason = "missing_header"

    def __init__(self, header: str) -> None:
        super().__init__(
            f"the {header} header is missing or empty: is the request coming from Tower, "
            "and does your proxy forward this header?"
        )
        self.header = header


class MalformedTimestampError(WebhookVerificationError):
    """The timestamp header is not 1 to 16 ASCII digits (Unix milliseconds).

    .. versionadded:: 0.1.0
    """

    reason = "malformed_timestamp"


class TimestampOutsideToleranceError(WebhookVerificationError):
    """The timestamp is further from the receiver's clock than the tolerance allows.

    Either the request is a replay, or one of the two clocks is wrong.

    Attributes:
        timestamp_ms: The timestamp the request carried, in Unix milliseconds.
        now_ms: The receiver's clock when it checked, in Unix milliseconds.
        tolerance_ms: The largest distance accepted, in milliseconds.
        reason: ``"timestamp_too_old"`` or ``"timestamp_too_new"``.

    .. versionadded:: 0.1.0
    """

    reason: Literal["timestamp_too_old", "timestamp_too_new"]

    def __init__(self, message: str, *, timestamp_ms: int, now_ms: int, tolerance_ms: int) -> None:
        super().__init__(message)
        self.timestamp_ms = timestamp_ms
        self.now_ms = now_ms
        self.tolerance_ms = tolerance_ms
        self.reason = "timestamp_too_old" if timestamp_ms < now_ms else "timestamp_too_new"


class MalformedSignatureError(WebhookVerificationError):
    """The signature header is not the padded standard base64 of 64 bytes.

    .. versionadded:: 0.1.0
    """

    reason = "malformed_signature"


class SignatureMismatchError(WebhookVerificationError):
    """The signature is well formed but was not made with the secret over these bytes.

    .. versionadded:: 0.1.0
    """

    reason = "signature_mismatch"


class InvalidSecretError(TowerWebhooksError, ValueError):
    """The configured secret is empty, cannot be decoded, or is too short.

    Raised when the secret is given (at construction), so a misconfigured deployment fails at
    start-up instead of blaming every sender.

    .. versionadded:: 0.1.0
    """


class InvalidPayloadError(TowerWebhooksError, ValueError):
    """A verified body is not JSON (or not UTF-8), so it cannot be parsed.

    .. versionadded:: 0.1.0
    """


class BodyTooLargeError(WebhookVerificationError):
    """The body is over the size limit, so it was not read (or not all of it): HTTP 413.

    Attributes:
        max_body_bytes: The limit that was exceeded, in bytes.
        setting: The framework setting that set the limit (such as Django's
            ``"DATA_UPLOAD_MAX_MEMORY_SIZE"``), or ``None`` for the adapter's own ``max_body_bytes``.

    .. versionadded:: 0.1.0
    """

    reason = "body_too_large"

    def __init__(self, message: str, *, max_body_bytes: int, setting: str | None = None) -> None:
        super().__init__(message)
        self.max_body_bytes = max_body_bytes
        self.setting = setting


class BodyUnavailableError(WebhookVerificationError):
    """The server could not hand over the body, so nothing can be verified: HTTP 411.

    This is a chunked request without ``Content-Length`` under a WSGI server (or a Django WSGI
    handler) that passes such bodies on as empty bytes. Reporting a signature mismatch instead
    would send the reader after the wrong secret.

    .. versionadded:: 0.1.0
    """

    reason = "body_unavailable"


class BodyConsumedError(TowerWebhooksError, RuntimeError):
    """Code that ran before the adapter already read the request body: a bug on the receiver.

    The raw bytes Tower signed are gone (form parsing, ``request.POST``, a drained ASGI
    ``receive``), so the adapter answers HTTP 500 and logs this instead of blaming the sender
    with a signature mismatch.

    Attributes:
        reason: ``"body_consumed"``.

    .. versionadded:: 0.1.0
    """

    reason = "body_consumed"
