"""The ``endpoint`` fixture: real standard-library HTTP endpoints on 127.0.0.1 for ``send`` to judge."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.cli.helpers import TIMEOUT_S, Endpoint, Received, Respond


@pytest.fixture
def endpoint() -> Iterator[Callable[[Respond], Endpoint]]:
    """Start standard-library HTTP endpoints on free ports; each records requests, then behaves as told."""
    servers: list[ThreadingHTTPServer] = []
    threads: list[threading.Thread] = []
    release = threading.Event()

    def start(respond: Respond) -> Endpoint:
        running = Endpoint("")

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                running.received.append(Received(self.path, dict(self.headers.items()), body, self.client_address[1]))
                respond(self, release)

            def log_message(self, format: str, *args: object) -> None:
                """Keep the test output clean."""

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        running.url = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append(server)
        threads.append(thread)
        return running

    yield start
    release.set()
    for server in servers:
        server.shutdown()
        server.server_close()
    for thread in threads:
        thread.join(TIMEOUT_S)
