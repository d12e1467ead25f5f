"""``tower-webhooks demo``: the ``listen`` receiver and ``send --check`` run against each other.

It shows, on 127.0.0.1, the library accepting what Tower sends and rejecting forged and broken
requests, one line per request, and exits non-zero if any verdict differs from the expected one.
"""

from __future__ import annotations

import io
import json
from typing import TextIO

from ._listen import DeliveryLog, running
from ._receiver import ReceiverServer
from ._samples import SAMPLE_NAMES, sample_body
from ._secret import generate_secret
from ._send import CheckCase, check_cases, check_endpoint
from ._signing import sign
from ._verify import Verifier

__all__ = ["run_demo"]

_TIMEOUT_S = 10.0  # generous: the demo must not fail on a busy machine


def _cases(secret: str) -> list[CheckCase]:
    """``send --check``'s cases, plus every shipped sample and a re-serialised body."""
    cases = [
        CheckCase(f"{name}, signed as Tower signs it", sample_body(name), sign(secret, sample_body(name)), True, "ok")
        for name in SAMPLE_NAMES
    ]
    pretty = sample_body("run-crashed-pretty.json")
    reserialised = json.dumps(json.loads(pretty)).encode()
    cases.append(
        CheckCase(
            "JSON parsed and dumped again after signing",
            reserialised,
            sign(secret, pretty),
            False,
            "signature_mismatch",
        )
    )
    return cases + check_cases(secret, "base64", sample_body("run-finished.json"))[1:]


def run_demo(out: TextIO) -> int:
    """Run every case against a live receiver; return 0 if every verdict was the expected one."""
    secret = generate_secret()
    log = DeliveryLog(io.StringIO())  # the table below shows each verdict; listen's lines would repeat it
    server = ReceiverServer(("127.0.0.1", 0), Verifier(secret), log)
    url = f"{server.url}webhooks/tower"
    cases = _cases(secret)
    print(f"`tower-webhooks listen` on {url}, with a fresh secret; `send --check` against it:\n", file=out)
    with running(server):
        rows = check_endpoint(url, cases, timeout_s=_TIMEOUT_S, out=out, exact_reasons=True)
    passed = sum(row.problem is None for row in rows)
    print(f"\n{passed} of {len(cases)} requests got the expected verdict.", file=out)
    if log.received != len(cases):
        print(f"but the receiver answered {log.received} requests, not {len(cases)}", file=out)
        return 1
    return 0 if passed == len(cases) else 1
