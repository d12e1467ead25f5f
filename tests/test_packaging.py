"""The wheel users install: its metadata, its files, and proof that the matrix tests it.

Under ``make matrix`` the suite runs against the wheel ``python -m build`` made
(``TOWER_WEBHOOKS_WHEEL`` names it); under ``make test`` a wheel is built here from the tree.
"""

from __future__ import annotations

import ast
import email
import os
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

import tower_webhooks
from tower_webhooks._samples import SAMPLE_NAMES

ROOT = Path(__file__).parent.parent
EXTRAS = {"django", "fastapi", "flask", "redis", "starlette"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    built = os.environ.get("TOWER_WEBHOOKS_WHEEL")
    if built is None:
        out = tmp_path_factory.mktemp("wheel")
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(ROOT)]
        subprocess.run(command, check=True, capture_output=True, timeout=300)
        (built_path,) = out.glob("*.whl")
        built = str(built_path)
    with zipfile.ZipFile(built) as archive:
        yield archive


@pytest.fixture(scope="module")
def metadata(wheel: zipfile.ZipFile) -> Message:
    (name,) = (name for name in wheel.namelist() if name.endswith(".dist-info/METADATA"))
    return email.message_from_bytes(wheel.read(name))


def _oldest_pins() -> dict[str, Version]:
    """The exact versions the noxfile's oldest session pins, read without importing nox."""
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    (node,) = (
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "OLDEST" for t in node.targets)
    )
    pins = {}
    for pin in map(Requirement, ast.literal_eval(node)):
        (specifier,) = pin.specifier
        if specifier.operator == "==":
            pins[pin.name.lower()] = Version(specifier.version)
    return pins


def test_version_matches_the_package(metadata: Message) -> None:
    """The wheel's version is the one the package reports."""
    assert metadata["Version"] == tower_webhooks.__version__


def test_requires_python(metadata: Message) -> None:
    """Python 3.10 is the oldest supported, as the matrix proves."""
    assert metadata["Requires-Python"] == ">=3.10"


def test_no_runtime_dependencies(metadata: Message) -> None:
    """The core depends on nothing: every requirement belongs to an extra."""
    requirements = [Requirement(value) for value in metadata.get_all("Requires-Dist") or []]
    assert all(requirement.marker is not None and "extra" in str(requirement.marker) for requirement in requirements)


def test_extras(metadata: Message) -> None:
    """One extra per framework and store, each requiring the package it is named after."""
    assert set(metadata.get_all("Provides-Extra") or []) == EXTRAS
    for value in metadata.get_all("Requires-Dist") or []:
        requirement = Requirement(value)
        assert requirement.marker is not None
        assert requirement.marker.evaluate({"extra": requirement.name.lower()}), value


def test_extras_lower_bounds_are_the_versions_the_matrix_proves(metadata: Message) -> None:
    """Each extra's lower bound is exactly the oldest version pinned by the noxfile's oldest session."""
    bounds = {}
    for value in metadata.get_all("Requires-Dist") or []:
        requirement = Requirement(value)
        (specifier,) = requirement.specifier
        assert specifier.operator == ">=", value
        bounds[requirement.name.lower()] = Version(specifier.version)
    pins = _oldest_pins()
    assert bounds == {name: pins[name] for name in EXTRAS}


def test_wheel_ships_py_typed_samples_and_no_tests(wheel: zipfile.ZipFile) -> None:
    """py.typed (PEP 561) and the sample bodies are in the wheel; tests and docs are not."""
    names = set(wheel.namelist())
    assert "tower_webhooks/py.typed" in names
    assert "tower_webhooks/testing.py" in names
    assert {f"tower_webhooks/samples/{name}" for name in SAMPLE_NAMES} <= names
    assert not [name for name in names if name.startswith(("tests/", "docs/", "src/"))]


def test_entry_points(wheel: zipfile.ZipFile) -> None:
    """The console script and the pytest plugin are registered."""
    (name,) = (name for name in wheel.namelist() if name.endswith(".dist-info/entry_points.txt"))
    text = wheel.read(name).decode()
    assert "tower-webhooks = tower_webhooks._cli:main" in text
    assert "[pytest11]\ntower_webhooks = tower_webhooks._pytest_plugin" in text


@pytest.mark.skipif("TOWER_WEBHOOKS_WHEEL" not in os.environ, reason="make test imports src/; make matrix checks this")
def test_the_installed_wheel_is_what_runs() -> None:
    """Under the matrix, the package under test is the installed wheel in site-packages, not src/."""
    location = Path(tower_webhooks.__file__).resolve()
    assert location.is_relative_to(Path(sysconfig.get_paths()["purelib"]).resolve())
    assert not location.is_relative_to(ROOT / "src")
