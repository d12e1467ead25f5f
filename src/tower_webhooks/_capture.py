"""The capture file: one received request and its verdict, as JSON that ``verify --capture`` reads back.

Format (version 1), one JSON object per file::

    {
      "format": "tower-webhooks-capture",
      "version": 1,
      "received_at": "2026-11-30T02:00:00.123Z",
      "received_at_ms": 1764468000123,
      "method": "POST",
      "path": "/webhooks/tower",
      "headers": [["Host", "127.0.0.1:8000"], ["X-Tower-Webhook-Timestamp", "1764468000000"], ...],
      "timestamp": "1764468000000",
      "signature": "kW3...==",
      "body_base64": "eyJldmVudF90eXBlIjoid2ViaG9vay50ZXN0IiwiZGF0YSI6e319",
      "verdict": {"status": 200, "reason": "ok", "detail": "verified"}
    }

``headers`` keeps every header in the order received, duplicates included; ``body_base64`` keeps
the body's exact bytes, whatever they are. ``timestamp`` and ``signature`` repeat the two Tower
headers (``null`` if absent) and ``received_at`` repeats ``received_at_ms``, for people reading the
file; a reader checks that they agree, so an edit to one and not the other is caught.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ._headers import HeaderValue, find_tower_headers
from .exceptions import WebhookVerificationError

__all__ = ["FORMAT", "VERSION", "Capture", "CaptureError", "format_time_ms", "load_capture", "save_capture"]

FORMAT = "tower-webhooks-capture"
VERSION = 1

_YEAR_10000_MS = 253_402_300_800_000


class CaptureError(Exception):
    """A file is not a readable capture; the message says what is wrong with it."""


@dataclass(frozen=True, slots=True)
class Capture:
    """One request a receiver answered, exactly as it arrived, with the verdict it got."""

    received_at_ms: int
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    status: int
    reason: str
    detail: str

    def tower_headers(self) -> tuple[HeaderValue, HeaderValue]:
        """The timestamp and signature header values, or ``None`` for a missing one.

        Raises:
            WebhookVerificationError: A Tower header was sent more than once.
        """
        return find_tower_headers(self.headers)

    def to_json(self) -> str:
        """The capture as the documented JSON object, indented for reading."""
        try:
            timestamp, signature = self.tower_headers()
        except WebhookVerificationError:  # sent twice: the headers list shows both
            timestamp = signature = None
        document = {
            "format": FORMAT,
            "version": VERSION,
            "received_at": format_time_ms(self.received_at_ms),
            "received_at_ms": self.received_at_ms,
            "method": self.method,
            "path": self.path,
            "headers": [list(pair) for pair in self.headers],
            "timestamp": timestamp,
            "signature": signature,
            "body_base64": binascii.b2a_base64(self.body, newline=False).decode("ascii"),
            "verdict": {"status": self.status, "reason": self.reason, "detail": self.detail},
        }
        return _render(document)


def _render(document: dict[str, Any]) -> str:
    """Indented JSON with one header pair per line, so a capture reads like the request it holds."""
    fields = []
    for name, value in document.items():
        if name == "headers":
            pairs = ",\n".join(f"    {json.dumps(pair, ensure_ascii=False)}" for pair in value)
            fields.append(f'  "headers": [\n{pairs}\n  ]' if pairs else '  "headers": []')
        else:
            fields.append(f"  {json.dumps(name)}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(fields) + "\n}\n"


def format_time_ms(time_ms: int) -> str:
    """Unix milliseconds as an ISO 8601 UTC time with milliseconds, such as ``2026-11-30T02:00:00.123Z``."""
    moment = datetime.fromtimestamp(time_ms / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{time_ms % 1000:03d}Z"


def save_capture(capture: Capture, directory: Path, sequence: int) -> Path:
    """Write ``capture`` into ``directory`` under a new name that sorts by arrival, and return it.

    Raises:
        OSError: The file cannot be written (it is never overwritten).
    """
    stamp = format_time_ms(capture.received_at_ms).replace("-", "").replace(":", "").replace(".", "")
    path = directory / f"{stamp}-{sequence:04d}-{capture.status}.json"
    with path.open("x", encoding="utf-8") as file:
        file.write(capture.to_json())
    return path


def load_capture(path: Path) -> Capture:
    """Read a capture file back.

    Raises:
        CaptureError: The file cannot be read, is not JSON, or is not a version 1 capture.
    """
    try:
        document = json.loads(path.read_bytes())
    except OSError as error:
        raise CaptureError(f"cannot read the capture file: {error.strerror}: {path}") from None
    except (ValueError, RecursionError) as error:
        raise CaptureError(f"{path} is not JSON ({error}): is it a file from `tower-webhooks listen --save`?") from None
    try:
        return _parse(document)
    except CaptureError as error:
        raise CaptureError(f"{path} is not a valid capture file: {error}") from None


def _parse(document: Any) -> Capture:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CaptureError(f'it lacks "format": "{FORMAT}"')
    version = document.get("version")
    if type(version) is not int or version != VERSION:  # True and 1.0 compare equal to 1, and are not it
        shown = json.dumps(version)[:40]  # as the file spells it (true, 1.0), and never a page of digits
        raise CaptureError(f"its version is {shown}; this tower-webhooks reads version {VERSION}")
    headers = _field(document, "headers", list)
    if not all(isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair) for pair in headers):
        raise CaptureError('"headers" must be a list of [name, value] string pairs')
    verdict = _field(document, "verdict", dict)
    try:
        body = base64.b64decode(_field(document, "body_base64", str), validate=True)
    except (ValueError, binascii.Error):  # non-ASCII text is a ValueError, bad base64 a binascii.Error
        raise CaptureError('"body_base64" is not base64') from None
    received_at_ms = _field(document, "received_at_ms", int)
    if not 0 <= received_at_ms < _YEAR_10000_MS:
        raise CaptureError('"received_at_ms" is not a Unix time in milliseconds')
    capture = Capture(
        received_at_ms=received_at_ms,
        method=_field(document, "method", str),
        path=_field(document, "path", str),
        headers=tuple((name, value) for name, value in headers),
        body=body,
        status=_status(verdict),
        reason=_field(verdict, "reason", str),
        detail=_field(verdict, "detail", str),
    )
    _check_copies(document, capture)
    return capture


def _check_copies(document: dict[str, Any], capture: Capture) -> None:
    """Refuse a capture whose human-readable copies disagree with the fields they repeat."""
    if document.get("received_at", format_time_ms(capture.received_at_ms)) != format_time_ms(capture.received_at_ms):
        raise CaptureError('"received_at" disagrees with "received_at_ms"')
    try:
        found = capture.tower_headers()
    except WebhookVerificationError:
        return  # a header sent twice: verifying the capture reports it
    for name, value in zip(("timestamp", "signature"), found, strict=True):
        if document.get(name, value) != value:
            raise CaptureError(f'"{name}" disagrees with the header in "headers": edit the header instead')


def _status(verdict: dict[str, Any]) -> int:
    status: int = _field(verdict, "status", int)
    if not 100 <= status <= 599:
        raise CaptureError('"verdict.status" is not an HTTP status from 100 to 599')
    return status


def _field(document: dict[str, Any], name: str, kind: type[Any]) -> Any:
    value = document.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise CaptureError(f'"{name}" is missing or not a {kind.__name__}')
    return value
