"""``listen --save`` then ``verify --capture``: real deliveries captured and checked again."""

from __future__ import annotations

import base64
import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.helpers import TIMEOUT_S, run
from tests.values import SECRET
from tower_webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tower_webhooks._capture import Capture
from tower_webhooks._samples import sample_body
from tower_webhooks._signing import current_time_ms

BODY = sample_body("run-finished.json")


class Listener:
    """A `tower-webhooks listen` subprocess and the URL it printed."""

    def __init__(self, *arguments: str) -> None:
        environment = {**os.environ, "TOWER_WEBHOOK_SECRET": SECRET, "PYTHONIOENCODING": "utf-8"}
        command = [sys.executable, "-m", "tower_webhooks", "listen", "--port", "0", *arguments]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment)
        first = self.next_line()
        assert first.startswith("listening on http://127.0.0.1:"), first
        self.url = first.split()[2]
        self.port = int(self.url.rsplit(":", 1)[1].strip("/"))

    def next_line(self) -> str:
        """The next line the listener prints (waiting a bounded time for it)."""
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], TIMEOUT_S)
        assert ready, "listen printed nothing"
        return self.process.stdout.readline().decode()

    def post(self, body: bytes, headers: dict[str, str]) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT_S)
        try:
            connection.request("POST", "/webhooks/tower", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    def finish(self) -> tuple[int, str]:
        """Wait for the listener to exit by itself (after --count deliveries)."""
        out, _ = self.process.communicate(timeout=TIMEOUT_S)
        return self.process.returncode, out.decode()

    def stop(self) -> None:
        """End the listener if it still runs, and close its pipes."""
        if self.process.poll() is None:
            self.process.terminate()
        self.process.communicate(timeout=TIMEOUT_S)


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Three deliveries through `listen --save --count 3`: genuine, newline added, and binary junk."""
    directory = tmp_path_factory.mktemp("listen") / "captures"
    listener = Listener("--save", str(directory), "--count", "3")
    try:
        assert run("send", f"{listener.url}webhooks/tower", "--sample", "run-finished.json").code == 0
        assert listener.post(BODY + b"\n", sign(SECRET, BODY)) == 400
        assert listener.post(b"\x00\xff\xfe junk", {TIMESTAMP_HEADER: str(current_time_ms())}) == 400
        code, out = listener.finish()
    finally:
        if listener.process.poll() is None:
            listener.stop()
    assert code == 0
    return directory, out


def _captures(directory: Path) -> list[Path]:
    return sorted(directory.iterdir())


def test_listen_prints_one_line_per_delivery(captured: tuple[Path, str]) -> None:
    """Each delivery gets one line with its verdict and the capture file it went to."""
    directory, out = captured
    lines = [line for line in out.splitlines() if " POST /webhooks/tower " in line]
    assert len(lines) == 3
    assert " 200 ok " in lines[0]
    assert " 400 signature_mismatch " in lines[1]
    assert " 400 missing_header " in lines[2]
    assert all(f"-> {directory}" in line for line in lines)
    assert "stopped after 3 deliveries" in out
    assert SECRET not in out


def test_capture_file_holds_the_request_exactly(captured: tuple[Path, str]) -> None:
    """A capture is the documented version 1 JSON, with the body's exact bytes in base64."""
    documents = [json.loads(path.read_text()) for path in _captures(captured[0])]
    assert [document["verdict"]["status"] for document in documents] == [200, 400, 400]
    assert base64.b64decode(documents[2]["body_base64"]) == b"\x00\xff\xfe junk"
    first = documents[0]
    assert first["format"] == "tower-webhooks-capture"
    assert first["version"] == 1
    assert first["path"] == "/webhooks/tower"
    assert base64.b64decode(first["body_base64"]) == BODY
    assert [TIMESTAMP_HEADER, first["timestamp"]] in first["headers"]
    assert [SIGNATURE_HEADER, first["signature"]] in first["headers"]
    assert documents[2]["signature"] is None
    assert SECRET not in "".join(path.read_text() for path in _captures(captured[0]))


def test_verify_capture_gives_the_same_verdicts(captured: tuple[Path, str]) -> None:
    """`verify --capture` reads each capture back and reaches the verdict the receiver gave."""
    genuine, changed, junk = (run("verify", "--capture", str(path)) for path in _captures(captured[0]))
    assert genuine.code == 0, genuine.out + genuine.err
    assert "accepted:" in genuine.out
    assert changed.code == 1
    assert "rejected: signature_mismatch" in changed.out
    assert junk.code == 1
    assert "rejected: missing_header" in junk.out


def test_verify_capture_explain_finds_the_mistake(captured: tuple[Path, str]) -> None:
    """The delivery whose body gained a newline is diagnosed from its capture."""
    result = run("verify", "--capture", str(_captures(captured[0])[1]), "--explain")
    assert result.code == 1
    assert "[newline_added]" in result.out


def _write(path: Path, *, timestamp_ms: int, received_at_ms: int) -> Path:
    headers = sign(SECRET, BODY, timestamp_ms=timestamp_ms)
    capture = Capture(received_at_ms, "POST", "/", tuple(headers.items()), BODY, 200, "ok", "verified")
    path.write_text(capture.to_json())
    return path


def test_capture_timestamp_is_checked_against_when_it_arrived(tmp_path: Path) -> None:
    """An hour-old capture that arrived in time verifies; one that arrived late is rejected, and explained."""
    sent = current_time_ms() - 3_600_000
    on_time = run("verify", "--capture", str(_write(tmp_path / "a.json", timestamp_ms=sent, received_at_ms=sent + 900)))
    assert on_time.code == 0, on_time.out + on_time.err
    late = _write(tmp_path / "b.json", timestamp_ms=sent, received_at_ms=sent + 600_000)
    result = run("verify", "--capture", str(late), "--explain")
    assert result.code == 1
    assert "rejected: timestamp_too_old" in result.out
    assert "with the time check disabled the signature matches" in result.out


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda document: "not json", "is not JSON"),
        (lambda document: {**document, "format": "other"}, 'lacks "format"'),
        (lambda document: {**document, "version": 2}, "reads version 1"),
        (lambda document: {**document, "body_base64": "***"}, '"body_base64" is not base64'),
        (lambda document: {**document, "timestamp": "1"}, '"timestamp" disagrees with the header'),
        (lambda document: {**document, "headers": [["X"]]}, "[name, value] string pairs"),
        (lambda document: {**document, "received_at_ms": "soon"}, '"received_at_ms" is missing or not a int'),
    ],
    ids=["not json", "format", "version", "base64", "edited copy", "headers", "received_at_ms"],
)
def test_invalid_capture_is_a_usage_error(tmp_path: Path, edit: object, message: str) -> None:
    """A file that is not a valid capture exits 2 and says what is wrong with it."""
    path = _write(tmp_path / "c.json", timestamp_ms=current_time_ms(), received_at_ms=current_time_ms())
    document = edit(json.loads(path.read_text()))  # type: ignore[operator]
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    result = run("verify", "--capture", str(path))
    assert result.code == 2
    assert message in result.err


def test_a_capture_received_at_in_seconds_is_a_usage_error(tmp_path: Path) -> None:
    """Regression: a received_at_ms in Unix seconds (an edited or hand-made capture) ended in a ValueError traceback.

    It was taken for the clock the caller gives to Verifier, which raises on seconds.
    """
    sent = current_time_ms()
    path = _write(tmp_path / "s.json", timestamp_ms=sent, received_at_ms=sent // 1000)
    result = run("verify", "--capture", str(path), "--explain")
    assert (result.code, result.out.count("rejected")) == (2, 0), result.out + result.err
    assert "Traceback" not in result.err
    assert '"received_at_ms" reads as Unix seconds' in result.err


def test_listen_on_a_busy_port_says_which_address_and_what_to_do() -> None:
    """A port another socket listens on exits 1, naming the address and the ways out, and prints nothing else."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run("listen", "--port", str(port))
    assert result.code == 1, result.err
    assert result.out == ""
    assert result.err == (
        f"tower-webhooks: error: cannot listen on 127.0.0.1:{port}: another process is listening there; "
        "pick another port with --port (--port 0 picks a free one), or stop that process\n"
    )


@pytest.fixture
def sigint_not_ignored() -> Iterator[None]:
    """Let a child see Ctrl-C even when the suite itself runs as a background job.

    A shell starts background jobs with SIGINT ignored, children inherit that, and a Python that
    starts with SIGINT ignored leaves it so: the listener would then, rightly, not stop. A handled
    (not ignored) signal is reset to its default in the child on exec.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("sigint_not_ignored")
def test_listen_stops_cleanly_on_ctrl_c() -> None:
    """Ctrl-C (SIGINT) stops the listener with exit 0 and a last line counting the deliveries."""
    listener = Listener()
    try:
        assert listener.post(BODY, sign(SECRET, BODY)) == 200
        assert " 200 ok " in listener.next_line()
        listener.process.send_signal(signal.SIGINT)
        code, out = listener.finish()
    finally:
        if listener.process.poll() is None:
            listener.stop()
    assert code == 0
    assert "stopped after 1 delivery\n" in out  # not "1 deliveries"


def test_listen_answers_other_methods_405_like_the_adapters() -> None:
    """GET, PUT, DELETE and HEAD get 405 with `Allow: POST` and the adapters' JSON reason; they are not deliveries."""
    listener = Listener()
    try:
        for method in ("GET", "PUT", "DELETE", "HEAD"):
            connection = http.client.HTTPConnection("127.0.0.1", listener.port, timeout=TIMEOUT_S)
            try:
                connection.request(method, "/webhooks/tower")
                response = connection.getresponse()
                body = response.read()
            finally:
                connection.close()
            assert response.status == 405, method
            assert response.getheader("Allow") == "POST"
            assert response.getheader("Content-Type") == "application/json"
            if method == "HEAD":
                assert body == b""
            else:
                assert json.loads(body) == {"error": "method_not_allowed", "detail": "Tower sends webhooks as POST"}
        assert listener.post(BODY, sign(SECRET, BODY)) == 200
        assert " 200 ok " in listener.next_line()  # the first line after the start: no line for the refusals
    finally:
        listener.stop()
