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


def read_body(*, path: str | None, sample: str | None) -> bytes:
    """Return the exact body bytes from a file, from stdin (``path`` is ``"-"``) or a shipped sample.

    Raises:
        UsageError: The file cannot be read, or no body was given and stdin is a terminal.
    """
    if sample is not None:
        return sample_body(sample)
    if path is None and sys.stdin.isatty():
        raise UsageError("no body given: pipe it in, or pass --body FILE or --sample NAME")
    if path is None or path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read the body file: {error.strerror}: {path}") from None
