"""A small standard-library HTTP receiver that verifies every request: the demo's and ``listen``'s."""

from __future__ import annotations

import collections
import io
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

from ._deadline import DeadlineReader
from ._verify import VerifiedWebhook, Verifier
from .adapters._shared import METHOD_NOT_ALLOWED, Reply, parse_content_length
from .exceptions import WebhookVerificationError

__all__ = ["DEFAULT_MAX_CONNECTIONS", "DEFAULT_READ_TIMEOUT_S", "Delivery", "ReceiverServer"]

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_READ_TIMEOUT_S = 30.0
"""Tower's own window: Tower gives up on a delivery after 30 s, so no genuine request takes longer to arrive."""
DEFAULT_MAX_CONNECTIONS = 64
"""Connections served at once. Tower sends one delivery at a time; the cap bounds the threads that
clients holding connections open can take, each for up to the read timeout."""
_LINGER_S = 5.0
"""How long a refused connection stays open after its 503, for the request it is sending to arrive unread."""


class Delivery(NamedTuple):
    """One request the receiver answered, with the verdict."""

    headers: list[tuple[str, str]]
    body: bytes
    status: int
    reason: str
    detail: str
    webhook: VerifiedWebhook | None
    path: str = "/"


class ReceiverServer(ThreadingHTTPServer):
    """Answers exactly 200 to verified POSTs, 400 with the reason otherwise, and 405 to other methods.

    Each request must arrive whole, from the connection's start (or the previous answer on a
    kept-alive connection) to its last body byte, within ``read_timeout_s``: a client that stalls
    or trickles its bytes cannot hold a thread and a socket for longer. One that stalls before its
    headers are complete, or an idle kept-alive connection, is closed without an answer, as
    `http.server` does on a timeout (there is no request to answer yet); one whose body stops
    arriving gets 408 ``request_timeout`` (a delivery, so ``listen`` shows it) and the connection closes.

    Each connection is served on a thread of its own, up to ``max_connections`` at once; one more
    gets 503 ``too_many_connections`` with ``Retry-After: 1`` as soon as it is accepted, and is
    closed a few seconds later, unread, so that clients holding connections open cannot make the
    receiver start threads without bound.

    Args:
        address: ``(host, port)``; port 0 picks a free one.
        verifier: Checks each request.
        on_delivery: Called with each answered request, from the request's thread.
        max_body_bytes: A larger ``Content-Length`` gets 413, its body unread.
        read_timeout_s: The time each request has to arrive whole.
        max_connections: The connections served at once.
    """

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        verifier: Verifier,
        on_delivery: Callable[[Delivery], None] = lambda delivery: None,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        self.verifier = verifier
        self.on_delivery = on_delivery
        self.max_body_bytes = max_body_bytes
        self.read_timeout_s = read_timeout_s
        self.max_connections = max_connections
        self._free_slots = threading.Semaphore(max_connections)
        # Set before binding: a bind that fails calls server_close, which closes these.
        self._lingering: collections.deque[tuple[float, socket.socket]] = collections.deque()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection on a thread of its own, or refuse it at once if every slot is taken."""
        if not self._free_slots.acquire(blocking=False):
            self._refuse_busy(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:  # no thread started, so none will give the slot back
            self._free_slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Serve the connection, then give its slot back."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._free_slots.release()

    def _refuse_busy(self, connection: socket.socket) -> None:
        """Answer 503 from the accepting thread without reading the request; the socket closes later (see below)."""
        reply = Reply(
            503,
            "too_many_connections",
            f"this receiver serves {self.max_connections} connections at once; retry shortly",
        )
        head = (
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(reply.body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
        )
        try:
            connection.settimeout(1.0)  # a fresh socket's buffer takes it at once; never wait on the client
            connection.sendall(head.encode("ascii") + reply.body)
            connection.shutdown(socket.SHUT_WR)
        except OSError:
            self.shutdown_request(connection)  # the client is gone or not reading: closing is all that is left
            return
        # Closed now, the socket would answer the request the client is still sending with a reset,
        # which most clients report instead of the 503 (http.client: BrokenPipeError). Kept open a
        # moment, unread, it lets the request arrive and the answer be read; at most
        # max_connections of them, so a flood of connections cannot hold sockets without bound.
        self._lingering.append((time.monotonic() + _LINGER_S, connection))
        if len(self._lingering) > self.max_connections:
            self._lingering.popleft()[1].close()

    def service_actions(self) -> None:
        """Close the refused connections whose moment has passed (serve_forever calls this every loop)."""
        super().service_actions()
        now = time.monotonic()
        while self._lingering and self._lingering[0][0] <= now:
            self._lingering.popleft()[1].close()

    def server_close(self) -> None:
        """Close the listening socket and any refused connection still open."""
        super().server_close()
        while self._lingering:
            self._lingering.popleft()[1].close()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/"


# The reasons for what http.server refuses by itself, named here: its phrases change between Python
# versions (414 is "Request-URI Too Long" in 3.11 and "URI Too Long", RFC 9110's name, in 3.13).
_SERVER_REFUSALS = {
    400: "bad_request",
    414: "uri_too_long",
    431: "request_header_fields_too_large",
    505: "http_version_not_supported",
}


class _Handler(BaseHTTPRequestHandler):
    server: ReceiverServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # The base class's `timeout` would bound each wait for bytes, which a client sending one
        # byte every few seconds never trips: read through one deadline per request instead. The
        # answer is written with what the last read left as the socket timeout, so a client that
        # stops reading cannot hold the thread either.
        self.rfile.close()
        self._reader = DeadlineReader(self.connection, deadline=0.0)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        """Handle one request within the read timeout, which starts now: at the connection's start or the last answer.

        A TimeoutError before the headers are complete is the base class's: it closes the connection unanswered.
        """
        self._reader.deadline = time.perf_counter() + self.server.read_timeout_s
        super().handle_one_request()

    def handle_expect_100(self) -> bool:
        """Ask for the body (``100 Continue``) only if it will be read; otherwise answer without it.

        The base class always asks, so a client was sent ``100 Continue`` and then refused (413,
        411, 405) with the body it had just started sending left unread.
        """
        if self.command == "POST" and not isinstance(self._body_length(), Reply):
            return super().handle_expect_100()
        return True  # the method's handler answers at once, and closes the connection

    def _body_length(self) -> int | Reply:
        """The length of the body to read, or the answer that refuses it unread."""
        lengths = self.headers.get_all("Content-Length", [])
        length = parse_content_length(lengths[0]) if len(lengths) == 1 else None
        if length is None or "Transfer-Encoding" in self.headers:
            if not lengths:
                return Reply(411, "length_required", "send a Content-Length header")
            detail = "send exactly one Content-Length header, a whole number of bytes, and no Transfer-Encoding"
            return Reply(400, "invalid_content_length", detail)
        if length > self.server.max_body_bytes:
            return Reply(413, "body_too_large", f"the body is over {self.server.max_body_bytes} bytes")
        return length

    def do_POST(self) -> None:
        headers = list(self.headers.items())
        length = self._body_length()
        if isinstance(length, Reply):
            # The body is never read, so close after answering: no byte of it may be taken for the
            # next request on this connection (request smuggling).
            self.close_connection = True
            self._answer(headers, b"", status=length.status, reason=length.reason, detail=length.detail)
            return
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            self.close_connection = True  # the rest of the body may still come: never as a request
            detail = (
                f"the body ({length:,} bytes by its Content-Length) did not arrive within "
                f"{self.server.read_timeout_s:g} s; is the Content-Length the body's exact size?"
            )
            self._answer(headers, b"", status=408, reason="request_timeout", detail=detail)
            return
        try:
            webhook = self.server.verifier.verify_headers(headers, body)
        except WebhookVerificationError as error:
            self._answer(headers, body, status=400, reason=error.reason, detail=error.message)
        else:
            self._answer(headers, body, status=200, reason="ok", detail="verified", webhook=webhook)

    def _refuse_method(self) -> None:
        """Answer any other method as the adapters do: 405, ``Allow: POST`` and the JSON reason."""
        self.close_connection = True  # a body it may carry is never read (see do_POST)
        self._send(METHOD_NOT_ALLOWED, with_body=self.command != "HEAD")

    def __getattr__(self, name: str) -> Any:
        """Refuse every method but POST with 405, any the client names (``TRACE``, ``FOO``, ``post``).

        The base class looks up ``do_<METHOD>`` and answers a method without one 501 with an HTML
        page: a 5xx for what the client sent, and not the adapters' JSON reason.
        """
        if name.startswith("do_"):
            return self._refuse_method
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer the base class's own refusals as JSON too, and close the connection.

        A request line or headers too long (414, 431), a malformed request line (400) or an HTTP
        version other than 1.x (505) were answered with ``http.server``'s HTML page, and without a
        status line when the request line could not be read (taken for HTTP/0.9, which has none).
        """
        self.close_connection = True
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.0"  # nobody speaks 0.9: a status line says what went wrong
        reason = _SERVER_REFUSALS.get(code, f"http_{code}")
        phrase = self.responses.get(code, ("Refused",))[0]  # HTTPStatus(code) would raise for a code it lacks
        self._send(Reply(code, reason, message or phrase), with_body=self.command != "HEAD")

    def _send(self, reply: Reply, *, with_body: bool = True) -> None:
        payload = b'{"ok": true}' if reply.status == 200 else reply.body
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")  # say so, rather than leave the client to find out
        self.end_headers()
        if with_body:
            self.wfile.write(payload)

    def _answer(
        self,
        headers: list[tuple[str, str]],
        body: bytes,
        *,
        status: int,
        reason: str,
        detail: str,
        webhook: VerifiedWebhook | None = None,
    ) -> None:
        self._send(Reply(status, reason, detail))
        self.server.on_delivery(Delivery(headers, body, status, reason, detail, webhook, self.path))

    def log_message(self, format: str, *args: object) -> None:
        """Silence the per-request stderr log: callers print their own summary."""
