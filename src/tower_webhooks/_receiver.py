"""A small standard-library HTTP receiver that verifies every request: the demo's and ``listen``'s."""

from __future__ import annotations

from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple

from ._verify import VerifiedWebhook, Verifier
from .adapters._shared import METHOD_NOT_ALLOWED, Reply, parse_content_length
from .exceptions import WebhookVerificationError

__all__ = ["Delivery", "ReceiverServer"]

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


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

    Args:
        address: ``(host, port)``; port 0 picks a free one.
        verifier: Checks each request.
        on_delivery: Called with each answered request, from the request's thread.
    """

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        verifier: Verifier,
        on_delivery: Callable[[Delivery], None] = lambda delivery: None,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        super().__init__(address, _Handler)
        self.verifier = verifier
        self.on_delivery = on_delivery
        self.max_body_bytes = max_body_bytes

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/"


class _Handler(BaseHTTPRequestHandler):
    server: ReceiverServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        headers = list(self.headers.items())
        lengths = self.headers.get_all("Content-Length", [])
        length = parse_content_length(lengths[0]) if len(lengths) == 1 else None
        if length is None or "Transfer-Encoding" in self.headers:
            # The body is never read, so close after answering: no byte of it may be taken for the
            # next request on this connection (request smuggling).
            self.close_connection = True
            if not lengths:
                self._answer(headers, b"", status=411, reason="length_required", detail="send a Content-Length header")
            else:
                detail = "send exactly one Content-Length header, a whole number of bytes, and no Transfer-Encoding"
                self._answer(headers, b"", status=400, reason="invalid_content_length", detail=detail)
            return
        if length > self.server.max_body_bytes:
            self.close_connection = True  # the rest of the body is never read
            self._answer(
                headers,
                b"",
                status=413,
                reason="body_too_large",
                detail=f"the body is over {self.server.max_body_bytes} bytes",
            )
            return
        body = self.rfile.read(length)
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

    do_GET = do_HEAD = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _refuse_method

    def _send(self, reply: Reply, *, with_body: bool = True) -> None:
        payload = b'{"ok": true}' if reply.status == 200 else reply.body
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
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
