"""The command line's frame: help, exit codes, the secret's sources, ``secret`` and ``sign``."""

from __future__ import annotations

import base64
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.helpers import TIMEOUT_S, run
from tests.values import BODY, NOW_MS, SECRET
from tower_webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify

COMMANDS = ("sign", "verify", "send", "listen", "secret", "demo")


def _headers(output: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in output.splitlines())


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_complete_help(command: str) -> None:
    """`COMMAND --help` describes the command and states the exit codes, on its own."""
    result = run(command, "--help")
    assert result.code == 0
    assert f"usage: tower-webhooks {command}" in result.out
    assert "exit status:" in result.out
    if command not in ("secret", "demo"):
        assert "TOWER_WEBHOOK_SECRET" in result.out
        assert "--secret-file" in result.out


@pytest.mark.parametrize("command", COMMANDS)
def test_each_help_is_wrapped(command: str) -> None:
    """No help line runs past 100 columns: descriptions are wrapped; only an example may reach that far."""
    assert max(len(line) for line in run(command, "--help").out.splitlines()) <= 100


@pytest.mark.parametrize(
    ("command", "codes"), [("secret", ["0", "2"]), ("demo", ["0", "1", "2"])], ids=["secret", "demo"]
)
def test_help_lists_only_the_exit_codes_that_apply(command: str, codes: list[str]) -> None:
    """`secret` never rejects anything and `demo` needs no secret: their help says only what can happen."""
    out = run(command, "--help").out
    status = out[out.index("exit status:") :].splitlines()[1:]
    assert [line.split()[0] for line in status if line.strip()] == codes
    assert "rejected" not in out
    assert "secret, an unreadable" not in out


@pytest.mark.parametrize(("command", "option"), [("send", "--timeout"), ("listen", "--read-timeout")])
def test_help_states_the_most_seconds_a_timeout_takes(command: str, option: str) -> None:
    """A timeout's help gives its maximum, so it is not first learnt from an error; a second more is refused."""
    lines = run(command, "--help").out.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith(f"  {option} SECONDS"))
    end = next(index for index in range(start + 1, len(lines)) if not lines[index].startswith(" " * 4))
    assert "at most 3600" in " ".join(" ".join(lines[start:end]).split())
    refused = run(command, option, "3601", *(["http://127.0.0.1:9/"] if command == "send" else []))
    assert refused.code == 2
    assert f"argument {option}: must be more than 0 and at most 3600 seconds" in refused.err


def test_top_level_help_lists_every_command() -> None:
    """`tower-webhooks --help` names every command."""
    result = run("--help")
    assert result.code == 0
    for command in COMMANDS:
        assert command in result.out


def test_usage_error_exits_2() -> None:
    """A bad argument exits 2, as argparse does."""
    assert run("sign", "--no-such-option").code == 2
    assert run().code == 2


@pytest.mark.parametrize(
    "arguments",
    [
        ("send", "--chek", "http://127.0.0.1:9/webhooks/tower"),
        ("verify", "--explian", "--capture", "c.json"),
        ("listen", "--prot", "0"),
        ("sign", "--timestamp", "1764468000000", "--sample", "test-event.json"),  # verify's option, not sign's
    ],
)
def test_a_misspelt_option_is_named_with_the_commands_usage(arguments: tuple[str, ...]) -> None:
    """A misspelt option exits 2 before doing anything, naming it under the command's usage, not the top level's.

    Regression: the error came with `usage: tower-webhooks [-h] COMMAND ...`, which lists no option.
    """
    result = run(*arguments)
    assert result.code == 2
    assert result.out == ""
    assert f"usage: tower-webhooks {arguments[0]} " in result.err
    assert f"tower-webhooks {arguments[0]}: error: unrecognized arguments: {arguments[1]}" in result.err


@pytest.mark.parametrize(
    "arguments",
    [
        ("sign", "--samp", "test-event.json"),
        ("send", "--chec", "http://127.0.0.1:9/webhooks/tower", "--timeout", "0.5"),
        ("verify", "--no-tol", "--capture", "c.json"),
    ],
)
def test_an_abbreviated_option_is_not_taken_for_the_whole_one(arguments: tuple[str, ...]) -> None:
    """A prefix of an option is an unknown option (exit 2), so a typo is never silently bound to another option."""
    result = run(*arguments)
    assert result.code == 2, result.out + result.err
    assert result.out == ""
    assert f"unrecognized arguments: {arguments[1]}" in result.err


def test_an_option_may_carry_its_value_after_an_equals_sign() -> None:
    """`--option=value` still works with abbreviations off."""
    result = run("sign", "--sample=test-event.json", "--timestamp-ms=1764468000000")
    assert result.code == 0, result.err
    assert f"{TIMESTAMP_HEADER}: 1764468000000" in result.out


def test_secret_prints_a_fresh_base64_secret() -> None:
    """`secret` prints 64 random bytes in base64, different each time."""
    first, second = run("secret", secret=None), run("secret", secret=None)
    assert first.code == 0
    assert len(base64.b64decode(first.out.strip(), validate=True)) == 64
    assert first.out != second.out


def test_sign_prints_headers_that_verify() -> None:
    """`sign` prints the two headers, and they verify the body it read from stdin."""
    result = run("sign", "--timestamp-ms", str(NOW_MS), stdin=BODY)
    assert result.code == 0, result.err
    headers = _headers(result.out)
    assert headers == sign(SECRET, BODY, timestamp_ms=NOW_MS)
    verify(SECRET, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], BODY, now_ms=NOW_MS)


@pytest.mark.parametrize("body", [b'{"a":1}\n', b'{"a":1}\r\n'], ids=["LF", "CRLF"])
def test_sign_notes_a_newline_at_the_end_of_stdin(body: bytes) -> None:
    """`echo ... | sign` signs the exact bytes, newline included, and says so on stderr."""
    result = run("sign", stdin=body)
    assert result.code == 0, result.err
    headers = _headers(result.out)
    verify(SECRET, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], body)
    assert "the body from stdin ends with a newline, and it is signed" in result.err
    assert "printf '%s'" in result.err


def test_sign_says_nothing_of_a_body_without_a_final_newline(tmp_path: Path) -> None:
    """No note for a stdin body without a final newline, nor for a file, which is taken as it is."""
    assert run("sign", stdin=b'{"a":1}').err == ""
    (tmp_path / "body.json").write_bytes(b'{"a":1}\n')
    assert run("sign", "--body", str(tmp_path / "body.json")).err == ""


def test_sign_reads_a_body_file_and_the_secret_file(tmp_path: Path) -> None:
    """`--body FILE` and `--secret-file PATH` are read byte for byte (the secret file's newline ignored)."""
    (tmp_path / "body.json").write_bytes(b"\xef\xbb\xbf" + BODY + b"\r\n")
    (tmp_path / "secret").write_text(SECRET + "\n")
    result = run("sign", "--body", str(tmp_path / "body.json"), "--secret-file", str(tmp_path / "secret"), secret=None)
    assert result.code == 0, result.err
    headers = _headers(result.out)
    verify(SECRET, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], b"\xef\xbb\xbf" + BODY + b"\r\n")


def test_sign_curl_posts_the_file_as_is(tmp_path: Path) -> None:
    """`--curl URL` prints a curl command that sends the file's exact bytes with both headers."""
    body_file = tmp_path / "body.json"
    body_file.write_bytes(BODY)
    result = run("sign", "--body", str(body_file), "--curl", "http://127.0.0.1:8000/webhooks/tower")
    assert result.code == 0, result.err
    words = shlex.split(result.out.replace("\\\n", " "))
    assert words[:4] == ["curl", "--request", "POST", "http://127.0.0.1:8000/webhooks/tower"]
    assert words[words.index("--data-binary") + 1] == f"@{body_file}"
    headers = dict(words[i + 1].split(": ", 1) for i, word in enumerate(words) if word == "--header")
    verify(SECRET, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], BODY)


def test_sign_curl_writes_a_text_body_into_the_command() -> None:
    """A body from stdin or a sample goes into the command itself, quoted for the shell."""
    result = run("sign", "--sample", "run-crashed-pretty.json", "--curl", "http://127.0.0.1:8000/")
    assert result.code == 0, result.err
    words = shlex.split(result.out.replace("\\\n", " "))
    sent = words[words.index("--data-binary") + 1].encode("utf-8")
    headers = dict(words[i + 1].split(": ", 1) for i, word in enumerate(words) if word == "--header")
    verify(SECRET, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], sent)


def test_sign_curl_refuses_a_binary_body_from_stdin() -> None:
    """Bytes that cannot be written into a command are refused with a way out (--body FILE)."""
    result = run("sign", "--curl", "http://127.0.0.1:8000/", stdin=b"\x00\xff")
    assert result.code == 2
    assert "--body FILE" in result.err


def test_missing_secret_is_a_usage_error() -> None:
    """With no secret in the environment, the command exits 2 and says how to give one."""
    result = run("sign", stdin=BODY, secret=None)
    assert result.code == 2
    assert "TOWER_WEBHOOK_SECRET" in result.err
    assert "--secret-file" in result.err


def test_secret_env_names_another_variable() -> None:
    """`--secret-env NAME` reads the secret from NAME."""
    result = run("sign", "--secret-env", "MY_SECRET", stdin=BODY, secret=None, env={"MY_SECRET": SECRET})
    assert result.code == 0, result.err
    headers = _headers(result.out)
    verify(SECRET, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], BODY)


def test_secret_encoding_hex() -> None:
    """`--secret-encoding hex` decodes a hex secret."""
    hex_secret = bytes(range(32)).hex()
    result = run("sign", "--secret-encoding", "hex", stdin=BODY, secret=hex_secret)
    assert result.code == 0, result.err
    headers = _headers(result.out)
    verify(hex_secret, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], BODY, secret_encoding="hex")


def test_invalid_secret_is_a_usage_error_that_does_not_show_it() -> None:
    """An undecodable secret exits 2 with the core's advice, and the secret is not echoed."""
    bad = "not base64 at all!!"
    result = run("sign", stdin=BODY, secret=bad)
    assert result.code == 2
    assert "base64" in result.err
    assert bad not in result.err + result.out


def test_unreadable_body_file_is_a_usage_error(tmp_path: Path) -> None:
    """A body file that cannot be read exits 2 and names it."""
    result = run("sign", "--body", str(tmp_path / "missing.json"))
    assert result.code == 2
    assert "missing.json" in result.err


@pytest.mark.parametrize(
    "arguments",
    [
        ("sign", "--timestamp-ms", "-5"),
        ("sign", "--timestamp-ms", "soon"),
        ("listen", "--port", "70000"),
        ("listen", "--count", "0"),
        ("verify", "--tolerance-ms", "300", "--capture", "c.json"),
    ],
)
def test_numbers_out_of_range_are_usage_errors(arguments: tuple[str, ...]) -> None:
    """Numbers are checked when parsed: a bad one exits 2 naming the option and its unit."""
    result = run(*arguments)
    assert result.code == 2
    assert f"error: argument {arguments[1]}" in result.err


def test_a_closed_stdout_ends_quietly() -> None:
    """Output into a pipe whose reader has gone (`sign --curl URL | head -3`) exits 141 without a traceback."""
    arguments = ("sign", "--sample", "run-finished.json", "--curl", "http://127.0.0.1:8000/")
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write now fails with EPIPE, as after `head` has exited
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "tower_webhooks", *arguments],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env={**os.environ, "TOWER_WEBHOOK_SECRET": SECRET},
            timeout=TIMEOUT_S,
            check=False,
        )
    finally:
        os.close(write_end)
    assert completed.stderr == b""
    assert completed.returncode == 141
