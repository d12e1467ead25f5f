"""The ASGI request scope both in-process benchmarks send, written once."""

from __future__ import annotations

from typing import Any

__all__ = ["encode_headers", "http_scope"]


def encode_headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    """Header pairs as an ASGI server passes them: lower-case names, latin-1 bytes."""
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


def http_scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """A POST to ``path`` as uvicorn would describe it."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": list(headers),
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
