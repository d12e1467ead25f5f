"""Every Python example in docs/ runs, so no page can show code that no longer works.

Each ```python block is complete on its own, as a reader copies it: it runs alone in a fresh
interpreter (it may configure Django, say), in an empty working directory, with
``TOWER_WEBHOOK_SECRET`` set. A block titled ``test_*.py`` is a test file: it is written out and
run by pytest, and must pass. Shell examples use ```console and are not run.

The API reference renders the package's docstrings with mkdocstrings, which links
``[`Verifier`][tower_webhooks.Verifier]`` but prints a Sphinx role such as ``:class:`Verifier``` as
it is: no docstring holds a role, and every link names a public object by the path users import.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import tower_webhooks
from tower_webhooks import generate_secret

DOCS = Path(__file__).parent.parent / "docs"
PAGES = sorted(DOCS.glob("**/*.md"))
FENCE = re.compile(r"^(?P<fence>```+)(?P<info>[^\n`]*)\n(?P<code>.*?)^(?P=fence)[ \t]*$", re.MULTILINE | re.DOTALL)
TITLE = re.compile(r'title="(?P<title>[^"]+)"')
# Languages never run: shell sessions and literal files or outputs. Anything else is refused.
NOT_RUN = {"console", "text", "json", "toml", "ini", "http"}
# Modules only the test group installs: a page that needs a missing one is skipped in the matrix.
OPTIONAL = {"asgiref", "django", "fastapi", "flask", "httpx", "pydantic", "redis", "starlette", "uvicorn", "werkzeug"}
TIMEOUT_S = 120
# The installed package: src/ under make test, the wheel's copy in the matrix.
PACKAGE = Path(tower_webhooks.__file__).parent
# A Sphinx role (:class:`X`, :py:meth:`X`, ...), which mkdocstrings shows as literal text.
SPHINX_ROLE = re.compile(r":[a-z]+(?::[a-z]+)*:`[^`]*`")
# A mkdocs-autorefs link: [`title`][identifier], or [`identifier`][] when the title is the identifier.
CROSS_REFERENCE = re.compile(r"\[(?P<title>[^\[\]]+)\]\[(?P<identifier>[\w.]*)\]")

# Runs one block as the main module, as `python example.py` would (Django's ROOT_URLCONF=__name__
# needs that), with the page's file name and line numbers, so a traceback points into the page.
RUNNER = """
import __main__, json, sys
path, line, code = json.loads(sys.stdin.read())
exec(compile("\\n" * (line - 1) + code, path, "exec"), __main__.__dict__)
"""


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    language: str
    title: str | None
    code: str

    @property
    def is_test_file(self) -> bool:
        return self.title is not None and Path(self.title).name.startswith("test_")


def _blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        language, _, attributes = match["info"].strip().partition(" ")
        title = TITLE.search(attributes)
        line = text.count("\n", 0, match.start("code")) + 1
        blocks.append(Block(page, line, language, title["title"] if title else None, match["code"]))
    return blocks


def _python_blocks() -> list[Block]:
    return [block for page in PAGES for block in _blocks(page) if block.language == "python"]


def _require_modules(block: Block) -> None:
    """Skip (in the matrix) or fail (under make test) when a block imports a module not installed."""
    needed: set[str] = set()  # every part of each dotted name: tower_webhooks.dedupe.redis needs redis
    for node in ast.walk(ast.parse(block.code)):
        if isinstance(node, ast.Import):
            needed.update(*(alias.name.split(".") for alias in node.names))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            needed.update(node.module.split("."))
    missing = sorted(name for name in needed & OPTIONAL if importlib.util.find_spec(name) is None)
    if missing and "TOWER_WEBHOOKS_WHEEL" in os.environ:
        pytest.skip(f"needs {', '.join(missing)}, not installed in this matrix session")
    assert not missing, f"install the test group: the examples need {', '.join(missing)}"


def _run(command: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "TOWER_WEBHOOK_SECRET": generate_secret()}
    return subprocess.run(
        command, check=False, input=stdin, cwd=cwd, env=environment, capture_output=True, text=True, timeout=TIMEOUT_S
    )


def test_the_docs_have_examples() -> None:
    """The pages are found and hold Python examples, so the test below cannot pass vacuously."""
    assert len({block.page for block in _python_blocks()}) >= 4


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(DOCS)) for page in PAGES])
def test_every_fence_names_a_language(page: Path) -> None:
    """Every code block is ```python (and so runs) or names a language that is never run."""
    for block in _blocks(page):
        assert block.language in NOT_RUN | {"python"}, f"{page.name}:{block.line}: ```{block.language}"


@pytest.mark.parametrize("block", _python_blocks(), ids=lambda block: f"{block.page.name}:{block.line}")
def test_example_runs(block: Block, tmp_path: Path) -> None:
    """The example runs without error; a test file passes under pytest."""
    _require_modules(block)
    if not block.is_test_file:
        result = _run(
            [sys.executable, "-c", RUNNER], tmp_path, stdin=json.dumps([str(block.page), block.line, block.code])
        )
        assert result.returncode == 0, result.stderr
        return
    test_file = tmp_path / Path(str(block.title)).name
    test_file.write_text(block.code, encoding="utf-8")
    outcome = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test_file.name], tmp_path)
    assert outcome.returncode == 0, f"{block.page.name}:{block.line}\n{outcome.stdout}\n{outcome.stderr}"
    assert " passed" in outcome.stdout


def _docstrings() -> list[tuple[str, str]]:
    """Every docstring in the package (a string statement: modules, classes, functions, attributes)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            match node:
                case ast.Expr(value=ast.Constant(value=str() as text)):
                    found.append((f"{path.relative_to(PACKAGE.parent)}:{node.lineno}", text))
    return found


def _why_not_public(identifier: str) -> str | None:
    """Why ``identifier`` is not the path users import an object by, or ``None`` if it is.

    Raises ``ImportError`` when the object's module needs a package that is not installed.
    """
    parts = identifier.split(".")
    if any(part.startswith("_") for part in parts):
        return "a private path: name the one users import"
    for cut in range(len(parts), 0, -1):  # the longest prefix that is a module, then attributes
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError as error:
            if error.name is None or not f"{identifier}.".startswith(f"{error.name}."):
                raise  # the module exists, and needs a package that is missing
            continue
        for name in parts[cut:]:
            if name not in getattr(target, "__all__", [name]):
                return f"{name} is not in its module's __all__"
            if not hasattr(target, name):
                return f"{name} does not exist"
            target = getattr(target, name)
        return None
    return "no module to import it from"


def _missing_package(error: ImportError) -> str:
    """The package an import lacked: an adapter's friendly ``ImportError`` chains to it."""
    if error.name is None and isinstance(error.__cause__, ImportError):
        return _missing_package(error.__cause__)
    return str(error.name).partition(".")[0]


def test_no_docstring_holds_a_sphinx_role() -> None:
    """The API reference shows no raw ``:class:`X``` role: docstrings link with ``[`X`][path]``."""
    docstrings = _docstrings()
    assert len(docstrings) > 100
    roles = [f"{where}: {match[0]}" for where, text in docstrings for match in SPHINX_ROLE.finditer(text)]
    assert not roles, "write [`Name`][tower_webhooks.Name] instead of a Sphinx role:\n" + "\n".join(roles)


def test_every_docstring_link_names_a_public_object() -> None:
    """Each link names an object by the path users import it from, even where mkdocs renders none."""
    links = [(where, match) for where, text in _docstrings() for match in CROSS_REFERENCE.finditer(text)]
    assert len(links) > 50
    wrong, missing = [], set()
    for where, match in links:
        try:
            why = _why_not_public(match["identifier"] or match["title"].strip("`"))
        except ImportError as error:
            missing.add(_missing_package(error))
            continue
        if why is not None:
            wrong.append(f"{where}: {match[0]}: {why}")
    assert not wrong, "\n".join(wrong)
    if missing and "TOWER_WEBHOOKS_WHEEL" in os.environ and missing <= OPTIONAL:
        pytest.skip(f"some links need {', '.join(sorted(missing))}, not installed in this matrix session")
    assert not missing, f"install the test group: the linked modules need {', '.join(sorted(missing))}"
