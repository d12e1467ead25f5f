"""``listen``: a local verifying receiver that prints each delivery and can save it as a capture.

With a tunnel in front of it, this is how real Tower deliveries are seen and kept for
``verify --capture``. It answers exactly 200 to a verified request and 400 with the reason
otherwise, like the adapters.
"""

from __future__ import annotations

import contextlib
import errno
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from ._capture import Capture, format_time_ms, save_capture
from ._printable import printable
from ._receiver import Delivery, ReceiverServer
from ._signing import current_time_ms
from ._verify import Verifier

__all__ = ["DeliveryLog", "run_listen", "running"]


class DeliveryLog:
    """Prints one line per delivery and, given a directory, saves each one as a capture file.

    Called from the receiver's request threads, so it serialises its work.

    Args:
        out: Where the lines go.
        save_dir: Where captures go; ``None`` saves nothing.
        count: Set ``done`` after this many deliveries; ``None`` never does.
    """

    def __init__(self, out: TextIO, *, save_dir: Path | None = None, count: int | None = None) -> None:
        self._out = out
        self._save_dir = save_dir
        self._count = count
        self._lock = threading.Lock()
        self.received = 0
        self.done = threading.Event()

    def __call__(self, delivery: Delivery) -> None:
        received_at_ms = current_time_ms()
        with self._lock:
            self.received += 1
            line = (
                f"{format_time_ms(received_at_ms)}  {delivery.status} {delivery.reason:<22} "
                f"POST {printable(delivery.path)} [{len(delivery.body):,} B]"
            )
            if delivery.status != 200:
                line += f"  {delivery.detail}"
            if self._save_dir is not None:
                capture = Capture(
                    received_at_ms,
                    "POST",
                    delivery.path,
                    tuple(delivery.headers),
                    delivery.body,
                    delivery.status,
                    delivery.reason,
                    delivery.detail,
                )
                try:
                    line += f"  -> {save_capture(capture, self._save_dir, self.received)}"
                except OSError as error:
                    line += f"  (not saved: {error.strerror})"
            print(line, file=self._out, flush=True)
            if self._count is not None and self.received >= self._count:
                self.done.set()


@contextmanager
def running(server: ReceiverServer) -> Iterator[ReceiverServer]:
    """Serve in a background thread for the duration of the ``with`` block."""
    thread = threading.Thread(target=server.serve_forever, name="tower-webhooks-listen", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def run_listen(
    *,
    host: str,
    port: int,
    verifier: Verifier,
    save_dir: Path | None,
    count: int | None,
    read_timeout_s: float,
    out: TextIO,
) -> int:
    """Receive until interrupted (or ``count`` deliveries); return 0, or 1 if it cannot start (a port in use)."""
    log = DeliveryLog(out, save_dir=save_dir, count=count)
    try:
        if save_dir is not None:
            save_dir.mkdir(parents=True, exist_ok=True)
        server = ReceiverServer((host, port), verifier, log, read_timeout_s=read_timeout_s)
    except OSError as error:
        print(f"tower-webhooks: error: {_cannot_start(error, host, port)}", file=sys.stderr)
        return 1
    saving = f", saving captures to {save_dir}" if save_dir is not None else ""
    print(f"listening on {server.url} with {verifier!r}{saving} (Ctrl-C to stop)", file=out, flush=True)
    with running(server), contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a listener stops
        log.done.wait()
    noun = "delivery" if log.received == 1 else "deliveries"
    print(f"stopped after {log.received} {noun}", file=out, flush=True)
    return 0


def _cannot_start(error: OSError, host: str, port: int) -> str:
    """Why the receiver could not start, and for the usual cause, a port already taken, what to do."""
    if error.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {host}:{port}: another process is listening there; "
            "pick another port with --port (--port 0 picks a free one), or stop that process"
        )
    return f"{error.strerror}: {error.filename or f'{host}:{port}'}"
