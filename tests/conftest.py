"""Shared fixtures: a fixed clock and secret, so every test reads as a specification."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", parent=settings.get_profile("default"), max_examples=300)
settings.load_profile("ci" if os.environ.get("CI") else "default")

NOW_MS = 1_764_468_000_000
SECRET = "N+k07mvNIzE+Z2cBUxK9fWdcAO3fZK6gHltrG7M9BM0A/wD/AP8A/wD/AP8A/wD/"
BODY = b'{"event_type":"run.started","data":{}}'


@pytest.fixture
def now_ms() -> int:
    return NOW_MS


@pytest.fixture
def secret() -> str:
    return SECRET
