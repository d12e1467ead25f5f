"""Helpers for testing your own endpoint: requests signed the way Tower signs, and forgeries.

Standard library only, so they work under any test runner. Under pytest, the ``tower_signer``
fixture hands you a [`TowerSigner`][tower_webhooks.testing.TowerSigner] with a fresh secret;
override the ``tower_webhook_secret`` fixture to sign with the secret your app is configured
with. The fixtures come from a pytest plugin that this package registers, so there is nothing to
set up.

    def test_accepts_tower(client, tower_signer):
        delivery = tower_signer.delivery(b'{"event_type": "run.finished"}')
        response = client.post("/webhooks/tower", content=delivery.body, headers=delivery.headers)
        assert response.status_code == 200
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ._forgeries import forge
from ._headers import TIMESTAMP_HEADER
from ._secret import Secret, generate_secret
from ._signing import Body, current_time_ms, require_body, sign
from ._verify import DEFAULT_TOLERANCE_MS

__all__ = ["Delivery", "TowerSigner"]

_MARGIN_MS = 60_000  # how far past the tolerance a stale forgery is, so a slow test cannot blur it


@dataclass(frozen=True, slots=True)
class Delivery:
    """One request to post to your endpoint: the exact body and the headers to send with it.

    Attributes:
        name: What the request is, such as ``"valid"`` or ``"tampered body"``.
        body: The exact bytes to send.
        headers: ``Content-Type`` and Tower's two headers (a forgery may lack one).
        reason: ``None`` if a correct endpoint accepts the request; otherwise the
            [`reason`][tower_webhooks.WebhookVerificationError] it must be rejected with,
            which the adapters also send back as ``{"error": reason}``.

    .. versionadded:: 0.1.0
    """

    name: str
    body: bytes
    headers: dict[str, str] = field(repr=False)
    reason: str | None = None

    @property
    def timestamp_ms(self) -> int | None:
        """The timestamp this request was signed at, or ``None`` if it has no timestamp header."""
        value = self.headers.get(TIMESTAMP_HEADER)
        return None if value is None else int(value)


class TowerSigner:
    """Signs request bodies the way Tower does, with one secret, to test an endpoint.

    Args:
        secret: The secret your endpoint is configured with, base64-encoded like Tower's;
            a fresh random one by default (read it back from
            [`secret`][tower_webhooks.testing.TowerSigner.secret]).
        tolerance_ms: Your endpoint's tolerance, so stale forgeries fall outside it.
        clock: Returns the current Unix time in milliseconds; the system clock by default.

    Raises:
        InvalidSecretError: ``secret`` cannot be used.

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_clock", "_other_secret", "_secret", "_tolerance_ms")

    def __init__(
        self,
        secret: Secret | None = None,
        *,
        tolerance_ms: int = DEFAULT_TOLERANCE_MS,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self._secret = generate_secret() if secret is None else secret
        sign(self._secret, b"")  # an unusable secret fails here, not in the middle of a test
        self._other_secret = generate_secret()
        self._tolerance_ms = tolerance_ms
        self._clock = current_time_ms if clock is None else clock

    def __repr__(self) -> str:
        return f"TowerSigner(secret=<redacted>, tolerance_ms={self._tolerance_ms})"

    @property
    def secret(self) -> Secret:
        """The secret requests are signed with: configure your app with it."""
        return self._secret

    def delivery(self, body: Body | Mapping[str, object] = b"{}", *, timestamp_ms: int | None = None) -> Delivery:
        """Sign ``body`` as Tower would and return the request to post.

        Args:
            body: The raw bytes to send, or a mapping to send as compact JSON.
            timestamp_ms: The Unix time in milliseconds to sign at; the clock's by default.

        Returns:
            A [`Delivery`][tower_webhooks.testing.Delivery] a correct endpoint accepts.
        """
        raw = _as_bytes(body)
        now = self._clock() if timestamp_ms is None else timestamp_ms
        return Delivery("valid", raw, _headers(sign(self._secret, raw, timestamp_ms=now)))

    def forgeries(self, body: Body | Mapping[str, object] = b"{}") -> tuple[Delivery, ...]:
        """Return the requests a correct endpoint must reject, one per way a forgery goes wrong.

        Each is the valid request for ``body`` with one thing changed: the body, the signature,
        the secret, the timestamp (stale, in the future, in seconds), or a header left out.
        Post each and check that the endpoint answers 400 with the delivery's ``reason``.

        Args:
            body: The raw bytes to send, or a mapping to send as compact JSON.
        """
        raw = _as_bytes(body)
        forged = forge(
            self._secret,
            raw,
            now_ms=self._clock(),
            outside_ms=self._tolerance_ms + _MARGIN_MS,
            other_secret=self._other_secret,
        )
        return tuple(
            Delivery(forgery.name, forgery.body, _headers(forgery.headers), forgery.reason) for forgery in forged
        )


def _as_bytes(body: Body | Mapping[str, object]) -> bytes:
    if isinstance(body, Mapping):
        return json.dumps(body, separators=(",", ":")).encode("utf-8")
    return require_body(body)


def _headers(signed: dict[str, str]) -> dict[str, str]:
    return {"Content-Type": "application/json", **signed}
