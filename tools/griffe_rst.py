"""A Griffe extension that renders the reStructuredText our docstrings keep for ``help()`` and Sphinx users.

The house style ends every public docstring with ``.. versionadded:: 0.1.0`` and introduces code
with a ``::`` paragraph, as Python's own docstrings do; mkdocstrings reads docstrings as Markdown
and would print both as they are. Before mkdocstrings parses a docstring, this turns

- a version directive (``versionadded``, ``versionchanged``, ``deprecated``, ``versionremoved``)
  into an italic line in Sphinx's words, ``*Added in version 0.1.0.*``, and
- a paragraph ending in ``::`` followed by an indented block into the paragraph and a fenced
  Python block (Sphinx's default highlight language), with RST's rule for the marker: ``text::``
  becomes ``text:``, ``text ::`` becomes ``text``, and a lone ``::`` line disappears.

Only the copy mkdocstrings renders changes; the source keeps its RST. Configured in mkdocs.yml
under the python handler's ``extensions:``.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

__all__ = ["RstMarkup", "rst_to_markdown"]

# Sphinx's own wording for each version directive.
VERSION_LABELS = {
    "versionadded": "Added in version",
    "versionchanged": "Changed in version",
    "deprecated": "Deprecated since version",
    "versionremoved": "Removed in version",
}
DIRECTIVE = re.compile(
    rf"(?P<indent>[ \t]*)\.\. (?P<name>{'|'.join(VERSION_LABELS)})::[ \t]+(?P<version>\S+)[ \t]*(?P<text>.*)"
)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _block_end(lines: list[str], start: int, indent: int) -> int:
    """The index after the block from ``start`` on: lines that are blank or indented past ``indent``."""
    end = start
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > indent):
        end += 1
    while end > start and not lines[end - 1].strip():  # trailing blank lines stay outside the block
        end -= 1
    return end


def _dedent(lines: list[str]) -> list[str]:
    margin = min(_indent(line) for line in lines if line.strip())
    return [line[margin:] for line in lines]


def _version_note(match: re.Match[str], body: list[str]) -> list[str]:
    """``*Added in version X.*``, or ``*Added in version X:* text`` when the directive says more."""
    label = f"{VERSION_LABELS[match['name']]} {match['version']}"
    text = [match["text"], *_dedent(body)] if body else [match["text"]]
    if not "".join(text).strip():
        return [f"{match['indent']}*{label}.*"]
    return [f"{match['indent']}*{label}:* {text[0]}".rstrip(), *(f"{match['indent']}{line}" for line in text[1:])]


def _code_fence(indent: str, body: list[str]) -> list[str]:
    code = _dedent(body)
    longest = max((len(run) for line in code for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)  # longer than any run of backticks in the code
    return [f"{indent}{fence}python", *(f"{indent}{line}".rstrip() for line in code), f"{indent}{fence}"]


def _strip_marker(line: str) -> list[str]:
    """A paragraph line ending in ``::``, as RST shows it: ``text:``, ``text``, or nothing for a lone ``::``."""
    text = line.rstrip()[:-2]
    if not text.strip():
        return []
    return [text.rstrip() if text[-1].isspace() else f"{text}:"]


def rst_to_markdown(docstring: str) -> str:
    """Rewrite the version directives and ``::`` literal blocks of ``docstring`` as Markdown."""
    lines = docstring.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        indent = _indent(line)
        if directive := DIRECTIVE.fullmatch(line):
            end = _block_end(lines, i + 1, indent)
            out += _version_note(directive, lines[i + 1 : end])
            i = end
            continue
        blank = i + 1
        while blank < len(lines) and not lines[blank].strip():
            blank += 1
        is_literal = line.rstrip().endswith("::") and not line.lstrip().startswith("..")
        if is_literal and blank > i + 1 and blank < len(lines) and _indent(lines[blank]) > indent:
            end = _block_end(lines, blank, indent)
            out += _strip_marker(line)
            out += [""] if out and out[-1].strip() else []  # a fence needs a blank line before it
            out += _code_fence(line[:indent], lines[blank:end])
            i = end
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


class RstMarkup(griffe.Extension):
    """Render each object's RST version directives and ``::`` examples as Markdown."""

    def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        """Rewrite the docstring once the tree is built, before mkdocstrings parses it."""
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
