"""Received text made safe for a terminal, before the command line prints it.

A request path, a redirect's ``Location`` or an answer's body comes from whoever is on the other
end of the connection. Printed raw, an escape sequence in it could rewrite the screen, hide a line
or set the window title, so every character that is not printable is shown as its Python escape.
"""

from __future__ import annotations

__all__ = ["printable"]


def printable(text: str) -> str:
    r"""``text`` with control and other non-printable characters (and ``\``) shown as escapes.

    ``"/hook\x1b[2J"`` becomes ``/hook\x1b[2J`` as eight plain characters. Backslashes are doubled,
    so the escaped text is never ambiguous.
    """
    if text.isprintable() and "\\" not in text:
        return text  # the usual case, with no copy
    return "".join(
        char if char.isprintable() and char != "\\" else char.encode("unicode_escape").decode("ascii") for char in text
    )
