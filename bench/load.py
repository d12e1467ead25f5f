"""Load on 127.0.0.1: ``wrk`` when it is installed, else a small Python client (and the report says which).

The Python client shares the two cores and the GIL with nothing but itself, yet it is far slower
than wrk: it makes every server look less loaded, so ratios measured with it are gentler.
"""

from __future__ import annotations

import http.client
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LoadResult", "load_tool", "run_load"]

_CONNECTIONS = 8
_PYTHON_THREADS = 4


@dataclass(frozen=True)
class LoadResult:
    """Requests answered 200 (in all, and per second), and how many answers were anything else."""

    requests: int
    requests_per_second: float
    failures: int


def load_tool() -> str:
    """``"wrk"`` when it is on the PATH, else ``"python"``."""
    return "wrk" if shutil.which("wrk") else "python"


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _wrk(port: int, path: str, body: bytes, headers: dict[str, str], seconds: int) -> LoadResult:
    with tempfile.TemporaryDirectory() as directory:
        body_file = Path(directory) / "body"
        body_file.write_bytes(body)
        script = Path(directory) / "post.lua"
        lines = [
            'wrk.method = "POST"',
            f"local file = io.open({_lua_string(str(body_file))}, 'rb')",
            "wrk.body = file:read('*a')",
            "file:close()",
            *(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}" for name, value in headers.items()),
        ]
        script.write_text("\n".join(lines) + "\n")
        output = subprocess.run(  # noqa: S603 - wrk, with arguments built here
            ["wrk", "-t1", f"-c{_CONNECTIONS}", f"-d{seconds}s", "-s", str(script), f"http://127.0.0.1:{port}{path}"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 30,
        ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    if rate is None or total is None:
        raise RuntimeError(f"wrk printed no rate:\n{output}")
    failures = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return LoadResult(int(total.group(1)), float(rate.group(1)), int(failures.group(1)) if failures else 0)


def _python(port: int, path: str, body: bytes, headers: dict[str, str], seconds: float) -> LoadResult:
    deadline = time.monotonic() + seconds
    counts = [[0, 0] for _ in range(_PYTHON_THREADS)]

    def worker(count: list[int]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < deadline:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            count[0 if response.status == 200 else 1] += 1
        connection.close()

    threads = [threading.Thread(target=worker, args=(count,)) for count in counts]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    answered = sum(count[0] for count in counts)
    return LoadResult(answered, answered / elapsed, sum(count[1] for count in counts))


def run_load(port: int, path: str, body: bytes, headers: dict[str, str], seconds: int) -> LoadResult:
    """POST ``body`` with ``headers`` to ``path`` for ``seconds``, from as many connections as wrk uses."""
    if load_tool() == "wrk":
        return _wrk(port, path, body, headers, seconds)
    return _python(port, path, body, headers, seconds)
