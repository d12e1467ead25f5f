"""Where the command line's secret and body come from, with errors that say how to fix the call.

The secret is read from an environment variable or a file, never from an argument: arguments
show up in ``ps`` and in shell history.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ._samples import sample_body
from ._secret import Secret

__all__ = ["DEFAULT_SECRET_ENV", "UsageError", "read_body", "read_secret"]

DEFAULT_SECRET_ENV = "TOWER_WEBHOOK_SECRET"


class UsageError(Exception):
    """The command was called in a way that cannot work; the CLI exits 2 with this message."""


def read_secret(*, env: str, file: str | None) -> Secret:
    """Return the secret text from ``file`` if given, else from the environment variable ``env``.

    Raises:
        UsageError: The file cannot be read, or the variable is unset or empty.
    """
    if file is not None:
        try:
            return Path(file).read_bytes()
        except OSError as error:
            raise UsageError(f"cannot read the secret file: {error.strerror}: {file}") from None
    value = os.environ.get(env, "")
    if not value.strip():
        raise UsageError(
            f"the environment variable {env} is unset or empty: set it to the secret Tower showed, "
            "or pass --secret-file PATH (never the secret itself as an argument)"
        )
    return value


def read_body(*, path: str | None, sample: str | None, to_sign: bool = False) -> bytes:
    """Return the exact body bytes from a file, from stdin (``path`` is ``"-"``) or a shipped sample.

    Args:
        path: The body file, ``"-"`` for stdin, or ``None`` for stdin unless ``sample`` is given.
        sample: The name of a shipped sample body.
        to_sign: The body will be signed: a note on stderr then says when one from stdin ends with a
            newline, which ``echo`` adds unasked and which the signature covers like any other byte.

    Raises:
        UsageError: The file cannot be read, or no body was given and stdin is a terminal.
    """
    if sample is not None:
        return sample_body(sample)
    if path is None and sys.stdin.isatty():
        raise UsageError("no body given: pipe it in, or pass --body FILE or --sample NAME")
    if path is None or path == "-":
        body = sys.stdin.buffer.read()
        if to_sign and body.endswith(b"\n"):
            print(
                "tower-webhooks: note: the body from stdin ends with a newline, and it is signed as part of the "
                "body; if it is not meant to be (echo adds one), pipe it with printf '%s' or pass --body FILE",
                file=sys.stderr,
            )
        return body
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read the body file: {error.strerror}: {path}") from None
