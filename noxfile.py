"""The support matrix: the whole test suite against the built wheel, per Python and framework version.

Run it with ``make matrix``, which builds the wheel and sdist with ``python -m build`` into
``dist/`` first and puts the pyenv interpreters on ``PATH``. Every session installs that wheel
(never ``src/``) and runs ``tests/`` against it; ``tests/test_packaging.py`` proves which copy was
imported. The extras' lower bounds in ``pyproject.toml`` are the versions pinned in ``OLDEST``.
"""

from __future__ import annotations

import re
from pathlib import Path

import nox
from packaging.requirements import Requirement

nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True  # a missing Python fails the run, never skips it

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
EXTRAS = sorted(PYPROJECT["project"]["optional-dependencies"])
FRAMEWORKS = frozenset(EXTRAS)
# The test group minus the frameworks: pytest, hypothesis, the HTTP servers and clients.
TEST_TOOLS = [
    requirement
    for requirement in nox.project.dependency_groups(PYPROJECT, "test")
    if Requirement(requirement).name.lower() not in FRAMEWORKS
]

# The oldest release of each extra we support, and so each extra's lower bound in pyproject.toml.
OLDEST = [
    "flask==2.3",
    "werkzeug<3",  # Flask 2.3 predates Werkzeug 3, which removed APIs it uses
    "django==4.2",
    "starlette==0.37.2",
    "fastapi==0.110.1",  # the first FastAPI on Starlette 0.37
    "httpx<0.28",  # Starlette's TestClient before 0.38 passes httpx's removed app= argument
    # That TestClient also uses anyio.abc.BlockingPortal, deprecated by anyio 4.15; 4.13 and 4.14
    # break under pytest 9. The adapters use neither: only the tests' client needs this pin.
    "anyio<4.13",
    "redis==5.0.1",
]
# Pins that make sure the newest sessions really get the newest major releases.
NEWEST = ["flask>=3.1", "django>=6", "starlette>=1", "redis>=7"]


def _wheel() -> str:
    wheels = sorted((ROOT / "dist").glob("tower_webhooks-*-py3-none-any.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"expected one wheel in dist/, found {len(wheels)}: run `make matrix`, which builds it")
    return str(wheels[0])


# Prints the version of each extra's package in the session, or fails if one is present that should not be.
_REPORT = """
import importlib.metadata, sys
expected = set(sys.argv[2:])
found = {}
for name in sys.argv[1].split(","):
    try:
        found[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        pass
print("installed:", ", ".join(f"{name} {version}" for name, version in found.items()) or "no extra")
sys.exit(f"expected exactly {sorted(expected)}, found {sorted(found)}" if set(found) != expected else 0)
"""


# The modules the extras bring: a test module that cannot be imported without one is left out of
# the core session, by name, and only for that reason.
EXTRA_MODULES = frozenset({"django", "fastapi", "flask", "pydantic", "redis", "starlette", "werkzeug"})
_COLLECTION_ERROR = re.compile(r"^_* ERROR collecting (\S+) _*$", re.MULTILINE)
_MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '(?P<module>[\w.]+)'")


def _run_suite(session: nox.Session, *, extras: list[str], pins: list[str]) -> None:
    """Install the wheel with ``extras`` and ``pins``, then run every test against it."""
    wheel = _wheel()
    target = f"{wheel}[{','.join(extras)}]" if extras else wheel
    session.install("--reinstall-package", "tower-webhooks", target, *pins, *TEST_TOOLS)
    session.run("python", "-c", _REPORT, ",".join(EXTRAS), *extras)
    pytest = ["pytest", "-q", "-p", "no:cacheprovider"]
    ignored = [] if extras else _needing_extras(session, pytest, wheel)
    # `pytest`, not `python -m pytest`: the latter would put the working directory on sys.path.
    session.run(*pytest, *ignored, *session.posargs, env={"TOWER_WEBHOOKS_WHEEL": wheel})


def _needing_extras(session: nox.Session, pytest: list[str], wheel: str) -> list[str]:
    """Return ``--ignore`` options for the test modules that import an extra's module, naming each."""
    output = session.run(
        *pytest, "--collect-only", env={"TOWER_WEBHOOKS_WHEEL": wheel}, silent=True, success_codes=[0, 2]
    )
    report = str(output).partition("short test summary info")[0]
    parts = _COLLECTION_ERROR.split(report)  # [before, path, its error, path, its error, ...]
    ignored = []
    for path, error in zip(parts[1::2], parts[2::2], strict=True):
        missing = _MISSING_MODULE.search(error)
        if missing is None or missing["module"].partition(".")[0] not in EXTRA_MODULES:
            session.error(f"{path} cannot be collected, and not for want of an extra:\n{error}")
        session.log(f"not collected without extras: {path} (imports {missing['module']})")
        ignored.append(f"--ignore={path}")
    return ignored


@nox.session(python="3.10")
def oldest(session: nox.Session) -> None:
    """Python 3.10 with the oldest supported release of every extra (Django 4.2 LTS, Flask 2.3)."""
    _run_suite(session, extras=EXTRAS, pins=OLDEST)


@nox.session(python="3.11")
def django_lts(session: nox.Session) -> None:
    """Python 3.11 with Django 5.2 LTS and the newest of everything else."""
    _run_suite(session, extras=EXTRAS, pins=["django~=5.2.0", "flask>=3.1", "redis>=7"])


@nox.session(python=["3.12", "3.13"])
def newest(session: nox.Session) -> None:
    """The newest release of every extra: Django 6, Flask 3.1, Starlette 1.x, FastAPI, redis-py."""
    _run_suite(session, extras=EXTRAS, pins=NEWEST)


@nox.session(python="3.13")
def core(session: nox.Session) -> None:
    """No extra installed: the core and the CLI alone, with the adapters' tests skipped."""
    _run_suite(session, extras=[], pins=[])
