"""The package's shape: public names, typing marker, and no framework imported by the core."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import tower_webhooks

FRAMEWORKS = ("flask", "django", "starlette", "fastapi", "werkzeug", "redis", "pytest", "hypothesis")


def test_import_loads_no_framework() -> None:
    """`import tower_webhooks` imports no web framework, store client or test tool."""
    code = (
        "import sys, tower_webhooks, tower_webhooks.exceptions;"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FRAMEWORKS!r}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_all_names_the_public_api() -> None:
    """__all__ lists every public top-level name once, and each exists (ruff's RUF022 keeps it sorted)."""
    names = tower_webhooks.__all__
    assert len(names) == len(set(names))
    assert all(hasattr(tower_webhooks, name) for name in names)
    public = {
        name
        for name, value in vars(tower_webhooks).items()
        if not name.startswith("_") and not isinstance(value, type(sys))
    }
    assert public <= set(names)


def test_ships_py_typed() -> None:
    """The package is marked as typed."""
    assert (Path(tower_webhooks.__file__).parent / "py.typed").is_file()


def test_version_matches_metadata() -> None:
    """__version__ is the installed distribution's version."""
    from importlib.metadata import version

    assert tower_webhooks.__version__ == version("tower-webhooks")
