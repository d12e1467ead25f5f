"""Every Python example in docs/ runs, so no page can show code that no longer works.

Each ```python block is complete on its own, as a reader copies it: it runs alone in a fresh
interpreter (it may configure Django, say), in an empty working directory, with
``TOWER_WEBHOOK_SECRET`` set. A block titled ``test_*.py`` is a test file: it is written out and
run by pytest, and must pass. Shell examples use ```console and are not run.

The API reference renders the package's docstrings with mkdocstrings, which links
``[`Verifier`][tower_webhooks.Verifier]`` but prints a Sphinx role such as ``:class:`Verifier``` as
it is: no docstring holds a role, and every link names a public object by the path users import.
The docstrings' reStructuredText (``.. versionadded::``, ``::`` examples) is kept for ``help()``:
tools/griffe_rst.py renders it, and the built site is read to prove that no page shows it raw.
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
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import cast

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


# Raw reStructuredText left in a page's prose: a directive (``.. versionadded::``) or the ``::``
# that introduces a literal block ("::1" and "[::]" are not markers).
RST_MARKUP = re.compile(r"\.\. [a-z-]+::|::(?=\s|$)")
EXTENSION = DOCS.parent / "tools" / "griffe_rst.py"


def _require_docs_tools() -> None:
    """Skip (in the matrix, which installs no docs tools) or fail (under make test) without mkdocs."""
    if importlib.util.find_spec("mkdocs") is not None:
        return
    if "TOWER_WEBHOOKS_WHEEL" in os.environ:
        pytest.skip("the docs group is not installed in this matrix session")
    pytest.fail("install the docs group: the rendered API reference needs mkdocs")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The docs site, built once for this module as ``make docs-build`` builds it."""
    _require_docs_tools()
    site_dir = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(site_dir)],
        check=False,
        cwd=DOCS.parent,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert result.returncode == 0, result.stderr
    return site_dir


class _Rendered(HTMLParser):
    """A rendered page, or part of one: its prose (text outside code) and the text of each ``<pre>``."""

    CODE = frozenset({"code", "pre", "script", "style"})

    def __init__(self, html: str) -> None:
        super().__init__()
        self.prose: list[str] = []
        self.pre: list[str] = []
        self._code_depth = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "pre":
            self.pre.append("")
        self._code_depth += tag in self.CODE

    def handle_endtag(self, tag: str) -> None:
        self._code_depth -= tag in self.CODE

    def handle_data(self, data: str) -> None:
        if self._code_depth == 0:
            self.prose.append(data)
        elif self.pre:
            self.pre[-1] += data


def _api_entry(site: Path, identifier: str) -> str:
    """The HTML of one object's entry on the API reference page, up to its first member."""
    page = (site / "reference" / "index.html").read_text(encoding="utf-8")
    start = page.rfind("<", 0, page.index(f'id="{identifier}" class="doc doc-heading"'))
    end = page.find('class="doc doc-heading"', page.index(">", start))
    return page[start : page.rfind("<", 0, end) if end != -1 else len(page)]


def test_no_page_shows_raw_rst(site: Path) -> None:
    """No page's prose shows a ``.. versionadded::`` directive or a literal block's ``::`` marker."""
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 10
    raw = [
        f"{page.relative_to(site)}: ...{' '.join(text[max(0, match.start() - 60) : match.end() + 20].split())}..."
        for page in pages
        for text in ["".join(_Rendered(page.read_text(encoding="utf-8")).prose)]
        for match in RST_MARKUP.finditer(text)
    ]
    assert not raw, "\n".join(raw)


@pytest.mark.parametrize("identifier", ["tower_webhooks.Verifier", "tower_webhooks.adapters.flask"])
def test_version_directives_render_as_a_line(site: Path, identifier: str) -> None:
    """``.. versionadded:: 0.1.0`` shows as Sphinx words it: "Added in version 0.1.0."."""
    assert "Added in version 0.1.0." in "".join(_Rendered(_api_entry(site, identifier)).prose)


def test_a_double_colon_example_renders_as_python(site: Path) -> None:
    """``text::`` and its indented block show as "text:" and a Python-highlighted code block."""
    entry = _api_entry(site, "tower_webhooks.adapters.starlette.webhook_rejected_handler")
    rendered = _Rendered(entry)
    assert "one shape for every refusal:" in " ".join("".join(rendered.prose).split())
    example = "app = FastAPI(exception_handlers={WebhookRejected: webhook_rejected_handler})"
    assert any(example in block for block in rendered.pre), rendered.pre
    assert '<span class="n">FastAPI</span>' in entry  # Pygments' Python tokens: highlighted as Python


def _rst_to_markdown() -> Callable[[str], str]:
    """The extension's rewrite, from its file (tools/ is no package: mkdocs.yml names the file)."""
    _require_docs_tools()
    spec = importlib.util.spec_from_file_location("griffe_rst", EXTENSION)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return cast("Callable[[str], str]", module.rst_to_markdown)


@pytest.mark.parametrize(
    ("rst", "markdown"),
    [
        pytest.param("Run::\n\n    go()\n\nDone.", "Run:\n\n```python\ngo()\n```\n\nDone.", id="text::"),
        pytest.param("Run ::\n\n    go()", "Run\n\n```python\ngo()\n```", id="text ::"),
        pytest.param("Run.\n\n::\n\n    go()\n\n        more()", "Run.\n\n```python\ngo()\n\n    more()\n```", id="::"),
        pytest.param(
            "Returns:\n    A value, as in::\n\n        go()\n\nEnd.",
            "Returns:\n    A value, as in:\n\n    ```python\n    go()\n    ```\n\nEnd.",
            id="in-a-section",
        ),
        pytest.param("Say::\n    not a block", "Say::\n    not a block", id="no-blank-line"),
        pytest.param("A.\n\n.. versionadded:: 0.1.0", "A.\n\n*Added in version 0.1.0.*", id="versionadded"),
        pytest.param(
            ".. versionchanged:: 0.2 Now *faster*.\n   And smaller.\n\nEnd.",
            "*Changed in version 0.2:* Now *faster*.\nAnd smaller.\n\nEnd.",
            id="versionchanged-with-text",
        ),
        pytest.param(".. deprecated:: 1.0", "*Deprecated since version 1.0.*", id="deprecated"),
        pytest.param("Fenced::\n\n    ```x```", "Fenced:\n\n````python\n```x```\n````", id="backticks"),
        pytest.param(".. note:: left as it is", ".. note:: left as it is", id="other-directive"),
    ],
)
def test_rst_renders_as_markdown(rst: str, markdown: str) -> None:
    """Known answers for the rewrite, including the RST marker rule: ``text::``, ``text ::``, ``::``."""
    assert _rst_to_markdown()(rst) == markdown
