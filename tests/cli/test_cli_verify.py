"""``verify``: verdicts and exit codes, and ``--explain`` naming each usual mistake correctly."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.helpers import Result, run
from tests.values import SECRET
from tower_webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, SecretEncoding, generate_secret, sign
from tower_webhooks._samples import sample_body
from tower_webhooks._signing import current_time_ms

COMPACT = sample_body("run-finished.json")
PRETTY = sample_body("run-crashed-pretty.json")  # indented, LF line endings, non-ASCII characters
BOM = b"\xef\xbb\xbf"
HEX_SECRET = bytes(range(100, 164)).hex()  # valid as hex and as base64, decoding to different keys


def _verify(tmp_path: Path, timestamp: str, signature: str, body: bytes, *options: str, secret: str = SECRET) -> Result:
    (tmp_path / "body").write_bytes(body)
    arguments = ("--timestamp", timestamp, "--signature", signature, "--body", str(tmp_path / "body"))
    return run("verify", *arguments, *options, secret=secret)


def test_genuine_request_is_accepted(tmp_path: Path) -> None:
    """A request signed with the secret exits 0 with 'accepted'."""
    headers = sign(SECRET, COMPACT)
    result = _verify(tmp_path, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], COMPACT)
    assert result.code == 0, result.out + result.err
    assert result.out.startswith("accepted:")


def test_changed_body_is_rejected_with_the_reason(tmp_path: Path) -> None:
    """A changed body exits 1 with 'rejected' and the stable reason."""
    headers = sign(SECRET, COMPACT)
    result = _verify(tmp_path, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], COMPACT + b" ")
    assert result.code == 1
    assert result.out.startswith("rejected: signature_mismatch:")


def test_old_request_needs_no_tolerance(tmp_path: Path) -> None:
    """An old request is rejected for its age, and accepted with --no-tolerance."""
    headers = sign(SECRET, COMPACT, timestamp_ms=current_time_ms() - 3_600_000)
    timestamp, signature = headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]
    assert "timestamp_too_old" in _verify(tmp_path, timestamp, signature, COMPACT).out
    assert _verify(tmp_path, timestamp, signature, COMPACT, "--no-tolerance").code == 0


def test_body_from_stdin() -> None:
    """`--body -` reads the body from stdin."""
    headers = sign(SECRET, COMPACT)
    result = run(
        "verify", "--timestamp", headers[TIMESTAMP_HEADER], "--signature", headers[SIGNATURE_HEADER], "--body", "-",
        stdin=COMPACT,
    )  # fmt: skip
    assert result.code == 0, result.out + result.err


@pytest.mark.parametrize(
    "arguments",
    [
        ("--timestamp", "1", "--signature", "x"),
        ("--capture", "c.json", "--timestamp", "1"),
        (),
    ],
    ids=["no body", "capture and timestamp", "nothing"],
)
def test_request_must_be_given_one_way(arguments: tuple[str, ...]) -> None:
    """Either a capture, or all of timestamp, signature and body: anything else exits 2."""
    result = run("verify", *arguments)
    assert result.code == 2
    assert "usage: tower-webhooks verify" in result.err


@dataclass(frozen=True)
class Mistake:
    """A request made with one usual mistake, and the codes --explain must report for it."""

    name: str
    signed_body: bytes
    given_body: bytes
    codes: tuple[str, ...]
    detail: str = ""
    signed_timestamp_ms: int | None = None  # default: the header's
    header_timestamp_ms: int | None = None  # default: now
    secret: str = SECRET
    signing_encoding: SecretEncoding = "base64"
    checking_encoding: SecretEncoding = "base64"


def _reserialise(body: bytes, **options: object) -> bytes:
    return json.dumps(json.loads(body), **options).encode()  # type: ignore[arg-type]


NOW = current_time_ms()
MISTAKES = [
    Mistake("raw secret as key", COMPACT, COMPACT, ("secret_raw",), signing_encoding="raw"),
    Mistake(
        "hex secret decoded as base64",
        COMPACT,
        COMPACT,
        ("secret_base64",),
        secret=HEX_SECRET,
        checking_encoding="hex",
    ),
    Mistake(
        "base64 checked where it was hex",
        COMPACT,
        COMPACT,
        ("secret_hex",),
        secret=HEX_SECRET,
        signing_encoding="hex",
    ),
    Mistake("trailing newline added", COMPACT, COMPACT + b"\n", ("newline_added",)),
    Mistake("trailing newline removed", PRETTY + b"\n", PRETTY, ("newline_removed",)),
    Mistake("CRLF line endings added", PRETTY, PRETTY.replace(b"\n", b"\r\n"), ("crlf_added",)),
    Mistake("CRLF line endings lost", PRETTY.replace(b"\n", b"\r\n"), PRETTY, ("crlf_removed",)),
    Mistake("UTF-8 BOM added", COMPACT, BOM + COMPACT, ("bom_added",)),
    Mistake("UTF-8 BOM removed", BOM + COMPACT, COMPACT, ("bom_removed",)),
    Mistake("a space appended", COMPACT, COMPACT + b" ", ("whitespace_added_at_end",), "at its end: ' ' added"),
    Mistake(
        "whitespace before the body",
        COMPACT,
        b"\n\t" + COMPACT,
        ("whitespace_added_at_start",),
        "at its start: '\\n\\t' added",
    ),
    Mistake(
        "whitespace at both ends",
        COMPACT,
        b" " + COMPACT + b"\r\n\r\n",
        ("whitespace_added_at_start", "whitespace_added_at_end"),
        "at its end: '\\r\\n\\r\\n' added",
    ),
    Mistake(
        "compact JSON re-serialised spaced",
        COMPACT,
        _reserialise(COMPACT),
        ("json_reserialised",),
        "written compact, keys in the same order",
    ),
    Mistake(
        "spaced JSON re-serialised compact",
        _reserialise(COMPACT),
        _reserialise(COMPACT, separators=(",", ":")),
        ("json_reserialised",),
        "written spaced, keys in the same order",
    ),
    Mistake(
        "sorted keys lost",
        _reserialise(COMPACT, separators=(",", ":"), sort_keys=True),
        COMPACT,
        ("json_reserialised",),
        "written compact, keys sorted",
    ),
    Mistake(
        "UTF-8 re-serialised with ensure_ascii",
        PRETTY,
        _reserialise(PRETTY, indent=2) + b"\n",
        ("json_reserialised",),
        "written indented, keys in the same order, non-ASCII as UTF-8",
    ),
    Mistake(
        "escapes re-serialised as UTF-8",
        _reserialise(PRETTY, separators=(",", ":")),
        _reserialise(PRETTY, separators=(",", ":"), ensure_ascii=False),
        ("json_reserialised",),
        "written compact, keys in the same order, non-ASCII as \\u escapes",
    ),
    Mistake(
        "re-serialised and printed with a newline",
        COMPACT,
        _reserialise(COMPACT) + b"\n",
        ("json_reserialised", "newline_added"),
        "written compact",
    ),
    Mistake(
        "signed over the timestamp in seconds",
        COMPACT,
        COMPACT,
        ("timestamp_signed_in_seconds",),
        signed_timestamp_ms=NOW // 1000,
        header_timestamp_ms=NOW,
    ),
    Mistake(
        "timestamp given in seconds",
        COMPACT,
        COMPACT,
        ("timestamp_given_in_seconds",),
        f"made over {NOW} milliseconds",
        signed_timestamp_ms=NOW,
        header_timestamp_ms=NOW // 1000,
    ),
    Mistake(
        "a different timestamp than the one signed",
        COMPACT,
        COMPACT,
        ("timestamp_differs",),
        "a timestamp +1,234 ms from the header's",
        signed_timestamp_ms=NOW + 1234,
        header_timestamp_ms=NOW,
    ),
]


@pytest.mark.parametrize("mistake", MISTAKES, ids=[mistake.name for mistake in MISTAKES])
def test_explain_names_the_mistake(tmp_path: Path, mistake: Mistake) -> None:
    """--explain reports exactly the mistake that was made, and never the expected signature."""
    header_ms = NOW if mistake.header_timestamp_ms is None else mistake.header_timestamp_ms
    signed_ms = header_ms if mistake.signed_timestamp_ms is None else mistake.signed_timestamp_ms
    signed = sign(mistake.secret, mistake.signed_body, timestamp_ms=signed_ms, secret_encoding=mistake.signing_encoding)
    signature = signed[SIGNATURE_HEADER]
    result = _verify(
        tmp_path,
        str(header_ms),
        signature,
        mistake.given_body,
        "--explain",
        "--secret-encoding",
        mistake.checking_encoding,
        secret=mistake.secret,
    )
    assert result.code == 1, result.out + result.err
    assert "this is what went wrong" in result.out, result.out
    assert tuple(re.findall(r"- \[(\w+)\]", result.out)) == mistake.codes, result.out
    [diagnosis] = [line for line in result.out.splitlines() if line.startswith("explain:")]
    assert diagnosis.endswith("matches once these differences are undone, so this is what went wrong:")
    assert mistake.detail in result.out
    expected = sign(
        mistake.secret, mistake.given_body, timestamp_ms=header_ms, secret_encoding=mistake.checking_encoding
    )
    assert expected[SIGNATURE_HEADER] not in result.out + result.err
    assert mistake.secret not in result.out + result.err


def test_explain_tells_a_genuine_but_old_request(tmp_path: Path) -> None:
    """A request signed and sent in seconds is genuine: only its timestamp fails, and --explain says so."""
    headers = sign(SECRET, COMPACT, timestamp_ms=NOW // 1000)
    result = _verify(tmp_path, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], COMPACT, "--explain")
    assert result.code == 1
    assert "rejected: timestamp_too_old" in result.out
    assert "looks like Unix seconds" in result.out
    assert "with the time check disabled the signature matches" in result.out


def test_explain_of_an_old_request_that_does_not_match_is_one_diagnosis(tmp_path: Path) -> None:
    """A timestamp in seconds on a mismatched request gets one diagnosis line, not a dangling one."""
    headers = sign(generate_secret(), COMPACT, timestamp_ms=NOW // 1000)
    result = _verify(tmp_path, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], COMPACT, "--explain")
    assert result.code == 1
    assert "rejected: timestamp_too_old" in result.out
    [line] = [line for line in result.out.splitlines() if line.startswith("explain:")]
    assert line.startswith(
        "explain: with the time check disabled the signature does not match either, "
        "and none of the usual mistakes explains it:"
    )


def test_explain_admits_when_nothing_explains_it(tmp_path: Path) -> None:
    """A request signed with another secret matches no guess, and --explain says what it tried."""
    headers = sign(generate_secret(), COMPACT)
    result = _verify(tmp_path, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], COMPACT, "--explain")
    assert result.code == 1
    assert "none of the usual mistakes explains it" in result.out
    assert "another secret" in result.out


def test_explain_has_nothing_to_try_without_a_signature(tmp_path: Path) -> None:
    """A malformed signature leaves nothing to try; the core's message says what is wrong."""
    result = _verify(tmp_path, str(NOW), "a" * 128, COMPACT, "--explain")
    assert result.code == 1
    assert "rejected: malformed_signature" in result.out
    assert "hex-encoded" in result.out
    assert "nothing to try" in result.out


def test_explain_on_an_accepted_request(tmp_path: Path) -> None:
    """--explain on a genuine request exits 0 and has nothing to explain."""
    headers = sign(SECRET, COMPACT)
    result = _verify(tmp_path, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], COMPACT, "--explain")
    assert result.code == 0
    assert "nothing to explain" in result.out
