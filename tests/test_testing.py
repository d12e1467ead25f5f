"""tower_webhooks.testing: signed deliveries and forgeries, and the pytest fixtures that hand them out."""

from __future__ import annotations

import base64
import subprocess
import sys

import pytest

from tower_webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, Verifier, WebhookVerificationError, sign
from tower_webhooks.testing import Delivery, TowerSigner

from .values import NOW_MS, SECRET

BODY = b'{"event_type":"run.finished","data":{"run":{"status":"crashed"}}}'


@pytest.fixture
def signer() -> TowerSigner:
    return TowerSigner(SECRET, clock=lambda: NOW_MS)


def _verify(delivery: Delivery, *, tolerance_ms: int = 300_000) -> None:
    Verifier(SECRET, tolerance_ms=tolerance_ms, clock=lambda: NOW_MS).verify_headers(delivery.headers, delivery.body)


def test_delivery_verifies(signer: TowerSigner) -> None:
    """A delivery carries the body as given and headers that verify with the same secret."""
    delivery = signer.delivery(BODY)
    _verify(delivery)
    assert (delivery.name, delivery.body, delivery.reason) == ("valid", BODY, None)
    assert delivery.headers["Content-Type"] == "application/json"
    assert delivery.timestamp_ms == NOW_MS


def test_delivery_at_a_given_time(signer: TowerSigner) -> None:
    """timestamp_ms signs at that time instead of the clock's."""
    assert signer.delivery(BODY, timestamp_ms=NOW_MS - 5).timestamp_ms == NOW_MS - 5


def test_mapping_body_is_sent_as_compact_json(signer: TowerSigner) -> None:
    """A mapping becomes compact JSON bytes, and those bytes are what is signed."""
    delivery = signer.delivery({"event_type": "run.started", "data": {}})
    assert delivery.body == b'{"event_type":"run.started","data":{}}'
    _verify(delivery)


def test_every_forgery_is_rejected_with_its_reason(signer: TowerSigner) -> None:
    """Each forgery fails verification with exactly the reason it announces."""
    forgeries = signer.forgeries(BODY)
    assert len({forgery.name for forgery in forgeries}) == len(forgeries) == 8
    for forgery in forgeries:
        with pytest.raises(WebhookVerificationError) as caught:
            _verify(forgery)
        assert caught.value.reason == forgery.reason, forgery.name


def test_forgeries_differ_from_the_valid_request_in_one_thing(signer: TowerSigner) -> None:
    """Only the body, one header, or the signing inputs change, so each forgery tests one check."""
    valid = signer.delivery(BODY)
    for forgery in signer.forgeries(BODY):
        names = valid.headers.keys() | forgery.headers.keys()
        changed = {name for name in names if valid.headers.get(name) != forgery.headers.get(name)}
        changed |= {"body"} if forgery.body != valid.body else set()
        assert changed, forgery.name
        assert changed <= {"body", TIMESTAMP_HEADER, SIGNATURE_HEADER}, forgery.name


def test_the_tampered_signature_differs_in_one_bit_and_never_only_in_letter_case() -> None:
    """One bit of the digest is flipped, so the forgery is never the genuine signature in other letter case.

    Regression: the first base64 character used to be replaced by ``A`` (or ``B``), which turned a
    leading ``a`` into ``A``: about one signature in 64 then passed an endpoint that compares
    signatures case-insensitively.
    """
    now = NOW_MS
    signer = TowerSigner(SECRET, clock=lambda: now)  # reads the loop's `now` below
    leading_a = 0
    for now in range(NOW_MS, NOW_MS + 512):
        genuine = sign(SECRET, BODY, timestamp_ms=now)[SIGNATURE_HEADER]
        forgery = signer.forgeries(BODY)[1]
        assert forgery.name == "tampered signature"
        tampered = forgery.headers[SIGNATURE_HEADER]
        difference = int.from_bytes(base64.b64decode(genuine), "big") ^ int.from_bytes(
            base64.b64decode(tampered), "big"
        )
        assert bin(difference).count("1") == 1, (genuine, tampered)
        assert tampered.lower() != genuine.lower(), (genuine, tampered)
        leading_a += genuine.startswith("a")
    assert leading_a, "no genuine signature began with 'a': the case the old forgery got wrong was not tried"


def test_stale_forgeries_fall_outside_the_given_tolerance() -> None:
    """With an endpoint's own tolerance, the stale and future forgeries fall just outside it."""
    signer = TowerSigner(SECRET, tolerance_ms=10_000, clock=lambda: NOW_MS)
    for forgery in signer.forgeries(BODY):
        if forgery.reason in {"timestamp_too_old", "timestamp_too_new"}:
            with pytest.raises(WebhookVerificationError):
                _verify(forgery, tolerance_ms=10_000)


def test_a_fresh_secret_by_default() -> None:
    """Without a secret, each signer makes its own, and never shows it in its repr."""
    first, second = TowerSigner(), TowerSigner()
    assert first.secret != second.secret
    assert str(first.secret) not in repr(first)
    assert "redacted" in repr(first)


def test_an_unusable_secret_fails_at_construction() -> None:
    """A secret the library would refuse is refused when the signer is built."""
    with pytest.raises(ValueError, match="secret"):
        TowerSigner("not base64!")


def test_the_fixture_signs_with_the_fixture_secret(tower_signer: TowerSigner, tower_webhook_secret: str) -> None:
    """The plugin's tower_signer fixture signs with the tower_webhook_secret fixture."""
    assert tower_signer.secret == tower_webhook_secret
    delivery = tower_signer.delivery(BODY)
    Verifier(tower_webhook_secret).verify_headers(delivery.headers, delivery.body)


class TestOverriddenSecret:
    @pytest.fixture
    def tower_webhook_secret(self) -> str:
        return SECRET

    def test_overriding_the_secret_fixture_changes_the_signer(self, tower_signer: TowerSigner) -> None:
        """Overriding tower_webhook_secret is how a suite signs with its app's configured secret."""
        assert tower_signer.secret == SECRET


def test_importing_the_helpers_does_not_import_pytest() -> None:
    """tower_webhooks.testing is standard library only: pytest loads the fixtures, never the helpers."""
    code = "import sys, tower_webhooks.testing; print('pytest' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
