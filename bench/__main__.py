"""``python -m bench``: run every benchmark, print the table, write it as JSON.

Run it through ``make bench``, which builds the benchmark environment (the peers, the servers and
wrk) first. ``--smoke`` runs each benchmark once with tiny counts, only to prove it still runs.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import asdict
from pathlib import Path

from .machine import describe_machine
from .report import format_report, targets
from .verification import run_verification

_RESULTS = Path(__file__).parent / "results" / "latest.json"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="interleaved rounds per body size (default 200)")
    parser.add_argument("--batch-ms", type=float, default=1.0, help="length of one timed batch (default 1 ms)")
    parser.add_argument("--smoke", action="store_true", help="each benchmark once, tiny counts: proves it runs")
    parser.add_argument("--json", type=Path, default=_RESULTS, help=f"where to write the results (default {_RESULTS})")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and report; the exit status is 0 whether targets pass or fail."""
    options = _arguments(argv)
    rounds, batch_seconds = (1, 0.0) if options.smoke else (options.rounds, options.batch_ms / 1000)
    started = time.monotonic()
    machine = describe_machine()
    verification = run_verification(rounds=rounds, batch_seconds=batch_seconds)
    found = targets(verification, [])
    machine["load_average_after"] = describe_machine()["load_average"]
    notes = [
        f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['python']}, {machine['openssl']}",
        f"load average before/after: {machine['load_average']} / {machine['load_average_after']}",
        f"command: python -m bench {shlex.join(argv if argv is not None else sys.argv[1:])}".rstrip(),
        f"took {time.monotonic() - started:.0f} s",
    ]
    if options.smoke:
        notes.append("SMOKE RUN: one call per case, the figures mean nothing")
    print(format_report(verification, found, notes))
    options.json.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": machine,
        "settings": {"rounds": rounds, "batch_seconds": batch_seconds, "smoke": options.smoke},
        "verification": asdict(verification),
        "targets": [asdict(target) for target in found],
    }
    options.json.write_text(json.dumps(document, indent=2) + "\n")
    print(f"results written to {options.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
