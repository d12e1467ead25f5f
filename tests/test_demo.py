"""The demo (the README's first command) runs real requests and exits 0."""

from __future__ import annotations

import subprocess
import sys


def test_demo_gets_every_verdict_right() -> None:
    """`python -m tower_webhooks demo` prints one line per request and exits 0."""
    result = subprocess.run(
        [sys.executable, "-m", "tower_webhooks", "demo"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "14 of 14 requests got the expected verdict." in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith(("pass ", "FAIL "))]
    assert len(rows) == 14
    assert all(row.startswith("pass ") for row in rows)
    for reason in ("signature_mismatch", "timestamp_too_old", "timestamp_too_new", "missing_header"):
        assert f"400 {reason}" in result.stdout
