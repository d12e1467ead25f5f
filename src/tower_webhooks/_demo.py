"""``tower-webhooks demo``: real signed HTTP requests against a real verifying receiver.

It shows, on 127.0.0.1, the library accepting what Tower sends and rejecting the usual attacks
and mistakes, and exits non-zero if any verdict differs from the expected one.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO

from ._headers import TIMESTAMP_HEADER
from ._receiver import ReceiverServer
from ._samples import SAMPLE_NAMES, sample_body
from ._secret import generate_secret
from ._signing import current_time_ms, sign
from ._verify import Verifier

__all__ = ["run_demo"]


@dataclass(frozen=True)
class _Case:
    description: str
    body: bytes
    headers: dict[str, str]
    expected_status: int
    expected_reason: str


def _cases(secret: str) -> Iterator[_Case]:
    for name in SAMPLE_NAMES:
        body = sample_body(name)
        yield _Case(f"{name}, signed by Tower's scheme", body, sign(secret, body), 200, "ok")
    body = sample_body("run-finished.json")
    yield _Case(
        "body changed after signing (exit_code 0 -> 1)",
        body.replace(b'"exit_code":0', b'"exit_code":1'),
        sign(secret, body),
        400,
        "signature_mismatch",
    )
    stale = current_time_ms() - 10 * 60 * 1000
    yield _Case(
        "replay of a capture 10 minutes old", body, sign(secret, body, timestamp_ms=stale), 400, "timestamp_too_old"
    )
    yield _Case("signed with another secret", body, sign(generate_secret(), body), 400, "signature_mismatch")
    pretty = sample_body("run-crashed-pretty.json")
    reserialised = json.dumps(json.loads(pretty)).encode()
    yield _Case(
        "JSON parsed and re-serialised before verifying",
        reserialised,
        sign(secret, pretty),
        400,
        "signature_mismatch",
    )
    unsigned = {TIMESTAMP_HEADER: str(current_time_ms())}
    yield _Case("no X-Tower-Signature header", body, unsigned, 400, "missing_header")
    seconds = sign(secret, body, timestamp_ms=current_time_ms() // 1000)
    yield _Case("timestamp in seconds instead of milliseconds", body, seconds, 400, "timestamp_too_old")


@contextmanager
def _running(server: ReceiverServer) -> Iterator[ReceiverServer]:
    thread = threading.Thread(target=server.serve_forever, name="tower-webhooks-demo", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _post(port: int, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(
            "POST", "/webhooks/tower", body=body, headers={"Content-Type": "application/json", **headers}
        )
        response = connection.getresponse()
        answer = response.read()
    finally:
        connection.close()
    reason = "ok" if response.status == 200 else json.loads(answer).get("error", "?")
    return response.status, reason


def run_demo(out: TextIO) -> int:
    """Run every case against a live receiver; return 0 if every verdict was the expected one."""
    secret = generate_secret()
    server = ReceiverServer(("127.0.0.1", 0), Verifier(secret))
    port = server.server_address[1]
    print(f"Receiver verifying with tower_webhooks.Verifier on http://127.0.0.1:{port}/webhooks/tower\n", file=out)
    print(f"{'verdict':<8} {'status':<6} {'reason':<20} request", file=out)
    failures = total = 0
    with _running(server):
        for case in _cases(secret):
            total += 1
            status, reason = _post(port, case.body, case.headers)
            as_expected = (status, reason) == (case.expected_status, case.expected_reason)
            failures += not as_expected
            verdict = "ok" if as_expected else "WRONG"
            expected = "" if as_expected else f"   (expected {case.expected_status} {case.expected_reason})"
            print(
                f"{verdict:<8} {status:<6} {reason:<20} {case.description} [{len(case.body):,} B]{expected}", file=out
            )
    print(f"\n{total - failures} of {total} requests got the expected verdict.", file=out)
    return 1 if failures else 0
