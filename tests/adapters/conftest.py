"""The secret every adapter test signs with."""

from __future__ import annotations

import pytest

from tests.values import SECRET


@pytest.fixture
def secret() -> str:
    return SECRET
