"""The public API used the way an application would, checked by ``mypy --strict`` and never run.

A change that breaks a user's type-checked code fails here first.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

import tower_webhooks
from tower_webhooks import (
    DEFAULT_TOLERANCE_MS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    InvalidPayloadError,
    InvalidSecretError,
    MissingHeaderError,
    SignatureMismatchError,
    TimestampOutsideToleranceError,
    TowerWebhooksError,
    VerifiedWebhook,
    Verifier,
    WebhookVerificationError,
    generate_secret,
    sign,
    verify,
)
from tower_webhooks.testing import Delivery, TowerSigner

secret = generate_secret()
assert_type(secret, str)
assert_type(tower_webhooks.__version__, str)
assert_type(DEFAULT_TOLERANCE_MS, int)

headers = sign(secret, b"{}", timestamp_ms=1_764_468_000_000)
assert_type(headers, dict[str, str])

verifier = Verifier([secret, generate_secret()], tolerance_ms=60_000, clock=lambda: 1_764_468_000_000)
Verifier(b"raw key of sixteen bytes", secret_encoding="raw", tolerance_ms=None)

webhook = verifier.verify(headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], b"{}")
assert_type(webhook, VerifiedWebhook)
assert_type(webhook.timestamp_ms, int)
assert_type(webhook.body, bytes)
assert_type(webhook.json(), Any)

# Headers as a mapping, as ASGI byte pairs, and a body as bytearray or memoryview.
verifier.verify_headers(headers, bytearray(b"{}"))
verifier.verify_headers([(b"x-tower-signature", b"..."), (b"x-tower-webhook-timestamp", b"1")], memoryview(b"{}"))
verify(secret, "1764468000000", None, b"{}", now_ms=1_764_468_000_000)

try:
    webhook = verify(secret, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], b"{}")
except TimestampOutsideToleranceError as error:
    assert_type(error.timestamp_ms, int)
    assert_type(error.now_ms, int)
    assert_type(error.tolerance_ms, int)
except MissingHeaderError as error:
    assert_type(error.header, str)
except SignatureMismatchError as error:
    assert_type(error.reason, str)
except WebhookVerificationError as error:
    assert_type(error.reason, str)
    assert_type(error.message, str)
except (InvalidSecretError, InvalidPayloadError) as error:
    assert_type(error, InvalidSecretError | InvalidPayloadError)
except TowerWebhooksError:
    pass

signer = TowerSigner(secret, tolerance_ms=DEFAULT_TOLERANCE_MS)
delivery = signer.delivery({"event_type": "run.finished"})
assert_type(delivery, Delivery)
assert_type(delivery.headers, dict[str, str])
assert_type(delivery.reason, str | None)
assert_type(delivery.timestamp_ms, int | None)
for forgery in signer.forgeries(b"{}"):
    assert_type(forgery.body, bytes)

# Mistakes a type checker must catch: parsed JSON or text instead of the raw body, a float timestamp.
verifier.verify_headers(headers, {"event_type": "run.finished"})  # type: ignore[arg-type]
verifier.verify_headers(headers, "{}")  # type: ignore[arg-type]
sign(secret, b"{}", timestamp_ms=1.5)  # type: ignore[arg-type]
Verifier(secret, secret_encoding="utf-8")  # type: ignore[arg-type]
