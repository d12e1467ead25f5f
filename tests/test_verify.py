"""The rules of verification, one test each (see docs/index.md)."""

from __future__ import annotations

import hmac
import time
from typing import Any

import pytest

from tower_webhooks import (
    DEFAULT_TOLERANCE_MS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    InvalidPayloadError,
    MalformedSignatureError,
    MalformedTimestampError,
    MissingHeaderError,
    SignatureMismatchError,
    TimestampOutsideToleranceError,
    VerifiedWebhook,
    Verifier,
    WebhookVerificationError,
    generate_secret,
    sign,
    verify,
)

from .values import BODY, NOW_MS, SECRET


def _headers(body: bytes = BODY, timestamp_ms: int = NOW_MS, secret: str = SECRET) -> dict[str, str]:
    return sign(secret, body, timestamp_ms=timestamp_ms)


def _verify(timestamp: Any, signature: Any, body: Any = BODY, **options: Any) -> VerifiedWebhook:
    return verify(SECRET, timestamp, signature, body, now_ms=NOW_MS, **options)


def _verify_at(now_ms: int) -> VerifiedWebhook:
    return verify(SECRET, GOOD_TS, GOOD_SIG, BODY, now_ms=now_ms)


GOOD = _headers()
GOOD_TS, GOOD_SIG = GOOD[TIMESTAMP_HEADER], GOOD[SIGNATURE_HEADER]


class TestAccepts:
    def test_returns_the_verified_webhook(self) -> None:
        """A correctly signed request returns its timestamp and exact body."""
        webhook = _verify(GOOD_TS, GOOD_SIG)
        assert webhook == VerifiedWebhook(timestamp_ms=NOW_MS, body=BODY)

    def test_bytes_headers(self) -> None:
        """Header values may be bytes, as ASGI servers give them."""
        assert _verify(GOOD_TS.encode(), GOOD_SIG.encode()).timestamp_ms == NOW_MS

    def test_blanks_around_headers_are_trimmed(self) -> None:
        """Spaces and tabs at the ends of either header are ignored."""
        assert _verify(f" \t{GOOD_TS}\t ", f"  {GOOD_SIG}\t").body == BODY

    def test_empty_body_is_signed_and_verified(self) -> None:
        """An empty body is legal and still signed over the timestamp."""
        headers = _headers(b"")
        assert _verify(headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], b"").body == b""

    def test_bytes_body_is_not_copied(self) -> None:
        """A bytes body is kept as the very same object."""
        body = bytes(BODY)
        assert _verify(GOOD_TS, GOOD_SIG, body).body is body

    @pytest.mark.parametrize("wrap", [bytearray, memoryview], ids=["bytearray", "memoryview"])
    def test_mutable_buffers_are_snapshotted(self, wrap: type) -> None:
        """bytearray and memoryview bodies verify, and the result holds immutable bytes."""
        webhook = _verify(GOOD_TS, GOOD_SIG, wrap(bytearray(BODY)))
        assert type(webhook.body) is bytes
        assert webhook.body == BODY

    def test_non_contiguous_memoryview(self) -> None:
        """A strided memoryview is hashed as the bytes it shows."""
        padded = bytes(byte for pair in zip(BODY, b"\0" * len(BODY), strict=True) for byte in pair)
        assert _verify(GOOD_TS, GOOD_SIG, memoryview(padded)[::2]).body == BODY

    def test_verified_webhook_is_frozen(self) -> None:
        """The result cannot be altered after verification."""
        webhook = _verify(GOOD_TS, GOOD_SIG)
        with pytest.raises(AttributeError):
            webhook.body = b"{}"  # type: ignore[misc]

    def test_digits_are_signed_exactly_as_sent(self) -> None:
        """Leading zeros are part of the signed message: the digits are never re-formatted."""
        digits = f"000{NOW_MS}"
        signature = _signature_for(digits.encode(), BODY)
        assert _verify(digits, signature).timestamp_ms == NOW_MS
        with pytest.raises(SignatureMismatchError):
            _verify(str(NOW_MS), signature)


def _signature_for(digits: bytes, body: bytes) -> str:
    """An independent signature using the standard library's one-shot HMAC."""
    import base64

    from tower_webhooks._secret import decode_secret

    return base64.b64encode(hmac.digest(decode_secret(SECRET), digits + body, "sha512")).decode()


class TestTimestamp:
    @pytest.mark.parametrize(
        "value",
        [
            "1_764_468_000_000",
            "١٧٦٤٤٦٨٠٠٠٠٠٠",  # Arabic-Indic digits: str.isdigit() says yes, we say no
            "１７６４４６８０００",  # full-width digits
            "+1764468000000",
            "-1764468000000",
            "1764468000000.0",
            "1.764468e12",
            "0x19ad0b5a800",
            "1764468000000 1",
            "1764468000000\n",
            "12345678901234567",  # 17 digits
            "9" * 5000,
            "١",
            "17644680000OO",
        ],
    )
    def test_malformed(self, value: str) -> None:
        """Anything but 1 to 16 ASCII digits is malformed."""
        with pytest.raises(MalformedTimestampError) as caught:
            _verify(value, GOOD_SIG)
        assert caught.value.reason == "malformed_timestamp"

    def test_comma_joined_values_are_named(self) -> None:
        """A header sent twice and joined by the server says so (regression: only signatures did)."""
        with pytest.raises(MalformedTimestampError, match="sent twice"):
            _verify(f"{GOOD_TS},{GOOD_TS}", GOOD_SIG)

    def test_checked_before_any_hmac_work(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A malformed timestamp is refused without hashing the body."""
        from tower_webhooks import _signing

        def explode(*args: object) -> bytes:
            raise AssertionError("HMAC computed for a malformed request")

        monkeypatch.setattr(_signing.KeyedHmacSha512, "signature", explode)
        with pytest.raises(MalformedTimestampError):
            _verify("12a", GOOD_SIG)
        with pytest.raises(MalformedSignatureError):
            _verify(GOOD_TS, GOOD_SIG[:-2])

    @pytest.mark.parametrize("value", [None, "", "   ", " \t ", b"", b"\t"])
    def test_missing(self, value: str | bytes | None) -> None:
        """Absent, empty or blank is a missing header, naming it."""
        with pytest.raises(MissingHeaderError) as caught:
            _verify(value, GOOD_SIG)
        assert caught.value.header == TIMESTAMP_HEADER
        assert caught.value.reason == "missing_header"


class TestTolerance:
    @pytest.mark.parametrize("offset", [-DEFAULT_TOLERANCE_MS, DEFAULT_TOLERANCE_MS, 0])
    def test_inclusive_both_ways(self, offset: int) -> None:
        """Exactly the tolerance away, either way, passes."""
        headers = _headers(timestamp_ms=NOW_MS + offset)
        assert _verify(headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]).timestamp_ms == NOW_MS + offset

    @pytest.mark.parametrize(
        ("offset", "reason"),
        [(-DEFAULT_TOLERANCE_MS - 1, "timestamp_too_old"), (DEFAULT_TOLERANCE_MS + 1, "timestamp_too_new")],
    )
    def test_one_millisecond_more_fails(self, offset: int, reason: str) -> None:
        """One millisecond past the tolerance fails, with the data on the exception."""
        headers = _headers(timestamp_ms=NOW_MS + offset)
        with pytest.raises(TimestampOutsideToleranceError) as caught:
            _verify(headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER])
        error = caught.value
        assert (error.reason, error.timestamp_ms, error.now_ms, error.tolerance_ms) == (
            reason,
            NOW_MS + offset,
            NOW_MS,
            DEFAULT_TOLERANCE_MS,
        )

    @pytest.mark.parametrize(("timestamp", "unit"), [(NOW_MS // 1000, "seconds"), (NOW_MS * 1000, "microseconds")])
    def test_wrong_unit_is_named(self, timestamp: int, unit: str) -> None:
        """A timestamp in seconds or microseconds is called out as such."""
        headers = _headers(timestamp_ms=timestamp)
        with pytest.raises(TimestampOutsideToleranceError, match=f"^the timestamp looks like Unix {unit}"):
            _verify(headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER])

    @pytest.mark.parametrize(("offset", "cause"), [(-3_600_000, "a replayed request"), (3_600_000, "clock")])
    def test_only_an_old_timestamp_is_called_a_replay(self, offset: int, cause: str) -> None:
        """A timestamp in the future cannot be a replay: its message blames the clocks alone (regression)."""
        headers = _headers(timestamp_ms=NOW_MS + offset)
        with pytest.raises(TimestampOutsideToleranceError) as caught:
            _verify(headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER])
        assert cause in str(caught.value)
        assert ("replay" in str(caught.value)) == (offset < 0)

    def test_plain_stale_timestamp_blames_no_unit(self) -> None:
        """An old timestamp in milliseconds gets no unit hint."""
        headers = _headers(timestamp_ms=NOW_MS - 3_600_000)
        with pytest.raises(TimestampOutsideToleranceError) as caught:
            _verify(headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER])
        assert "looks like" not in str(caught.value)

    @pytest.mark.parametrize("tolerance", [0, 1, 300, 999, -5])
    def test_sub_second_tolerance_is_a_unit_mistake(self, tolerance: int) -> None:
        """A tolerance under 1,000 ms is refused at call and at construction."""
        with pytest.raises(ValueError, match="milliseconds"):
            _verify(GOOD_TS, GOOD_SIG, tolerance_ms=tolerance)
        with pytest.raises(ValueError, match="did you mean"):
            Verifier(SECRET, tolerance_ms=tolerance)

    def test_suggests_milliseconds(self) -> None:
        """tolerance_ms=300 suggests 300_000, once (regression: it was named twice)."""
        with pytest.raises(ValueError, match="300_000") as caught:
            Verifier(SECRET, tolerance_ms=300)
        assert str(caught.value).count("300_000") == 1
        with pytest.raises(ValueError, match="5_000 or the default 300_000"):
            Verifier(SECRET, tolerance_ms=5)

    @pytest.mark.parametrize("tolerance", [300.0, "300000", True])
    def test_tolerance_must_be_int(self, tolerance: object) -> None:
        """A non-int tolerance is a TypeError."""
        with pytest.raises(TypeError, match="tolerance_ms"):
            Verifier(SECRET, tolerance_ms=tolerance)  # type: ignore[arg-type]

    @pytest.mark.parametrize("now_ms", [float(NOW_MS), str(NOW_MS), True])
    def test_now_ms_must_be_int(self, now_ms: object) -> None:
        """A clock reading that is not an int of milliseconds is a TypeError that says so."""
        with pytest.raises(TypeError, match="now_ms must be an int of Unix milliseconds"):
            verify(SECRET, GOOD_TS, GOOD_SIG, BODY, now_ms=now_ms)  # type: ignore[arg-type]

    def test_a_clock_in_seconds_is_the_callers_mistake(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """now_ms= or clock= in Unix seconds is a ValueError naming the unit, not the sender's fault (regression).

        It was reported as a TimestampOutsideToleranceError blaming the sender's clock, which a
        receiver answers with a 400 while its own call is wrong.
        """
        monkeypatch.setattr(time, "time_ns", lambda: NOW_MS * 1_000_000)
        with pytest.raises(ValueError, match="is Unix seconds: now_ms= and clock= take Unix milliseconds"):
            _verify_at(NOW_MS // 1000)
        with pytest.raises(ValueError, match="is Unix seconds"):
            Verifier(SECRET, clock=lambda: NOW_MS // 1000).verify(GOOD_TS, GOOD_SIG, BODY)

    def test_the_system_clock_near_1970_is_never_taken_for_seconds(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Only a clock the caller gave is suspected of reading seconds (regression).

        50 s after the epoch (a board without a real-time clock, before NTP), the system clock's
        milliseconds look like seconds: every stale request raised the ValueError, which adapters
        answer with 500.
        """
        monkeypatch.setattr(time, "time_ns", lambda: 50_000 * 1_000_000)
        with pytest.raises(TimestampOutsideToleranceError):
            Verifier(SECRET).verify(GOOD_TS, GOOD_SIG, BODY)

    def test_a_clock_in_milliseconds_far_from_now_still_blames_the_timestamp(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Only a clock that reads the system time in seconds is called out; any other reading is a test's to choose."""
        monkeypatch.setattr(time, "time_ns", lambda: NOW_MS * 1_000_000)
        with pytest.raises(TimestampOutsideToleranceError, match="old"):
            _verify_at(NOW_MS + 3_600_000)

    def test_none_skips_the_time_check(self) -> None:
        """tolerance_ms=None accepts a capture of any age (for re-checking stored captures)."""
        headers = _headers(timestamp_ms=1)
        assert _verify(headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], tolerance_ms=None).timestamp_ms == 1

    def test_clock_is_injectable(self) -> None:
        """Verifier asks its clock for the time on every call."""
        times = iter([NOW_MS, NOW_MS + DEFAULT_TOLERANCE_MS + 1])
        verifier = Verifier(SECRET, clock=lambda: next(times))
        verifier.verify(GOOD_TS, GOOD_SIG, BODY)
        with pytest.raises(TimestampOutsideToleranceError):
            verifier.verify(GOOD_TS, GOOD_SIG, BODY)

    def test_default_clock_is_the_system_clock(self) -> None:
        """Without a clock, the current time is used."""
        headers = sign(SECRET, BODY)
        assert Verifier(SECRET).verify_headers(headers, BODY).body == BODY


class TestSignature:
    @pytest.mark.parametrize(
        ("value", "hint"),
        [
            pytest.param(GOOD_SIG.rstrip("="), "padding", id="unpadded"),
            pytest.param(GOOD_SIG.replace("+", "-").replace("/", "_"), "URL-safe", id="urlsafe"),
            pytest.param(GOOD_SIG[:40] + " " + GOOD_SIG[41:], "whitespace", id="inner-space"),
            pytest.param(GOOD_SIG + "AA", None, id="data-after-padding"),
            pytest.param(GOOD_SIG + "==", None, id="extra-padding"),
            pytest.param(f"{GOOD_SIG},{GOOD_SIG}", "comma", id="two-values"),
            pytest.param("é" * 88, "non-ASCII", id="non-ascii"),
            pytest.param(GOOD_SIG[:-2] + "\u00a0\u00a0", "non-ASCII", id="nbsp-padding"),
            pytest.param(GOOD_SIG[:-2] + "é", "non-ASCII", id="88-bytes-of-utf-8"),  # the fast path's length
            pytest.param("A" * 5000, None, id="huge"),
            pytest.param("a" * 128, "hex", id="hex"),
            pytest.param("=" * 88, None, id="only-padding"),
            pytest.param("%" * 88, None, id="not-base64"),
            pytest.param(GOOD_SIG[:64], None, id="truncated"),
        ],
    )
    def test_malformed(self, value: str, hint: str | None) -> None:
        """Only the canonical padded standard base64 of 64 bytes is accepted."""
        assert "+" in GOOD_SIG or "/" in GOOD_SIG  # so the URL-safe case really differs
        with pytest.raises(MalformedSignatureError, match=hint) as caught:
            _verify(GOOD_TS, value)
        assert caught.value.reason == "malformed_signature"

    def test_non_zero_padding_bits(self) -> None:
        """A variant with non-zero padding bits decodes to the same digest, and is still refused."""
        import base64

        variant = GOOD_SIG[:-3] + chr(ord(GOOD_SIG[-3]) + 1) + "=="
        assert base64.b64decode(variant) == base64.b64decode(GOOD_SIG)
        with pytest.raises(MalformedSignatureError):
            _verify(GOOD_TS, variant)

    def test_non_ascii_is_named_before_a_stale_timestamp(self) -> None:
        """Text whose UTF-8 is 88 bytes passes the fast length check, and is still malformed first."""
        stale = str(NOW_MS - 3_600_000)
        with pytest.raises(MalformedSignatureError, match="non-ASCII"):
            _verify(stale, GOOD_SIG[:-2] + "é")

    @pytest.mark.parametrize("value", [b"\xff" * 88, GOOD_SIG.encode()[:-2] + b"\xc3\xa9"])
    def test_non_ascii_bytes(self, value: bytes) -> None:
        """Non-ASCII bytes are malformed, not a UnicodeDecodeError."""
        with pytest.raises(MalformedSignatureError, match="non-ASCII"):
            _verify(GOOD_TS, value)

    @pytest.mark.parametrize("value", [None, "", "  ", b" \t"])
    def test_missing(self, value: str | bytes | None) -> None:
        """Absent, empty or blank is a missing header, naming it."""
        with pytest.raises(MissingHeaderError) as caught:
            _verify(GOOD_TS, value)
        assert caught.value.header == SIGNATURE_HEADER

    def test_mismatch(self) -> None:
        """A well-formed signature of other bytes is a mismatch."""
        with pytest.raises(SignatureMismatchError) as caught:
            _verify(GOOD_TS, GOOD_SIG, BODY + b" ")
        assert caught.value.reason == "signature_mismatch"

    def test_wrong_secret(self) -> None:
        """A signature made with another secret is a mismatch."""
        headers = _headers(secret=generate_secret())
        with pytest.raises(SignatureMismatchError):
            _verify(headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER])

    def test_timestamp_is_part_of_the_message(self) -> None:
        """Changing the timestamp, even within tolerance, breaks the signature."""
        with pytest.raises(SignatureMismatchError):
            _verify(str(NOW_MS + 1), GOOD_SIG)

    def test_signatures_are_compared_in_one_module_with_compare_digest(self) -> None:
        """Signatures are compared only in _verify.py, with hmac.compare_digest: the first key, then any other."""
        from pathlib import Path

        import tower_webhooks

        package = Path(tower_webhooks.__file__).parent
        counts = {path.name: path.read_text().count("compare_digest(") for path in package.rglob("*.py")}
        assert {name: count for name, count in counts.items() if count} == {"_verify.py": 2}


class TestRotation:
    def test_any_live_secret_passes(self) -> None:
        """With several secrets, a request signed by any of them verifies."""
        old, new = generate_secret(), generate_secret()
        verifier = Verifier([old, new], clock=lambda: NOW_MS)
        for secret in (old, new):
            assert verifier.verify_headers(_headers(secret=secret), BODY).body == BODY
        with pytest.raises(SignatureMismatchError):
            verifier.verify_headers(_headers(secret=generate_secret()), BODY)


class TestVerifyHeaders:
    def test_mapping_in_any_case(self) -> None:
        """Header names are matched case-insensitively in a plain dict."""
        headers = {TIMESTAMP_HEADER.upper(): GOOD_TS, SIGNATURE_HEADER.lower(): GOOD_SIG, "Content-Type": "x"}
        assert Verifier(SECRET, clock=lambda: NOW_MS).verify_headers(headers, BODY).body == BODY

    def test_asgi_pairs(self) -> None:
        """ASGI-style lists of byte pairs work."""
        headers = [(b"X-TOWER-SIGNATURE", GOOD_SIG.encode()), (b"x-tower-webhook-timestamp", GOOD_TS.encode())]
        assert Verifier(SECRET, clock=lambda: NOW_MS).verify_headers(headers, BODY).body == BODY

    @pytest.mark.parametrize(
        ("name", "error"),
        [(TIMESTAMP_HEADER, MalformedTimestampError), (SIGNATURE_HEADER, MalformedSignatureError)],
    )
    def test_duplicate_header_is_refused(self, name: str, error: type[WebhookVerificationError]) -> None:
        """The same Tower header twice is malformed, even with identical values."""
        pairs = [*GOOD.items(), (name.lower(), GOOD[name])]
        with pytest.raises(error, match="more than once"):
            Verifier(SECRET, clock=lambda: NOW_MS).verify_headers(pairs, BODY)

    def test_duplicate_in_a_dict_with_two_cases(self) -> None:
        """Two spellings of one header in a dict are a duplicate too."""
        headers = {**GOOD, SIGNATURE_HEADER.lower(): GOOD_SIG}
        with pytest.raises(MalformedSignatureError):
            Verifier(SECRET, clock=lambda: NOW_MS).verify_headers(headers, BODY)

    def test_missing_from_headers(self) -> None:
        """A header absent from the mapping is reported missing."""
        with pytest.raises(MissingHeaderError) as caught:
            Verifier(SECRET, clock=lambda: NOW_MS).verify_headers({TIMESTAMP_HEADER: GOOD_TS}, BODY)
        assert caught.value.header == SIGNATURE_HEADER


class TestBody:
    def test_str_body_explains(self) -> None:
        """A str body is a TypeError that asks for the raw bytes."""
        with pytest.raises(TypeError, match="raw request body as bytes, not str"):
            _verify(GOOD_TS, GOOD_SIG, BODY.decode())

    @pytest.mark.parametrize("body", [{"event_type": "x"}, [1, 2]])
    def test_parsed_json_body_explains(self, body: object) -> None:
        """Parsed JSON is a TypeError that says re-serialised JSON never matches."""
        with pytest.raises(TypeError, match="parsed JSON"):
            _verify(GOOD_TS, GOOD_SIG, body)

    def test_other_types(self) -> None:
        """Any other body type is a TypeError naming the type."""
        with pytest.raises(TypeError, match="int"):
            _verify(GOOD_TS, GOOD_SIG, 5)

    def test_header_of_wrong_type_is_a_programmer_mistake(self) -> None:
        """A header value that is neither str, bytes nor None is a TypeError."""
        with pytest.raises(TypeError, match="str, bytes or None"):
            _verify(int(GOOD_TS), GOOD_SIG)


class TestJson:
    def test_parses_any_json(self) -> None:
        """json() parses whatever JSON arrived; no field is required."""
        assert VerifiedWebhook(NOW_MS, b"[1, 2]").json() == [1, 2]
        assert VerifiedWebhook(NOW_MS, b'"just a string"').json() == "just a string"

    @pytest.mark.parametrize(
        ("body", "why"),
        [
            (b"\xff\xfe{}", "not UTF-8"),
            (b"", "not JSON"),
            (b"{", "not JSON"),
            (b"\xef\xbb\xbf{}", "not JSON"),
            (b"[" * 100_000, "nested too deeply|not JSON"),
            (b"1" * 5000, "not JSON"),
        ],
    )
    def test_invalid_payload(self, body: bytes, why: str) -> None:
        """Non-UTF-8 or non-JSON bodies raise InvalidPayloadError, never a bare decoder error."""
        with pytest.raises(InvalidPayloadError, match=why):
            VerifiedWebhook(NOW_MS, body).json()

    def test_repr_does_not_dump_the_body(self) -> None:
        """The repr shows the body's size, not its content."""
        assert (
            repr(VerifiedWebhook(NOW_MS, b"x" * 10_000))
            == f"VerifiedWebhook(timestamp_ms={NOW_MS}, body=<10000 bytes>)"
        )


_STALE_TS = str(NOW_MS - DEFAULT_TOLERANCE_MS - 1)


class TestTheFastPathKeepsTheParsersContract:
    """Regressions from the hot path that trusts 88-character values before the parsers look at them."""

    @pytest.mark.parametrize(
        "signature",
        [
            pytest.param(GOOD_SIG[:86] + "A=", id="no-padding-str"),
            pytest.param(GOOD_SIG[:86].encode() + b"A=", id="no-padding-bytes"),
            pytest.param("A" * 88, id="all-letters"),
            pytest.param(b"\xff" * 88, id="non-ascii-bytes"),
            pytest.param(GOOD_SIG[:86].encode() + b"\0\0", id="nul-bytes"),
            pytest.param(" " + GOOD_SIG[:85] + "==", id="blank-then-87"),
            pytest.param(GOOD_SIG[:86] + " =", id="blank-in-padding"),
        ],
    )
    def test_a_malformed_signature_is_named_before_a_stale_timestamp(self, signature: str | bytes) -> None:
        """As the parsers order them: a signature of the wrong shape is malformed, whatever the time."""
        timestamp = _STALE_TS.encode() if isinstance(signature, bytes) else _STALE_TS
        with pytest.raises(MalformedSignatureError):
            _verify(timestamp, signature)
        with pytest.raises(MalformedSignatureError):
            Verifier(SECRET, clock=lambda: NOW_MS).verify(timestamp, signature, BODY)

    def test_the_default_clock_is_the_one_time_time_ns_gives(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A test that pins time.time_ns pins the verifier too, as it pins sign() and TowerSigner."""
        import time

        monkeypatch.setattr(time, "time_ns", lambda: NOW_MS * 1_000_000)
        assert Verifier(SECRET).verify(GOOD_TS, GOOD_SIG, BODY).timestamp_ms == NOW_MS
        assert verify(SECRET, GOOD_TS, GOOD_SIG, BODY).timestamp_ms == NOW_MS

    @pytest.mark.parametrize("header", [TIMESTAMP_HEADER, SIGNATURE_HEADER])
    @pytest.mark.parametrize("garbage", [b"\xff", b"\xff" + b"A" * 45], ids=["short", "encodes-to-88"])
    def test_non_ascii_bytes_through_email_message_are_malformed(self, header: str, garbage: bytes) -> None:
        """email.message.Message hands a non-ASCII value over as an email.header.Header: malformed, not a TypeError."""
        import email

        headers = {**GOOD, header: garbage.decode("latin-1")}
        raw = b"".join(f"{name}: {value}\r\n".encode("latin-1") for name, value in headers.items())
        message = email.message_from_bytes(raw + b"\r\n")
        error = MalformedTimestampError if header == TIMESTAMP_HEADER else MalformedSignatureError
        with pytest.raises(error, match="non-ASCII"):
            Verifier(SECRET, clock=lambda: NOW_MS).verify_headers(message, BODY)

    def test_an_object_with_an_encode_method_is_not_taken_for_text(self) -> None:
        """Only str is encoded on the hot path; anything else is the parsers' to name."""

        class Text:
            def encode(self, *args: object) -> str:
                return GOOD_SIG  # text, as email.header.Header.encode() returns

        with pytest.raises(TypeError, match="str, bytes or None"):
            _verify(GOOD_TS, Text())

    def test_a_header_name_is_matched_in_ascii_only(self) -> None:
        """KELVIN SIGN lowercases to k, but "X-Tower-Webhoo\\u212a-Timestamp" is not Tower's header."""
        headers = [(TIMESTAMP_HEADER.replace("k-", "\u212a-"), GOOD_TS), (SIGNATURE_HEADER, GOOD_SIG)]
        with pytest.raises(MissingHeaderError) as caught:
            Verifier(SECRET, clock=lambda: NOW_MS).verify_headers(headers, BODY)
        assert caught.value.header == TIMESTAMP_HEADER
