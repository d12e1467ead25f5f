"""``printable``: received text shown safely on a terminal, and never ambiguously."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tower_webhooks._printable import printable


def _unescape(shown: str) -> str:
    return shown.encode("latin-1", "backslashreplace").decode("unicode_escape")


@given(st.text())
def test_printable_output_has_no_control_characters_and_reads_back(text: str) -> None:
    """Whatever arrives, the output is printable and says exactly what arrived."""
    shown = printable(text)
    assert shown.isprintable()
    assert _unescape(shown) == text


def test_printable_escapes_terminal_sequences_and_backslashes() -> None:
    """ESC, BEL and a bidi override become escapes; a backslash is doubled; other text is kept."""
    assert printable("/a\x1b[2J\x07\u202e\\x1b é") == "/a\\x1b[2J\\x07\\u202e\\\\x1b é"
    assert printable("/webhooks/tower") == "/webhooks/tower"
