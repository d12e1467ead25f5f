"""The ``tower-webhooks`` command line (standard library only)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._demo import run_demo

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tower-webhooks",
        description="Verify, sign and test Tower webhooks.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "demo",
        help="verify real signed requests against a local receiver",
        description="Start a verifying receiver on 127.0.0.1, post signed, tampered, stale and "
        "mis-signed requests to it, and print each verdict. Exits 0 only if all are as expected.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 success, 1 rejected, 2 usage error)."""
    arguments = _parser().parse_args(argv)
    if arguments.command == "demo":
        return run_demo(sys.stdout)
    raise AssertionError(f"unhandled command {arguments.command!r}")
