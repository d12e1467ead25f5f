"""``sign`` and ``verify``: the commands that work on one request, with no network."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TextIO

from ._capture import CaptureError, format_time_ms, load_capture
from ._explain import explain
from ._headers import HeaderValue
from ._inputs import UsageError
from ._printable import printable
from ._secret import Secret, SecretEncoding
from ._signing import sign
from ._verify import Verifier
from .exceptions import WebhookVerificationError

__all__ = ["run_sign", "run_verify"]


def run_sign(
    body: bytes,
    *,
    secret: Secret,
    secret_encoding: SecretEncoding,
    timestamp_ms: int | None,
    curl_url: str | None,
    body_path: str | None,
    out: TextIO,
) -> int:
    """Print the two headers for ``body``, or a curl command that sends it with them.

    Raises:
        UsageError: The body must go into the curl command but is not text.
    """
    headers = sign(secret, body, timestamp_ms=timestamp_ms, secret_encoding=secret_encoding)
    if curl_url is None:
        for name, value in headers.items():
            print(f"{name}: {value}", file=out)
        return 0
    if body_path is not None and body_path != "-":
        data = f"@{body_path}"  # curl sends a file's exact bytes with --data-binary @FILE
    else:
        data = body.decode("utf-8", "replace")
        if data.encode("utf-8") != body or "\0" in data:
            raise UsageError("this body is not text that fits in a command line: pass it with --body FILE")
    lines = [f"curl --request POST {shlex.quote(curl_url)}", "--header 'Content-Type: application/json'"]
    lines += [f"--header {shlex.quote(f'{name}: {value}')}" for name, value in headers.items()]
    lines.append(f"--data-binary {shlex.quote(data)}")
    print(" \\\n  ".join(lines), file=out)
    return 0


def run_verify(
    *,
    secret: Secret,
    secret_encoding: SecretEncoding,
    tolerance_ms: int | None,
    capture_path: Path | None,
    timestamp: HeaderValue,
    signature: HeaderValue,
    body: bytes,
    show_explanation: bool,
    out: TextIO,
) -> int:
    """Verify one request, given or read from a capture; print the verdict; 0 if accepted, else 1."""
    clock = None
    if capture_path is not None:
        capture = load_capture(capture_path)
        print(
            f"capture: POST {printable(capture.path)} [{len(capture.body):,} B], received "
            f"{format_time_ms(capture.received_at_ms)}, answered {capture.status} {printable(capture.reason)}; "
            "its timestamp is checked against the time it was received",
            file=out,
        )
        body = capture.body
        clock = lambda: capture.received_at_ms  # noqa: E731 - the capture's own time is the clock
        try:
            timestamp, signature = capture.tower_headers()
        except WebhookVerificationError as error:
            print(f"rejected: {error.reason}: {error.message}", file=out)
            return 1
    verifier = Verifier(secret, tolerance_ms=tolerance_ms, secret_encoding=secret_encoding, clock=clock)
    try:
        webhook = verifier.verify(timestamp, signature, body)
    except ValueError:  # only a clock in Unix seconds raises it, and only a capture's clock is given
        if capture_path is None:
            raise
        raise CaptureError(
            f'{capture_path} is not a valid capture file: its "received_at_ms" reads as Unix seconds '
            "(it must be Unix milliseconds, as `listen --save` writes it)"
        ) from None
    except WebhookVerificationError as error:
        print(f"rejected: {error.reason}: {error.message}", file=out)
        if show_explanation:
            lines = explain(
                error,
                secret=secret,
                secret_encoding=secret_encoding,
                timestamp_header=timestamp,
                signature_header=signature,
                body=body,
            )
            for line in lines:
                print(f"explain: {line}" if not line.startswith(" ") else f"         {line}", file=out)
        return 1
    checked = "not checked" if tolerance_ms is None else f"within {tolerance_ms:,} ms"
    print(
        f"accepted: signed with the secret; timestamp {webhook.timestamp_ms} ({checked}); body {len(body):,} B",
        file=out,
    )
    if show_explanation:
        print("explain: nothing to explain: the request verifies", file=out)
    return 0
