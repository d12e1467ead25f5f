"""``python -m bench``: run every benchmark, print one report, write it as JSON.

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

from . import adapters, inprocess, memory
from .machine import describe_machine
from .report import adapter_targets, format_report, memory_target, targets
from .verification import run_verification

_RESULTS = Path(__file__).parent / "results" / "latest.json"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300, help="interleaved rounds per body size (default 300)")
    parser.add_argument("--batch-ms", type=float, default=1.0, help="length of one timed batch (default 1 ms)")
    parser.add_argument("--adapter-rounds", type=int, default=6, help="load rounds per framework (default 6)")
    parser.add_argument("--adapter-seconds", type=int, default=2, help="seconds of load per path and round (default 2)")
    parser.add_argument("--smoke", action="store_true", help="each benchmark once, tiny counts: proves it runs")
    parser.add_argument("--json", type=Path, default=_RESULTS, help=f"where to write the results (default {_RESULTS})")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and report; the exit status is 0 whether targets pass or fail."""
    options = _arguments(argv)
    rounds, batch_seconds = (1, 0.0) if options.smoke else (options.rounds, options.batch_ms / 1000)
    adapter_rounds, adapter_seconds = (1, 1) if options.smoke else (options.adapter_rounds, options.adapter_seconds)
    started = time.monotonic()
    machine = describe_machine()

    verification = run_verification(rounds=rounds, batch_seconds=batch_seconds)
    skipped = adapters.missing()
    adapter_results = None if skipped else adapters.run_adapters(rounds=adapter_rounds, seconds=adapter_seconds)
    inprocess_results = (
        None if skipped else inprocess.run_inprocess(rounds=rounds // 3 or 1, batch_seconds=batch_seconds * 5)
    )
    memory_result = None if skipped else memory.run_memory()
    found = [
        *targets(verification),
        *adapter_targets(adapter_results, skipped),
        memory_target(memory_result, skipped),
    ]

    machine["load_average_after"] = describe_machine()["load_average"]
    command = f"python -m bench {shlex.join(sys.argv[1:] if argv is None else argv)}".rstrip()
    notes = [
        f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['python']}, {machine['openssl']}",
        f"started: {machine['started']}",
        f"load average before/after: {machine['load_average']} / {machine['load_average_after']}",
        f"command: {command}; took {time.monotonic() - started:.0f} s",
    ]
    if options.smoke:
        notes.append("SMOKE RUN: one call per case, the figures mean nothing")
    print(
        format_report(
            verification,
            found,
            adapters=None if adapter_results is None else (adapter_results, adapter_rounds, adapter_seconds),
            inprocess=inprocess_results,
            memory=memory_result,
            notes=notes,
        )
    )
    document = {
        "machine": machine,
        "command": command,
        "settings": {
            "rounds": rounds,
            "batch_seconds": batch_seconds,
            "adapter_rounds": adapter_rounds,
            "adapter_seconds": adapter_seconds,
            "smoke": options.smoke,
        },
        "verification": asdict(verification),
        "adapters": None
        if adapter_results is None
        else [{**asdict(r), "ratio": r.ratio, "cpu_ratio": r.cpu_ratio} for r in adapter_results],
        "adapters_in_process": None
        if inprocess_results is None
        else [{**asdict(r), "overhead": r.overhead} for r in inprocess_results],
        "memory": None if memory_result is None else asdict(memory_result),
        "targets": [asdict(target) for target in found],
    }
    options.json.parent.mkdir(parents=True, exist_ok=True)
    options.json.write_text(json.dumps(document, indent=2) + "\n")
    print(f"results written to {options.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
