"""Hostile input from the network or a file: each command answers it cleanly, in bounded time.

Regression tests for a security review: malformed ``Content-Length`` values, request smuggling
past a refused body, clients that stall or trickle their request, terminal escapes in what is
printed, a server that trickles its answer, a huge body under ``verify --explain``, and capture
files with values of the wrong kind.
"""

from __future__ import annotations

import http.client
import json
import re
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.cli.helpers import TIMEOUT_S, Endpoint, Respond, run
from tests.cli.test_cli_listen import BODY, Listener, _write
from tests.cli.test_cli_verify import _verify
from tests.values import NOW_MS, SECRET
from tower_webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, Verifier, generate_secret, sign
from tower_webhooks._listen import running
from tower_webhooks._receiver import ReceiverServer
from tower_webhooks._signing import current_time_ms


def _exchange(port: int, request: bytes) -> bytes:
    """Send raw bytes to 127.0.0.1:``port`` and return everything received until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as connection:
        connection.sendall(request)
        return _until_closed(connection)


def _until_closed(connection: socket.socket) -> bytes:
    """Everything received on ``connection`` until the server closes it."""
    received = b""
    while chunk := connection.recv(65536):  # a connection left open ends the test with TimeoutError
        received += chunk
    return received


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    """One `tower-webhooks listen` for the tests that only need its answers."""
    running = Listener()
    yield running
    running.stop()


@pytest.mark.parametrize(
    "length",
    [b"\xb2", b"9" * 5000, b"-1", b"0x10", b"1 2"],
    ids=["superscript two", "5000 digits", "negative", "hex", "two numbers"],
)
def test_listen_refuses_a_content_length_that_is_not_ascii_digits(listener: Listener, length: bytes) -> None:
    """A Content-Length that is not plain ASCII digits gets 400 invalid_content_length and the connection closes."""
    answer = _exchange(listener.port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n{}")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert json.loads(body)["error"] == "invalid_content_length"


@pytest.mark.parametrize(
    ("framing", "status", "error"),
    [
        (b"Transfer-Encoding: chunked\r\n", b"411", "length_required"),
        (b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n", b"400", "invalid_content_length"),
        (b"Content-Length: 2\r\nContent-Length: 60\r\n", b"400", "invalid_content_length"),
    ],
    ids=["chunked", "chunked and a length", "two lengths"],
)
def test_listen_closes_after_a_body_it_does_not_read(
    listener: Listener, framing: bytes, status: bytes, error: str
) -> None:
    """A refused body is never parsed as the next request: one answer, then the connection closes."""
    smuggled = b"POST /smuggled HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    answer = _exchange(listener.port, b"POST / HTTP/1.1\r\nHost: x\r\n" + framing + b"\r\n" + smuggled)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 " + status + b" "), answer[:200]
    assert json.loads(body)["error"] == error, answer
    assert answer.count(b"HTTP/1.1 ") == 1, answer


@pytest.mark.parametrize("method", [b"TRACE", b"CONNECT", b"PROPFIND", b"FOO", b"post"])
def test_listen_answers_any_other_method_405_not_501(listener: Listener, method: bytes) -> None:
    """A method http.server has no handler for is 405 with the JSON reason too, not its 501 HTML page."""
    answer = _exchange(listener.port, method + b" /webhooks/tower HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 405 "), answer[:200]
    assert b"\r\nAllow: POST\r\n" in head
    assert json.loads(body) == {"error": "method_not_allowed", "detail": "Tower sends webhooks as POST"}


@pytest.mark.parametrize("method", [b"GET", b"PUT", b"DELETE", b"TRACE"])
def test_listen_closes_after_refusing_a_method_with_a_body(listener: Listener, method: bytes) -> None:
    """A 405 leaves the body unread, so the connection closes: the body is never parsed as a request."""
    smuggled = b"POST /smuggled HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    request = method + b" / HTTP/1.1\r\nHost: x\r\nContent-Length: " + str(len(smuggled)).encode() + b"\r\n\r\n"
    answer = _exchange(listener.port, request + smuggled)
    assert answer.startswith(b"HTTP/1.1 405 "), answer[:200]
    assert answer.count(b"HTTP/1.1 ") == 1, answer


@pytest.mark.parametrize(
    ("request_head", "status"),
    [
        (b"POST /webhooks/tower HTTP/1.1\r\nContent-Length: 2000000\r\n", b"413"),
        (b"POST /webhooks/tower HTTP/1.1\r\nTransfer-Encoding: chunked\r\n", b"411"),
        (b"PUT /webhooks/tower HTTP/1.1\r\nContent-Length: 2\r\n", b"405"),
    ],
    ids=["too large", "chunked", "another method"],
)
def test_listen_refuses_at_once_instead_of_asking_for_a_body_it_will_not_read(
    listener: Listener, request_head: bytes, status: bytes
) -> None:
    """Regression: Expect: 100-continue got '100 Continue', then the refusal, with the body it invited unread."""
    answer = _exchange(listener.port, request_head + b"Host: x\r\nExpect: 100-continue\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 " + status + b" "), answer[:200]
    assert b" 100 " not in answer.split(b"\r\n", 1)[0]


def test_listen_asks_for_a_body_it_will_read_then_verifies_it(listener: Listener) -> None:
    """Expect: 100-continue on a request within the limits gets 100 Continue, then the verdict on the body."""
    head = b"".join(f"{name}: {value}\r\n".encode() for name, value in sign(SECRET, BODY).items())
    request = b"POST /webhooks/tower HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % len(BODY)
    with socket.create_connection(("127.0.0.1", listener.port), timeout=TIMEOUT_S) as connection:
        connection.sendall(request + head + b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
        assert connection.recv(65536).startswith(b"HTTP/1.1 100 Continue\r\n")
        connection.sendall(BODY)
        answer = _until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]


@pytest.mark.parametrize(
    ("request_head", "status", "error"),
    [
        (b"POST /" + b"a" * 70_000 + b" HTTP/1.1\r\n", b"414", "uri_too_long"),
        (b"POST / HTTP/1.1\r\n" + b"X-Many: 1\r\n" * 101, b"431", "request_header_fields_too_large"),
        (b"POST / HTTP/1.1\r\nX-Long: " + b"a" * 70_000 + b"\r\n", b"431", "request_header_fields_too_large"),
        (b"POST / HTTP/1.1 extra\r\n", b"400", "bad_request"),
        (b"POST / HTTP/2.0\r\n", b"505", "http_version_not_supported"),
    ],
    ids=["long request line", "many headers", "long header", "bad request line", "HTTP/2.0"],
)
def test_listen_answers_its_http_servers_own_refusals_as_json(
    listener: Listener, request_head: bytes, status: bytes, error: str
) -> None:
    """Regression: what http.server refuses itself was answered with its HTML error page, unlike every other answer."""
    answer = _exchange(listener.port, request_head + b"Host: x\r\nContent-Length: 2\r\n\r\n{}")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 " + status + b" "), answer[:200]
    assert b"\r\nContent-Type: application/json\r\n" in head
    assert b"\r\nConnection: close" in head
    assert json.loads(body)["error"] == error


READ_TIMEOUT_S = 2
"""Short for the tests, yet far longer than a request sent at once takes to be answered."""


@pytest.fixture(scope="module")
def impatient() -> Iterator[Listener]:
    """A `tower-webhooks listen --read-timeout 2`."""
    running = Listener("--read-timeout", str(READ_TIMEOUT_S))
    yield running
    running.stop()


def test_listen_serves_others_while_clients_stall_then_drops_them(impatient: Listener) -> None:
    """Stalled clients hold the listener only for --read-timeout: others are verified meanwhile, then they are dropped.

    A client that sent nothing or half its headers is disconnected unanswered; one that sent half its body gets
    408 request_timeout (a delivery, so it is printed); a kept-alive connection left idle is closed.
    """
    stalls = {
        "nothing": b"",
        "half the headers": b"POST /webhooks/tower HTTP/1.1\r\nHost: x\r\nContent-Le",
        "half the body": b"POST /webhooks/tower HTTP/1.1\r\nHost: x\r\nContent-Length: 60\r\n\r\n" + BODY[:30],
    }
    stalled = {name: socket.create_connection(("127.0.0.1", impatient.port), timeout=TIMEOUT_S) for name in stalls}
    kept_alive = http.client.HTTPConnection("127.0.0.1", impatient.port, timeout=TIMEOUT_S)
    try:
        for name, part in stalls.items():
            stalled[name].sendall(part)
        kept_alive.request("POST", "/webhooks/tower", body=BODY, headers=sign(SECRET, BODY))
        response = kept_alive.getresponse()
        assert (response.status, response.read()) == (200, b'{"ok": true}')
        assert impatient.post(BODY, sign(SECRET, BODY)) == 200  # over a connection of its own
        assert kept_alive.sock is not None
        connections = [*stalled.values(), kept_alive.sock]
        assert select.select(connections, [], [], 0)[0] == [], "a connection was dropped before the others were served"
        # One line at a time, each once it is due: next_line waits on the pipe, not on what readline buffered.
        assert " 200 ok " in impatient.next_line()
        assert " 200 ok " in impatient.next_line()

        answers = {name: _until_closed(connection) for name, connection in stalled.items()}
        assert _until_closed(kept_alive.sock) == b""
        line = impatient.next_line()
    finally:
        kept_alive.close()
        for connection in stalled.values():
            connection.close()
    assert answers["nothing"] == answers["half the headers"] == b""
    head, _, body = answers["half the body"].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), answers["half the body"]
    assert b"\r\nConnection: close" in head + b"\r\n"
    assert json.loads(body)["error"] == "request_timeout"
    assert " 408 request_timeout " in line
    assert f"did not arrive within {READ_TIMEOUT_S} s" in line


def test_listen_drops_a_client_that_trickles_its_request(impatient: Listener) -> None:
    """A byte every 0.05 s never trips a per-read timeout; the connection still closes at --read-timeout."""
    request = b"POST /webhooks/tower HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 400  # over 20 s of trickling
    sent = 0
    with socket.create_connection(("127.0.0.1", impatient.port), timeout=TIMEOUT_S) as connection:
        try:
            while sent < len(request):
                connection.sendall(request[sent : sent + 1])
                sent += 1
                if select.select([connection], [], [], 0.05)[0]:
                    assert connection.recv(65536) == b""  # closed unanswered: the headers never ended
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed while a byte was on its way
    assert sent < len(request), "the listener kept a trickling client for 20 s"


@pytest.mark.parametrize("value", ["0", "-1", "soon", "3601"])
def test_listen_bad_read_timeout_is_a_usage_error(value: str) -> None:
    """--read-timeout must be more than 0 and at most 3600 seconds."""
    result = run("listen", "--port", "0", "--read-timeout", value)
    assert result.code == 2
    assert "--read-timeout" in result.err


def test_received_path_is_printed_escaped(tmp_path: Path) -> None:
    """Terminal escapes in a request path are printed as escapes by `listen` and by `verify --capture`."""
    listener = Listener("--save", str(tmp_path), "--count", "1")
    try:
        request = (
            b"POST /a\x1b[2J\x1b]0;owned\x07 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
        )
        assert _exchange(listener.port, request).startswith(b"HTTP/1.1 400 ")
        code, out = listener.finish()
    finally:
        listener.stop()
    assert code == 0
    assert "POST /a\\x1b[2J\\x1b]0;owned\\x07 [2 B]" in out
    assert "\x1b" not in out
    (capture,) = tmp_path.iterdir()
    result = run("verify", "--capture", str(capture))
    assert result.code == 1
    assert "capture: POST /a\\x1b[2J\\x1b]0;owned\\x07 [2 B]" in result.out
    assert "\x1b" not in result.out + result.err


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda document: {**document, "version": True}, "its version is true;"),
        (lambda document: {**document, "version": 1.0}, "its version is 1.0;"),
        (lambda document: {**document, "verdict": {**document["verdict"], "status": -200}}, "from 100 to 599"),
        (lambda document: {**document, "verdict": {**document["verdict"], "status": 10**300}}, "from 100 to 599"),
        (lambda document: {**document, "verdict": {**document["verdict"], "status": True}}, '"status" is missing'),
    ],
    ids=["version true", "version 1.0", "negative status", "300-digit status", "status true"],
)
def test_capture_values_of_the_wrong_kind_are_a_usage_error(tmp_path: Path, edit: object, message: str) -> None:
    """A capture whose version or status is of the wrong kind or out of range exits 2 and says which."""
    path = _write(tmp_path / "c.json", timestamp_ms=current_time_ms(), received_at_ms=current_time_ms())
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))  # type: ignore[operator]
    result = run("verify", "--capture", str(path))
    assert result.code == 2, result.out
    assert message in result.err
    assert len(result.err) < 400  # the message, not a 300-digit number


def trickle(head: bytes, rest: bytes) -> Respond:
    """An endpoint behaviour: write ``head`` at once, then ``rest`` one byte every 0.2 s."""

    def respond(handler: BaseHTTPRequestHandler, release: threading.Event) -> None:
        try:
            handler.wfile.write(head)
            for byte in rest:
                handler.wfile.flush()
                if release.wait(0.2):
                    return
                handler.wfile.write(bytes([byte]))
        except OSError:
            return  # send gave up and closed the connection, as it should

    return respond


_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n" + b" " * 62 + b"{}"


@pytest.mark.parametrize(
    ("behaviour", "failure"),
    [
        (trickle(b"", _ANSWER), "the answer's status line and headers did not finish within 1 s"),
        (trickle(_ANSWER[:-64], _ANSWER[-64:]), "the answer did not finish within 1 s"),
    ],
    ids=["headers", "body"],
)
def test_send_timeout_holds_against_a_trickled_answer(
    endpoint: Callable[[Respond], Endpoint], behaviour: Respond, failure: str
) -> None:
    """An endpoint that sends a byte every 0.2 s (about 20 s in all) fails at --timeout, with what was late."""
    result = run("send", endpoint(behaviour).url, "--timeout", "1")
    assert result.code == 1
    assert f"not delivered: {failure}; Tower retries later" in result.out
    assert "no answer after" not in result.out  # some of it came: the summary says "no complete answer"


def _raw(answer: bytes) -> Respond:
    def respond(handler: BaseHTTPRequestHandler, release: threading.Event) -> None:
        handler.wfile.write(answer)
        handler.close_connection = True

    return respond


_ESCAPES = b"\x1b[2J\x1b]0;owned\x07"


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        (b"HTTP/1.1 500 Oops\r\nContent-Length: 20\r\n\r\nfailed" + _ESCAPES, "answer: failed\\x1b[2J"),
        (
            b"HTTP/1.1 302 Found\r\nLocation: /x" + _ESCAPES + b"\r\nContent-Length: 0\r\n\r\n",
            "a redirect to /x\\x1b[2J",
        ),
        (b"HTTP/1.1 2" + _ESCAPES + b"\r\n\r\n", "BadStatusLine: HTTP/1.1 2\\x1b[2J"),
    ],
    ids=["answer", "location", "status line"],
)
def test_send_prints_the_server_text_escaped(
    endpoint: Callable[[Respond], Endpoint], answer: bytes, shown: str
) -> None:
    """Terminal escapes in an endpoint's answer, Location or status line are printed as escapes."""
    result = run("send", endpoint(_raw(answer)).url)
    assert result.code == 1
    assert shown in result.out
    assert "\x1b" not in result.out + result.err


BIG = json.dumps({"event_type": "run.finished", "data": {"log": "x" * 3_000_000}}).encode()
_NARROWED = rf"within (\d+) ms of the header's \(no wider: each try hashes the whole {len(BIG):,}-byte body\)"


def test_explain_on_a_large_body_narrows_the_timestamp_search_and_says_so(tmp_path: Path) -> None:
    """On a 3 MB body the search for another timestamp fits the hashing budget, and the output gives its width."""
    headers = sign(generate_secret(), BIG, timestamp_ms=NOW_MS)
    result = _verify(tmp_path, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], BIG, "--explain", "--no-tolerance")
    assert result.code == 1
    found = re.search(_NARROWED, result.out)
    assert found, result.out
    assert 0 < int(found[1]) < 1000


def test_explain_on_a_large_body_still_finds_a_nearby_timestamp(tmp_path: Path) -> None:
    """The narrowed search still finds a timestamp a few milliseconds off."""
    headers = sign(SECRET, BIG, timestamp_ms=NOW_MS)
    result = _verify(tmp_path, str(NOW_MS + 3), headers[SIGNATURE_HEADER], BIG, "--explain", "--no-tolerance")
    assert result.code == 1
    assert "[timestamp_differs] the signature was made over a timestamp -3 ms from the header's" in result.out


def test_listen_refuses_connections_past_its_cap_and_serves_again_once_they_close() -> None:
    """Clients holding connections open take at most max_connections threads; one more gets 503 at once."""
    server = ReceiverServer(("127.0.0.1", 0), Verifier(SECRET), max_connections=2, read_timeout_s=TIMEOUT_S)
    port = server.server_address[1]
    with running(server):
        holders = [socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) for _ in range(2)]
        try:
            answer = _exchange(port, b"")  # the third: answered before it sends a byte
        finally:
            for holder in holders:
                holder.close()
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503 "), answer[:200]
        assert b"\r\nRetry-After: 1\r\n" in head
        assert json.loads(body)["error"] == "too_many_connections"
        headers = sign(SECRET, BODY)
        deadline = current_time_ms() + TIMEOUT_S * 1000
        while True:  # the holders' threads end once they see the connections close
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
            try:
                connection.request("POST", "/webhooks/tower", body=BODY, headers=headers)
                status = connection.getresponse().status
            except (BrokenPipeError, ConnectionResetError):  # refused before the request was all sent
                status = 503
            finally:
                connection.close()
            if status != 503 or current_time_ms() > deadline:
                break
            time.sleep(0.05)
        assert status == 200


def test_a_refused_client_that_sends_its_request_first_still_reads_the_503() -> None:
    """The 503 reaches a client that writes its whole request before reading, as http.client does (regression).

    The refused socket was closed at once, so the request arriving after it drew a reset: the
    client saw BrokenPipeError or ConnectionResetError (59 times in 60) instead of the answer.
    """
    server = ReceiverServer(("127.0.0.1", 0), Verifier(SECRET), max_connections=1, read_timeout_s=TIMEOUT_S)
    port = server.server_address[1]
    with running(server):
        holder = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
        try:
            for _ in range(3):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
                try:
                    connection.request("POST", "/webhooks/tower", body=BODY, headers=sign(SECRET, BODY))
                    response = connection.getresponse()
                    assert (response.status, response.getheader("Retry-After")) == (503, "1")
                    assert json.loads(response.read())["error"] == "too_many_connections"
                finally:
                    connection.close()
        finally:
            holder.close()
