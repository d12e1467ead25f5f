"""The pytest plugin behind [`tower_webhooks.testing`][]'s fixtures.

Registered through the ``pytest11`` entry point, so pytest loads it by itself and nothing else
ever imports pytest. Disable it with ``-p no:tower_webhooks``.
"""

from __future__ import annotations

import pytest

from ._secret import generate_secret
from .testing import TowerSigner

__all__ = ["tower_signer", "tower_webhook_secret"]


@pytest.fixture
def tower_webhook_secret() -> str:
    """A fresh secret per test; override this fixture to use the one your app is configured with."""
    return generate_secret()


@pytest.fixture
def tower_signer(tower_webhook_secret: str) -> TowerSigner:
    """A [`TowerSigner`][tower_webhooks.testing.TowerSigner] that signs with ``tower_webhook_secret``."""
    return TowerSigner(tower_webhook_secret)
