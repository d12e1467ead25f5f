"""What is timed for each library: its documented verification call, and its own HMAC floor.

Each library signs a different message with a different hash (tower-webhooks: HMAC-SHA512 over
``timestamp + body``; the peers: HMAC-SHA256 over their own framing), so each one is compared with
``hmac.digest`` of exactly its message under its key, joined outside the timing. The overhead of a
library is its time minus that floor: what it costs beyond the cryptography it cannot avoid.

Before anything is timed, each contender proves it is measured doing real work: its floor equals
the signature it was given, the valid request is accepted and a tampered body is rejected.
Peers are imported only here, from the benchmark environment: they are never dependencies of
tower-webhooks, and a peer that is not installed is reported as skipped, never dropped silently.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
import importlib.metadata
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

import tower_webhooks
from tower_webhooks import Verifier, generate_secret, sign, verify

from ._timing import Case

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["PEERS", "SHA512_FLOOR", "BenchSetupError", "Call", "Contender", "PeerMissingError", "Takes", "ours", "peer"]

SHA512_FLOOR = "sha512 floor"
"""The name of the bare ``hashlib.sha512(ts + body)`` case: the hashing alone, nothing else."""

_SECRET_BYTES = bytes(range(32))  # the peers' keys: a fixed 32 bytes, as their secrets are


class BenchSetupError(RuntimeError):
    """A contender would be measured doing something other than verifying: the run must stop."""


class PeerMissingError(RuntimeError):
    """The peer is not installed in this environment (``make bench`` installs every one)."""


Takes = Literal["header values", "header mapping", "secret each call"]
"""What a call is given: only calls given the same thing are compared with each other."""


@dataclass(frozen=True)
class Call:
    """One timed verification call, and what it is given besides the body."""

    case: Case
    takes: Takes


@dataclass(frozen=True)
class Contender:
    """One library's verification calls and the floor they are compared with.

    Attributes:
        library: The distribution name, as in the report.
        version: Its installed version.
        calls: The timed verification calls.
        floor: ``hmac.digest`` of the library's own message, with its own key and hash.
        floor_label: What the floor computes, for the report.
    """

    library: str
    version: str
    calls: tuple[Call, ...]
    floor: Case
    floor_label: str


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise BenchSetupError(message)


def ours(body: bytes) -> tuple[Contender, Case]:
    """tower-webhooks' calls and HMAC floor, and the bare ``hashlib.sha512`` floor.

    Returns:
        The contender (``Verifier.verify``, ``Verifier.verify_headers``, the one-call ``verify()``)
        and the bare SHA-512 floor over the same bytes.
    """
    secret = generate_secret()
    key = base64.b64decode(secret)
    headers = sign(secret, body)
    timestamp = headers[tower_webhooks.TIMESTAMP_HEADER]
    signature = headers[tower_webhooks.SIGNATURE_HEADER]
    request_headers = {**headers, "Content-Type": "application/json"}
    message = timestamp.encode("ascii") + body
    verifier = Verifier(secret)
    namespace: dict[str, object] = {
        "hashlib": hashlib,
        "hmac": hmac,
        "verifier": verifier,
        "verify": verify,
        "secret": secret,
        "key": key,
        "message": message,
        "timestamp": timestamp,
        "signature": signature,
        "headers": request_headers,
        "body": body,
    }
    _require(
        base64.b64encode(hmac.digest(key, message, "sha512")).decode() == signature,
        "the tower-webhooks floor does not compute the signature",
    )
    calls = (
        Call(Case("Verifier.verify", "verifier.verify(timestamp, signature, body)", namespace), "header values"),
        Call(Case("Verifier.verify_headers", "verifier.verify_headers(headers, body)", namespace), "header mapping"),
        Call(Case("verify()", "verify(secret, timestamp, signature, body)", namespace), "secret each call"),
    )
    _check_calls("tower-webhooks", calls, body, lambda webhook: getattr(webhook, "body", None) == body)
    contender = Contender(
        library="tower-webhooks",
        version=tower_webhooks.__version__,
        calls=calls,
        floor=Case("hmac sha512 floor", 'hmac.digest(key, message, "sha512")', namespace),
        floor_label="hmac.digest(key, ts + body, 'sha512')",
    )
    return contender, Case(SHA512_FLOOR, "hashlib.sha512(message).digest()", namespace)


def _import(module: str, distribution: str) -> tuple[Any, str]:
    try:
        imported = importlib.import_module(module)
    except ModuleNotFoundError:
        raise PeerMissingError(f"{distribution} is not installed here (make bench installs it)") from None
    return imported, importlib.metadata.version(distribution)


def _accepts(case: Case, body: bytes, accepted: Callable[[object], bool]) -> bool:
    """Run the very statement that is timed, on ``body``: did it accept (no exception, and a yes)?"""
    try:
        result = eval(case.stmt, {**case.namespace, "body": body})  # noqa: S307 - our statement, our names
    except Exception:
        return False
    return accepted(result)


def _check_calls(library: str, calls: tuple[Call, ...], body: bytes, accepted: Callable[[object], bool]) -> None:
    for call in calls:
        _require(_accepts(call.case, body, accepted), f"{library}: {call.case.name} rejected a valid request")
        tampered = body + b" "
        _require(not _accepts(call.case, tampered, accepted), f"{library}: {call.case.name} accepted a tampered body")


def _peer(
    library: str,
    version: str,
    calls: dict[str, tuple[str, Takes]],
    namespace: dict[str, object],
    *,
    body: bytes,
    key: bytes,
    message: bytes,
    expected: bytes,
    floor_label: str,
    accepted: Callable[[object], bool],
) -> Contender:
    """Check the floor computes the peer's signature and each call accepts the request but not a tampered body."""
    _require(
        hmac.compare_digest(hmac.digest(key, message, "sha256"), expected),
        f"the {library} floor does not compute its signature",
    )
    namespace.update(hmac=hmac, key=key, message=message, body=body)
    timed = tuple(Call(Case(f"{library} {name}", code, namespace), takes) for name, (code, takes) in calls.items())
    _check_calls(library, timed, body, accepted)
    return Contender(
        library=library,
        version=version,
        calls=timed,
        floor=Case(f"{library} floor", 'hmac.digest(key, message, "sha256")', namespace),
        floor_label=floor_label,
    )


def _standard_webhooks(distribution: str, module: str, body: bytes) -> Contender:
    """Standard Webhooks (and Svix, which wraps it): HMAC-SHA256 over ``id.timestamp.body``."""
    webhooks, version = _import(module, distribution)
    secret = "whsec_" + base64.b64encode(_SECRET_BYTES).decode()
    webhook = webhooks.Webhook(secret)
    message_id = "msg_2mC8Rj0C4KJ3c1ODLxk8pvXMVrS"
    timestamp = int(time.time())
    signature = webhook.sign(message_id, datetime.fromtimestamp(timestamp, tz=timezone.utc), body.decode())
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
        "content-type": "application/json",
    }
    # Verification alone, as ours does: standardwebhooks also parses the JSON unless told not to
    # (svix's Webhook.verify never parses).
    statement = "webhook.verify(body, headers" + (", json_parse=False)" if distribution == "standardwebhooks" else ")")
    return _peer(
        distribution,
        version,
        {"Webhook.verify": (statement, "header mapping")},
        {"webhook": webhook, "headers": headers},
        body=body,
        key=_SECRET_BYTES,
        message=f"{message_id}.{timestamp}.".encode() + body,
        expected=base64.b64decode(signature.split(",", 1)[1]),
        floor_label="hmac.digest(key, id.ts.body, 'sha256')",
        accepted=lambda result: result is None,
    )


def _stripe(body: bytes) -> Contender:
    """Stripe: ``WebhookSignature.verify_header``, HMAC-SHA256 over ``timestamp.body``, hex."""
    stripe, version = _import("stripe", "stripe")
    secret = "whsec_" + _SECRET_BYTES.hex()
    timestamp = int(time.time())
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp=timestamp)
    # construct_event would also parse the JSON into an Event; verify_header is Stripe's own
    # "verify only" call, the one comparable with ours. It takes the Stripe-Signature value.
    return _peer(
        "stripe",
        version,
        {"verify_header": ("WebhookSignature.verify_header(body, header, secret, 300)", "header values")},
        {"WebhookSignature": stripe.WebhookSignature, "header": header, "secret": secret},
        body=body,
        key=secret.encode(),
        message=b"%d." % timestamp + body,
        expected=bytes.fromhex(header.split("v1=", 1)[1]),
        floor_label="hmac.digest(secret, ts.body, 'sha256')",
        accepted=lambda result: result is True,
    )


def _slack(body: bytes) -> Contender:
    """Slack: ``SignatureVerifier``, HMAC-SHA256 over ``v0:timestamp:body``, hex; answers True or False."""
    signature_module, version = _import("slack_sdk.signature", "slack_sdk")
    secret = _SECRET_BYTES.hex()
    verifier = signature_module.SignatureVerifier(secret)
    timestamp = str(int(time.time()))
    signature = verifier.generate_signature(timestamp=timestamp, body=body)
    headers = {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
        "Content-Type": "application/json",
    }
    return _peer(
        "slack_sdk",
        version,
        {
            "is_valid": ("verifier.is_valid(body, timestamp, signature)", "header values"),
            "is_valid_request": ("verifier.is_valid_request(body, headers)", "header mapping"),
        },
        {"verifier": verifier, "timestamp": timestamp, "signature": signature, "headers": headers},
        body=body,
        key=secret.encode(),
        message=f"v0:{timestamp}:".encode() + body,
        expected=bytes.fromhex(signature.removeprefix("v0=")),
        floor_label="hmac.digest(secret, v0:ts:body, 'sha256')",
        accepted=lambda result: result is True,
    )


PEERS: dict[str, Callable[[bytes], Contender]] = {
    "standardwebhooks": lambda body: _standard_webhooks("standardwebhooks", "standardwebhooks", body),
    "svix": lambda body: _standard_webhooks("svix", "svix.webhooks", body),
    "stripe": _stripe,
    "slack_sdk": _slack,
}


def peer(name: str, body: bytes) -> Contender:
    """Set up one peer for ``body``.

    Raises:
        PeerMissingError: It is not installed here.
        BenchSetupError: It would not be measured verifying.
    """
    return PEERS[name](body)
