"""``send`` and ``send --check``: judging real endpoints on 127.0.0.1 the way Tower does."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.cli.helpers import TIMEOUT_S, Endpoint, Respond, answer, run, stall
from tests.values import SECRET
from tower_webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Verifier,
    WebhookVerificationError,
    generate_secret,
    verify,
)
from tower_webhooks._receiver import ReceiverServer
from tower_webhooks._samples import sample_body
from tower_webhooks._secret import SecretEncoding
from tower_webhooks._send import check_cases, check_url
from tower_webhooks.testing import TowerSigner

Start = Callable[[Respond], Endpoint]


@pytest.fixture
def receiver() -> Iterator[str]:
    """A correct endpoint: the library's own verifying receiver, on a free port."""
    server = ReceiverServer(("127.0.0.1", 0), Verifier(SECRET))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"{server.url}webhooks/tower"
    server.shutdown()
    server.server_close()
    thread.join()


def test_200_is_delivered_and_the_request_is_signed(endpoint: Start) -> None:
    """An exact 200 exits 0; what was sent is Tower's test event, signed with the secret."""
    target = endpoint(answer(200, b"{}"))
    result = run("send", f"{target.url}/webhooks/tower")
    assert result.code == 0, result.out + result.err
    assert "delivered: an exact 200" in result.out
    assert "headers after" in result.out
    assert SECRET not in result.out + result.err
    [request] = target.received
    assert request.path == "/webhooks/tower"
    assert request.body == sample_body("test-event.json")
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("tower-webhooks/")
    verify(SECRET, request.headers[TIMESTAMP_HEADER], request.headers[SIGNATURE_HEADER], request.body)


def test_body_file_is_sent_byte_for_byte(endpoint: Start, tmp_path: Path) -> None:
    """`--body FILE` posts the file's exact bytes."""
    body = b'{"k": "\xc3\xa9"}\r\n'
    (tmp_path / "body.json").write_bytes(body)
    target = endpoint(answer(200))
    assert run("send", target.url, "--body", str(tmp_path / "body.json")).code == 0
    assert target.received[0].body == body


@pytest.mark.parametrize("status", [201, 204])
def test_other_2xx_is_not_delivered(endpoint: Start, status: int) -> None:
    """201 and 204 are failures: Tower counts only an exact 200."""
    target = endpoint(answer(status))
    result = run("send", target.url)
    assert result.code == 1
    assert f"{status} " in result.out
    assert "Tower counts only an exact 200" in result.out


def test_500_is_not_delivered_and_the_answer_is_shown(endpoint: Start) -> None:
    """A 500 exits 1 and shows the start of the answer's body."""
    target = endpoint(answer(500, b'{"error": "database is down"}'))
    result = run("send", target.url)
    assert result.code == 1
    assert "500 Internal Server Error" in result.out
    assert "database is down" in result.out
    assert "not delivered" in result.out


def test_redirect_is_reported_and_never_followed(endpoint: Start) -> None:
    """A 308 shows its Location, flags the trailing slash, and nothing is sent there."""
    target = endpoint(answer(308, headers={"Location": "/webhooks/tower/"}))
    result = run("send", f"{target.url}/webhooks/tower")
    assert result.code == 1
    assert "a redirect to /webhooks/tower/ (the URLs differ only by a trailing slash)" in result.out
    assert "Tower never follows redirects" in result.out
    assert [request.path for request in target.received] == ["/webhooks/tower"]


def test_redirect_to_an_absolute_url_with_a_slash(endpoint: Start) -> None:
    """An absolute Location that differs from the URL only by a trailing slash is called out."""

    def redirect(handler: BaseHTTPRequestHandler, release: threading.Event) -> None:
        answer(301, headers={"Location": f"http://{handler.headers['Host']}{handler.path}/"})(handler, release)

    target = endpoint(redirect)
    result = run("send", f"{target.url}/hooks")
    assert result.code == 1
    assert f"a redirect to {target.url}/hooks/ (the URLs differ only by a trailing slash)" in result.out
    assert len(target.received) == 1


def test_a_status_http_does_not_define_is_still_an_answer(endpoint: Start) -> None:
    """A 999 is shown as an answer with an unknown status, never as "no answer"."""
    target = endpoint(answer(999))
    result = run("send", target.url)
    assert result.code == 1
    assert "999 (a status HTTP does not define) in " in result.out
    assert "no answer" not in result.out


def test_no_answer_within_the_timeout(endpoint: Start) -> None:
    """An endpoint that never answers fails after --timeout, not after 30 s."""
    target = endpoint(stall(after_headers=False))
    result = run("send", target.url, "--timeout", "0.5")
    assert result.code == 1
    assert "not delivered: no answer within 0.5 s" in result.out


def test_headers_in_time_but_not_the_whole_answer(endpoint: Start) -> None:
    """A 200 whose body never finishes is judged on the last byte: not delivered."""
    target = endpoint(stall(after_headers=True))
    result = run("send", target.url, "--timeout", "0.5")
    assert result.code == 1
    assert "200 OK incomplete after" in result.out
    assert "not delivered: the answer did not finish within 0.5 s" in result.out


def test_connection_refused() -> None:
    """Nobody listening is a failure, with the reason."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    result = run("send", f"http://127.0.0.1:{port}/")
    assert result.code == 1
    assert "not delivered: ConnectionRefusedError" in result.out


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "127.0.0.1:8000/hooks", "http://127.0.0.1:99999/"])
def test_bad_url_is_a_usage_error(url: str) -> None:
    """A URL that is not http(s) with a host and a valid port exits 2."""
    result = run("send", url)
    assert result.code == 2
    assert "URL" in result.err
    assert result.out == ""


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:1/\u00e9", "'\u00e9', which must be percent-encoded (%C3%A9)"),
        ("http://127.0.0.1:1/hook?name=\u00e9", "(%C3%A9)"),
        ("http://127.0.0.1:1/a b", "' ', which must be percent-encoded (%20)"),
        ("http://127.0.0.1:1/a\x7fb", "'\\x7f', which must be percent-encoded (%7F)"),
        ("http://a..b/hook", "not a valid host name"),
        (f"http://{'a' * 64}.example/hook", "not a valid host name"),
    ],
    ids=["non-ascii path", "non-ascii query", "space", "control character", "empty label", "long label"],
)
def test_a_url_http_client_cannot_send_is_a_usage_error(url: str, message: str) -> None:
    """Regression: a non-ASCII path or a bad host name ended in a UnicodeError traceback once connected.

    A space or a control character was reported as an endpoint that did not answer, which it never saw.
    """
    result = run("send", url)
    assert (result.code, result.out) == (2, ""), result.err
    assert message in result.err
    assert "Traceback" not in result.err


def test_an_international_host_name_and_percent_escapes_are_still_sent() -> None:
    """A host name IDNA can encode, and escapes already in the path, pass the check."""
    assert check_url("http://\u00e9.example/%C3%A9?q=%20") == "http://\u00e9.example/%C3%A9?q=%20"
    assert check_url("http://[::1]:8000/hook") == "http://[::1]:8000/hook"


@pytest.mark.parametrize("check", [(), ("--check",)], ids=["send", "send --check"])
def test_url_without_a_scheme_stops_before_sending_and_suggests_one(check: tuple[str, ...]) -> None:
    """A URL without http:// exits 2 before any output, and the error suggests the http:// URL."""
    result = run("send", *check, "127.0.0.1:5101/webhooks/tower")
    assert result.code == 2
    assert result.out == ""
    assert "did you mean http://127.0.0.1:5101/webhooks/tower ?" in result.err


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_bad_timeout_is_a_usage_error(value: str) -> None:
    """--timeout must be a positive number of seconds."""
    assert run("send", "http://127.0.0.1:1/", "--timeout", value).code == 2


@pytest.mark.parametrize(
    ("secret", "encoding"), [(SECRET, "base64"), ("00ff" * 16, "hex"), ("a raw secret, used as is", "raw")]
)
def test_check_sends_the_genuine_request_then_the_testing_forgeries(secret: str, encoding: SecretEncoding) -> None:
    """The rows are the genuine request, then TowerSigner.forgeries() in its order, each refused for its reason."""
    genuine, *forged = check_cases(secret, encoding, sample_body("test-event.json"))
    verifier = Verifier(secret, secret_encoding=encoding)
    verifier.verify_headers(genuine.headers, genuine.body)
    assert [case.reason for case in forged] == [forgery.reason for forgery in TowerSigner().forgeries()]
    assert len({case.description for case in forged}) == len(forged)
    for case in forged:
        with pytest.raises(WebhookVerificationError) as caught:
            verifier.verify_headers(case.headers, case.body)
        assert caught.value.reason == case.reason, case.description


def test_check_passes_a_correct_endpoint(receiver: str) -> None:
    """Against the library's own receiver every row passes and the exit code is 0."""
    result = run("send", "--check", receiver)
    assert result.code == 0, result.out + result.err
    rows = [line for line in result.out.splitlines() if line.startswith(("pass ", "FAIL "))]
    assert len(rows) == 9
    assert all(row.startswith("pass ") for row in rows)
    assert "9 of 9 checks passed" in result.out
    assert SECRET not in result.out + result.err


SECRET_HINT = "hint: the endpoint refused every request, the genuine one too"


def test_check_with_another_secret_than_the_endpoints_says_so(receiver: str, tmp_path: Path) -> None:
    """The genuine row refused as a signature mismatch, and every forgery refused: one hint names the secrets.

    Regression: the genuine row just failed, and nothing said that the two secrets likely differ.
    """
    (tmp_path / "secret").write_text(generate_secret())
    result = run("send", "--check", receiver, "--secret-file", str(tmp_path / "secret"))
    assert result.code == 1, result.out + result.err
    rows = [line for line in result.out.splitlines() if line.startswith(("pass ", "FAIL "))]
    assert rows[0].startswith("FAIL    200 ok                    400 signature_mismatch")
    assert all(row.startswith("pass ") for row in rows[1:])
    [hint] = [line for line in result.out.splitlines() if line.startswith("hint:")]
    assert hint.startswith(SECRET_HINT)
    assert "the endpoint and this command most likely hold different secrets" in hint
    assert f"this command's is the file {tmp_path / 'secret'}, read as base64:" in hint
    assert "re-serialises the body" in hint
    assert SECRET not in result.out + result.err


@pytest.mark.parametrize("status", [400, 401, 403])
def test_check_gives_the_secret_hint_for_another_endpoints_refusal(endpoint: Start, status: int) -> None:
    """An endpoint that is not ours and refuses everything with 400, 401 or 403 gets the hint too."""
    result = run("send", "--check", endpoint(answer(status, b"Unauthorized")).url)
    assert result.code == 1, result.out + result.err
    assert "8 of 9 checks passed." in result.out
    hint = f"{SECRET_HINT}: the endpoint and this command most likely hold different secrets"
    assert f"{hint} (this command's is $TOWER_WEBHOOK_SECRET, read as base64:" in result.out


@pytest.mark.parametrize(
    "respond",
    [
        answer(200),  # the genuine request passes
        answer(500),  # not a refusal
        answer(404),  # a wrong path, not a signature
        answer(400, b'{"error": "timestamp_too_old"}'),  # our reason for a clock, not a secret
        answer(400, b'{"error": "missing_header"}'),  # a proxy that drops headers
    ],
    ids=["200", "500", "404", "timestamp_too_old", "missing_header"],
)
def test_check_gives_no_secret_hint_when_another_secret_does_not_explain_it(endpoint: Start, respond: Respond) -> None:
    """Without a signature refusal of the genuine request (and every forgery refused), there is no hint."""
    result = run("send", "--check", endpoint(respond).url)
    assert result.code == 1, result.out + result.err
    assert "hint:" not in result.out


def test_check_names_an_endpoint_without_its_own_secret(endpoint: Start) -> None:
    """An adapter whose secret is unset answers 500 receiver_misconfigured to all: the rows and a hint say to set it.

    Regression: each forged row said "a server error, not a rejection: answer 400", as if the fix were in the
    endpoint's code, and no hint said that the endpoint's secret is what is missing.
    """
    body = b'{"error": "receiver_misconfigured", "detail": "the receiver\'s webhook secret is missing or invalid"}'
    result = run("send", "--check", endpoint(answer(500, body)).url)
    assert result.code == 1, result.out + result.err
    rows = [line for line in result.out.splitlines() if line.startswith(("pass ", "FAIL "))]
    assert len(rows) == 9
    assert all("500 receiver_misconfigured" in row for row in rows)
    assert all(
        row.endswith("<- the endpoint's own secret is missing or invalid: set it (its server log names the setting)")
        for row in rows[1:]
    )
    assert "answer 400" not in result.out
    [hint] = [line for line in result.out.splitlines() if line.startswith("hint:")]
    assert hint.startswith("hint: the endpoint answered 500 receiver_misconfigured: its own webhook secret is missing")


def test_check_fails_an_endpoint_that_accepts_everything(endpoint: Start) -> None:
    """An endpoint that answers 200 to anything passes the genuine row and fails every forged one."""
    target = endpoint(answer(200))
    result = run("send", "--check", target.url)
    assert result.code == 1
    rows = [line for line in result.out.splitlines() if line.startswith(("pass ", "FAIL "))]
    assert rows[0].startswith("pass ")
    assert all(row.startswith("FAIL ") and "accepted a request that is not Tower's" in row for row in rows[1:])
    assert len(rows) == 9
    assert "1 of 9 checks passed." in result.out
    assert len({request.client_port for request in target.received}) == 9  # a fresh connection each


def test_check_fails_an_endpoint_that_crashes_on_bad_requests(endpoint: Start) -> None:
    """A 500 is not a rejection; a 204 to the genuine request is not a delivery."""
    target = endpoint(answer(500))
    result = run("send", "--check", target.url)
    assert result.code == 1
    assert "a server error, not a rejection: answer 400" in result.out
    assert "Tower counts only an exact 200, so it retries a 500" in result.out


def test_check_fails_an_endpoint_that_checks_only_a_timestamps_age(endpoint: Start) -> None:
    """An endpoint that rejects old timestamps but not future ones fails the future row, and only that row.

    Regression: ``send --check`` sent no request from the future, so such an endpoint passed every row.
    """
    verifier = Verifier(SECRET, tolerance_ms=None)

    def age_only(handler: BaseHTTPRequestHandler, release: threading.Event) -> None:
        request = target.received[-1]
        try:
            signed_ms = verifier.verify_headers(request.headers, request.body).timestamp_ms
        except WebhookVerificationError:
            answer(400)(handler, release)
            return
        too_old = time.time() * 1000 - signed_ms > 300_000
        answer(400 if too_old else 200)(handler, release)

    target = endpoint(age_only)
    result = run("send", "--check", target.url)
    assert result.code == 1, result.out + result.err
    failed = [line for line in result.out.splitlines() if line.startswith("FAIL ")]
    assert len(failed) == 1, result.out
    assert "signed an hour from now" in failed[0]
    assert "accepted a request that is not Tower's" in failed[0]
    assert "8 of 9 checks passed." in result.out


@pytest.mark.parametrize(("status", "code"), [(200, 0), (400, 1)])
def test_an_answer_with_a_length_that_closes_the_connection_is_read_whole(
    endpoint: Start, status: int, code: int
) -> None:
    """A body with Content-Length and `Connection: close` (gunicorn's sync worker) is judged, not an OSError."""
    target = endpoint(answer(status, b'{"error": "signature_mismatch"}', headers={"Connection": "close"}))
    result = run("send", target.url)
    assert result.code == code, result.out + result.err
    assert f"{status} {'OK' if status == 200 else 'Bad Request'} in " in result.out
    assert "OSError" not in result.out
    if status != 200:
        assert 'answer: {"error": "signature_mismatch"}' in result.out


@pytest.fixture
def gunicorn_sync_flask() -> Iterator[str]:
    """examples/flask_app.py under gunicorn's default sync worker, which closes every connection."""
    pytest.importorskip("flask", reason="Flask is not installed (the matrix's core session)")
    examples = Path(__file__).resolve().parents[2] / "examples"
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    with listener:  # gunicorn keeps its own copy of the socket
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"fd://{listener.fileno()}", "flask_app:app"],
            cwd=examples,
            pass_fds=[listener.fileno()],
            env={**os.environ, "TOWER_WEBHOOK_SECRET": SECRET},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    try:
        # The socket listens already, so this waits in its backlog until gunicorn is up.
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as probe:
            probe.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert probe.recv(12).startswith(b"HTTP/1."), "gunicorn did not start"
        yield f"http://127.0.0.1:{port}/webhooks/tower"
    finally:
        process.terminate()
        process.wait(TIMEOUT_S)


def test_check_passes_the_flask_example_under_gunicorns_sync_worker(gunicorn_sync_flask: str) -> None:
    """Every row passes against a real server that answers with Content-Length and `Connection: close`."""
    result = run("send", "--check", gunicorn_sync_flask)
    assert result.code == 0, result.out + result.err
    assert "9 of 9 checks passed" in result.out


def test_an_answer_cut_short_of_its_content_length_is_not_delivered(endpoint: Start) -> None:
    """A 200 whose connection closes before its Content-Length bytes arrive is incomplete, not delivered."""

    def cut_short(handler: BaseHTTPRequestHandler, release: threading.Event) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "20")
        handler.end_headers()
        handler.wfile.write(b'{"ok"')
        handler.close_connection = True

    result = run("send", endpoint(cut_short).url)
    assert result.code == 1, result.out + result.err
    assert "200 OK incomplete after" in result.out
    assert "not delivered: the answer ended 15 B short of its Content-Length" in result.out
