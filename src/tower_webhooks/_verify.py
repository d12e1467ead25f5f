"""Verifying a Tower webhook, in a hot path or in one call.

[`Verifier`][tower_webhooks.Verifier] for hot paths, [`verify`][tower_webhooks.verify] for one call.
"""

from __future__ import annotations

import functools
import hmac
import json
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, cast

from ._headers import (
    MAX_TIMESTAMP_DIGITS,
    SIGNATURE_LENGTH,
    Headers,
    HeaderValue,
    find_tower_headers,
    parse_signature,
    parse_timestamp,
    require_canonical,
)
from ._secret import Secret, SecretEncoding, decode_secrets, wrong_secret_type
from ._signing import Body, KeyedHmacSha512, current_time_ms, require_body
from .exceptions import InvalidPayloadError, InvalidSecretError, SignatureMismatchError, TimestampOutsideToleranceError

__all__ = ["DEFAULT_TOLERANCE_MS", "VerifiedWebhook", "Verifier", "verify"]

DEFAULT_TOLERANCE_MS = 300_000
"""Five minutes either way, as Stripe and Standard Webhooks use."""

_MIN_TOLERANCE_MS = 1_000
_DAY_MS = 86_400_000


class VerifiedWebhook(NamedTuple):
    """A request that proved it came from Tower: immutable.

    A named tuple rather than a frozen dataclass because it is built on every verified request,
    and a tuple is built several times faster.

    Attributes:
        timestamp_ms: When Tower signed it, in Unix milliseconds.
        body: The exact bytes that were verified.

    .. versionadded:: 0.1.0
    """

    timestamp_ms: int
    body: bytes

    def __repr__(self) -> str:
        return f"VerifiedWebhook(timestamp_ms={self.timestamp_ms}, body=<{len(self.body)} bytes>)"

    def json(self) -> Any:
        """Parse the body as JSON. Tower publishes no schema, so no field is ever required.

        Raises:
            InvalidPayloadError: The body is not UTF-8, or not JSON.
        """
        try:
            return json.loads(self.body.decode("utf-8"))
        except UnicodeDecodeError as error:
            raise InvalidPayloadError(f"the webhook body is not UTF-8 (byte {error.start})") from None
        except RecursionError:
            raise InvalidPayloadError("the webhook body is JSON nested too deeply to parse") from None
        except ValueError as error:  # JSONDecodeError, and int literals past Python's digit limit
            raise InvalidPayloadError(f"the webhook body is not JSON: {error}") from None


# What NamedTuple's own constructor calls, minus a Python-level frame: verify builds one per request.
_new_verified_webhook = tuple.__new__


def _check_tolerance(tolerance_ms: int | None) -> int | None:
    if tolerance_ms is None:
        return None
    if not isinstance(tolerance_ms, int) or isinstance(tolerance_ms, bool):
        raise TypeError(f"tolerance_ms must be an int of milliseconds or None, not {type(tolerance_ms).__name__}")
    if tolerance_ms < _MIN_TOLERANCE_MS:
        guess = max(tolerance_ms, 1) * 1000
        default = "" if guess == DEFAULT_TOLERANCE_MS else f" or the default {DEFAULT_TOLERANCE_MS:_}"
        raise ValueError(
            f"tolerance_ms={tolerance_ms} is under one second: it is in milliseconds (did you mean {guess:_}{default}?)"
        )
    return tolerance_ms


def _outside_tolerance(
    timestamp_ms: int, now: int, tolerance_ms: int, *, clock_given: bool
) -> TimestampOutsideToleranceError:
    """The error for a timestamp beyond the tolerance, naming the likely cause.

    Raises:
        ValueError: The clock the caller gave (``now_ms=`` or ``clock=``) reads Unix seconds: the
            caller's mistake, not the sender's, so not a verification error. The system clock is
            never suspected: near 1970 (a board without a real-time clock, before NTP) its
            milliseconds would look like seconds.
    """
    if clock_given and abs(now * 1000 - current_time_ms()) < _DAY_MS:
        raise ValueError(
            f"the current time given is {now}, which is Unix seconds: now_ms= and clock= take Unix "
            "milliseconds (time.time_ns() // 1_000_000)"
        )
    if abs(timestamp_ms * 1000 - now) < _DAY_MS:
        message = "the timestamp looks like Unix seconds, but Tower sends milliseconds: the sender's unit is wrong"
    elif abs(timestamp_ms // 1000 - now) < _DAY_MS:
        message = "the timestamp looks like Unix microseconds, but Tower sends milliseconds: the sender's unit is wrong"
    else:
        age = now - timestamp_ms
        cause = "a replayed request, or a clock that is off" if age > 0 else "the sender's clock, or this one, is off"
        message = (
            f"the timestamp is {abs(age) / 1000:,.3f} s {'old' if age > 0 else 'in the future'}, beyond the "
            f"tolerance of {tolerance_ms / 1000:,.3f} s: {cause}"
        )
    return TimestampOutsideToleranceError(message, timestamp_ms=timestamp_ms, now_ms=now, tolerance_ms=tolerance_ms)


class Verifier:
    """Verifies Tower webhooks with a secret decoded once and a precomputed HMAC key.

    Build one at start-up and share it: it holds no per-request state and is thread-safe.

    Args:
        secret: The shared secret Tower showed, or a sequence of secrets that are all live
            (Tower has no rotation: while a webhook is deleted and recreated, accept both).
        tolerance_ms: How far, in milliseconds, the timestamp may be from the clock, either way.
            ``None`` skips the check: only for re-checking stored captures, never for live
            traffic, where it would accept replays forever.
        secret_encoding: ``"base64"`` (Tower's: standard or URL-safe, padding optional),
            ``"hex"`` or ``"raw"`` (the bytes as given).
        clock: Returns the current Unix time in milliseconds; the system clock by default.

    Raises:
        InvalidSecretError: A secret is empty, cannot be decoded, or is under 16 bytes.
        ValueError: ``tolerance_ms`` is under 1,000 (it is in milliseconds).

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_clock", "_key", "_more_keys", "_tolerance_ms")

    def __init__(
        self,
        secret: Secret | Sequence[Secret],
        *,
        tolerance_ms: int | None = DEFAULT_TOLERANCE_MS,
        secret_encoding: SecretEncoding = "base64",
        clock: Callable[[], int] | None = None,
    ) -> None:
        first, *more = (KeyedHmacSha512(key) for key in decode_secrets(_as_tuple(secret), secret_encoding))
        # One secret is the rule and several the exception (a webhook being replaced): the first key
        # on its own spares the common case a loop.
        self._key, self._more_keys = first, tuple(more)
        self._tolerance_ms = _check_tolerance(tolerance_ms)
        self._clock = clock  # None: the system clock, read inline on the hot path

    def __repr__(self) -> str:
        return f"Verifier(secrets=<{1 + len(self._more_keys)} redacted>, tolerance_ms={self._tolerance_ms})"

    def verify(self, timestamp_header: HeaderValue, signature_header: HeaderValue, raw_body: Body) -> VerifiedWebhook:
        """Verify one request from its two header values and its raw body.

        Args:
            timestamp_header: The ``X-Tower-Webhook-Timestamp`` value (``None`` if absent).
            signature_header: The ``X-Tower-Signature`` value (``None`` if absent).
            raw_body: The body exactly as received, never re-serialised JSON.

        Returns:
            The verified webhook.

        Raises:
            MissingHeaderError: A header is absent or empty.
            MalformedTimestampError: The timestamp is not 1 to 16 ASCII digits.
            MalformedSignatureError: The signature is not padded base64 of 64 bytes.
            TimestampOutsideToleranceError: The timestamp is too far from the clock.
            SignatureMismatchError: No live secret signed these bytes.
            TypeError: ``raw_body`` is not bytes-like (pass the raw body, not text or JSON).
            ValueError: ``clock=`` gives Unix seconds where milliseconds are due (told only when
                the timestamp falls outside the tolerance, so that it costs nothing otherwise).
        """
        # Every request comes through here, so the common case (ASCII headers of the right shape)
        # is decided in a few C calls; any doubt goes to the parsers, which strip surrounding
        # blanks or raise the error that says what is wrong (docs/performance.md has the figures).
        body = raw_body if type(raw_body) is bytes else require_body(raw_body)
        if type(timestamp_header) is bytes and type(signature_header) is bytes:  # as ASGI servers give them
            digits, given = timestamp_header, signature_header
        else:
            # str.encode, not .encode: another type's encode() (email.header.Header's) gives text. UTF-8,
            # CPython's fastest: text that is not ASCII fails isdigit() or the comparison below, and only
            # then do the parsers run, so it is reported as the parsers would.
            try:
                digits = str.encode(timestamp_header)  # type: ignore[arg-type]
                given = str.encode(signature_header)  # type: ignore[arg-type]
            except (TypeError, UnicodeEncodeError):  # None, a mix, or a lone surrogate
                digits = given = b""
        if len(digits) <= MAX_TIMESTAMP_DIGITS and digits.isdigit():
            timestamp_ms = int(digits)
        else:
            digits, timestamp_ms = parse_timestamp(timestamp_header)
        if len(given) != SIGNATURE_LENGTH:
            given = parse_signature(signature_header)
        tolerance_ms = self._tolerance_ms
        if tolerance_ms is not None:
            # time.time_ns looked up on each call, so that a test that pins it pins sign() and this alike
            now = time.time_ns() // 1_000_000 if self._clock is None else self._clock()
            if abs(now - timestamp_ms) > tolerance_ms:
                parse_signature(signature_header)  # an 88-character value of the wrong shape is named first
                raise _outside_tolerance(timestamp_ms, now, tolerance_ms, clock_given=self._clock is not None)
        matched = hmac.compare_digest(self._key.signature(digits, body), given)
        for key in self._more_keys:  # every key, even after a match: the time taken reveals nothing
            matched |= hmac.compare_digest(key.signature(digits, body), given)
        if not matched:  # the expected value is canonical base64: only now is a malformed one told apart
            require_canonical(parse_signature(signature_header))
            raise SignatureMismatchError(
                "the signature does not match the body and timestamp: the body was changed "
                "(re-serialised JSON?), or it was signed with another secret"
            )
        return _new_verified_webhook(VerifiedWebhook, (timestamp_ms, body))

    def verify_headers(self, headers: Headers, raw_body: Body) -> VerifiedWebhook:
        """Verify one request given all its headers, looked up case-insensitively.

        Args:
            headers: Any mapping of header names to values, or an iterable of ``(name, value)``
                pairs of ``str`` or ``bytes`` (ASGI's ``scope["headers"]``).
            raw_body: The body exactly as received.

        Raises:
            WebhookVerificationError: The subclass [`verify`][tower_webhooks.Verifier.verify]
                names for the failure; a Tower header given twice is malformed.
            TypeError: ``raw_body`` is not bytes-like (pass the raw body, not text or JSON).
        """
        timestamp, signature = find_tower_headers(headers)
        return self.verify(timestamp, signature, raw_body)

    def _at(self, now_ms: int) -> Verifier:
        """This verifier with the clock stopped at ``now_ms``, sharing its key states."""
        stopped = object.__new__(Verifier)
        stopped._key, stopped._more_keys = self._key, self._more_keys
        stopped._tolerance_ms, stopped._clock = self._tolerance_ms, lambda: now_ms
        return stopped


def _as_tuple(secret: Secret | Sequence[Secret]) -> tuple[Secret, ...]:
    if isinstance(secret, (str, bytes)):
        return (secret,)
    if isinstance(secret, (bytearray, memoryview)):  # a Sequence, but of ints, not of secrets
        raise wrong_secret_type(secret)
    if secret is None:  # os.environ.get() of a variable that is not set
        raise InvalidSecretError("the secret is None: the setting or environment variable meant to hold it is not set")
    if not isinstance(secret, Sequence):
        raise TypeError(f"the secret must be str, bytes or a sequence of them, not {type(secret).__name__}")
    return tuple(cast("Sequence[Secret]", secret))  # mypy cannot narrow bytes (a Sequence[int]) away


@functools.lru_cache(maxsize=8)
def _cached_verifier(secrets: tuple[Secret, ...], encoding: SecretEncoding, tolerance_ms: int | None) -> Verifier:
    """The verifier behind [`verify`][tower_webhooks.verify] for one set of arguments.

    [`verify`][tower_webhooks.verify] is given the secret on every call; without this cache,
    decoding it and scheduling the HMAC key would cost more than hashing a 1 KiB body. It holds
    the verifiers of the last few secrets used, which live in the process anyway (in its
    configuration).
    """
    return Verifier(secrets, tolerance_ms=tolerance_ms, secret_encoding=encoding)


def verify(
    secret: Secret | Sequence[Secret],
    timestamp_header: HeaderValue,
    signature_header: HeaderValue,
    raw_body: Body,
    tolerance_ms: int | None = DEFAULT_TOLERANCE_MS,
    *,
    now_ms: int | None = None,
    secret_encoding: SecretEncoding = "base64",
) -> VerifiedWebhook:
    """Verify one Tower webhook in one call.

    For many requests, build a [`Verifier`][tower_webhooks.Verifier] once instead: it decodes the
    secret once.

    Args:
        secret: The shared secret Tower showed (or a sequence of live secrets).
        timestamp_header: The ``X-Tower-Webhook-Timestamp`` value (``None`` if absent).
        signature_header: The ``X-Tower-Signature`` value (``None`` if absent).
        raw_body: The body exactly as received.
        tolerance_ms: See [`Verifier`][tower_webhooks.Verifier].
        now_ms: The current Unix time in milliseconds; the system clock by default.
        secret_encoding: See [`Verifier`][tower_webhooks.Verifier].

    Returns:
        The verified webhook.

    Raises:
        WebhookVerificationError: The subclass
            [`Verifier.verify`][tower_webhooks.Verifier.verify] names for the failure.
        InvalidSecretError: A secret is empty, cannot be decoded, or is under 16 bytes.
        TypeError: ``raw_body`` is not bytes-like, or an argument has the wrong type.
        ValueError: ``tolerance_ms`` is under 1,000, or ``now_ms`` is Unix seconds (both are in
            milliseconds).

    .. versionadded:: 0.1.0
    """
    secrets, tolerance = _as_tuple(secret), _check_tolerance(tolerance_ms)
    try:
        verifier: Verifier | None = _cached_verifier(secrets, secret_encoding, tolerance)
    except (TypeError, ValueError):  # unhashable (a bytearray in a list), or unusable: Verifier says which
        verifier = None
    if verifier is None:  # built outside the except clause, so its error is not chained to the cache's
        verifier = Verifier(secrets, tolerance_ms=tolerance, secret_encoding=secret_encoding)
    if now_ms is not None:
        if not isinstance(now_ms, int) or isinstance(now_ms, bool):
            raise TypeError(f"now_ms must be an int of Unix milliseconds or None, not {type(now_ms).__name__}")
        verifier = verifier._at(now_ms)
    return verifier.verify(timestamp_header, signature_header, raw_body)
