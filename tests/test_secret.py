"""Decoding the shared secret: trimmed, never guessed, refused early when unusable."""

from __future__ import annotations

import base64

import pytest

from tower_webhooks import InvalidSecretError, TowerWebhooksError, Verifier, generate_secret, sign, verify
from tower_webhooks._secret import decode_secret

from .values import BODY, NOW_MS

KEY = bytes(range(32))
STANDARD = base64.b64encode(KEY).decode()


class TestBase64:
    @pytest.mark.parametrize(
        "secret",
        [
            pytest.param(STANDARD, id="padded"),
            pytest.param(STANDARD.rstrip("="), id="unpadded"),
            pytest.param(base64.urlsafe_b64encode(KEY).decode(), id="urlsafe"),
            pytest.param(f"  {STANDARD}\n", id="pasted-with-newline"),
            pytest.param(f"{STANDARD}\r\n".encode(), id="bytes-crlf"),
        ],
    )
    def test_forms_that_decode(self, secret: str | bytes) -> None:
        """Standard or URL-safe, padded or not, with surrounding whitespace: one key."""
        assert decode_secret(secret) == KEY

    @pytest.mark.parametrize(
        ("secret", "message"),
        [
            pytest.param("", "empty", id="empty"),
            pytest.param(" \n\t", "empty", id="blank"),
            pytest.param("abc$def" * 4, "not base64", id="bad-character"),
            pytest.param(STANDARD[:20] + " " + STANDARD[20:], "not base64", id="inner-space"),
            pytest.param("ab+c-d" * 5, "not base64", id="mixed-alphabets"),
            pytest.param("A" * 25, "impossible", id="impossible-length"),
            pytest.param("AAAA=A" * 5, "not base64", id="padding-inside"),
            pytest.param(base64.b64encode(b"x" * 15).decode(), "15 bytes", id="too-short"),
            pytest.param("clé-secrète" * 3, "non-ASCII", id="non-ascii"),
        ],
    )
    def test_refused(self, secret: str, message: str) -> None:
        """Unusable secrets raise InvalidSecretError at construction, saying why."""
        with pytest.raises(InvalidSecretError, match=message):
            Verifier(secret)

    def test_undecodable_secret_names_both_ways_to_give_the_encoding(self) -> None:
        """The hint works for a Python caller and on the command line alike (regression: it named only the argument)."""
        with pytest.raises(InvalidSecretError, match="secret_encoding= in Python, --secret-encoding on the command"):
            Verifier("hunter2!" * 4)

    def test_invalid_secret_is_a_value_error_and_ours(self) -> None:
        """InvalidSecretError is both a ValueError and a TowerWebhooksError."""
        with pytest.raises(InvalidSecretError) as caught:
            Verifier("")
        assert isinstance(caught.value, ValueError)
        assert isinstance(caught.value, TowerWebhooksError)


class TestOtherEncodings:
    def test_hex(self) -> None:
        """secret_encoding='hex' decodes hex, either case."""
        assert decode_secret(KEY.hex().upper(), "hex") == KEY

    def test_hex_refuses_base64(self) -> None:
        """A base64 secret given as hex is refused, pointing at the right encoding."""
        with pytest.raises(InvalidSecretError, match="secret_encoding='base64'"):
            decode_secret(STANDARD, "hex")

    def test_raw_trims_the_same_whitespace_from_str_and_bytes(self) -> None:
        """Regression: str secrets lost Unicode spaces (NBSP) that bytes kept, so keys differed by source."""
        raw = "abcdefghijklmnop\u00a0"
        assert decode_secret(f"{raw}\n", "raw") == decode_secret(raw.encode() + b"\n", "raw") == raw.encode()

    def test_raw_str_from_a_non_utf8_environment_variable(self) -> None:
        """A raw secret from an environment variable that is not UTF-8 keeps its exact bytes."""
        original = b"\xffsixteen-or-more-bytes"
        from_environment = original.decode("utf-8", "surrogateescape")  # what os.environ holds
        assert decode_secret(from_environment, "raw") == original

    def test_raw_uses_the_bytes_as_given(self) -> None:
        """secret_encoding='raw' keys the HMAC with the trimmed text itself."""
        assert decode_secret(f" {STANDARD} ", "raw") == STANDARD.encode()

    def test_encoding_is_never_guessed(self) -> None:
        """A hex string is valid base64 too, and is decoded as base64 by default."""
        hex_text = KEY.hex()
        assert decode_secret(hex_text) == base64.b64decode(hex_text)
        assert decode_secret(hex_text) != KEY

    def test_unknown_encoding(self) -> None:
        """An unknown encoding is a ValueError listing the choices."""
        with pytest.raises(ValueError, match="base64"):
            Verifier(STANDARD, secret_encoding="utf8")  # type: ignore[arg-type]

    def test_secret_of_wrong_type(self) -> None:
        """A secret that is neither str nor bytes is a TypeError."""
        with pytest.raises(TypeError, match="secret"):
            Verifier(12345)  # type: ignore[arg-type]

    @pytest.mark.parametrize("wrap", [bytearray, memoryview], ids=["bytearray", "memoryview"])
    def test_a_mutable_bytes_secret_is_named(self, wrap: type[bytearray | memoryview]) -> None:
        """A bytearray secret, alone or in a list, is a TypeError naming it (regression).

        Alone it was taken for a sequence of secrets ("not int"); in a list, verify()'s cache of
        verifiers failed on it first ("unhashable type").
        """
        secret = wrap(bytearray(STANDARD.encode()))
        message = f"the secret must be str or bytes, not {wrap.__name__}: pass bytes\\(secret\\)"
        for given in (secret, [secret], [STANDARD, secret]):
            with pytest.raises(TypeError, match=message):
                verify(given, "1", "x", BODY)  # type: ignore[arg-type]
            with pytest.raises(TypeError, match=message):
                Verifier(given)  # type: ignore[arg-type]

    @pytest.mark.parametrize("secret", ["c2hvcnQ=", [b"\xff"], [bytearray(b"x" * 32)]], ids=["short", "raw", "list"])
    def test_verify_raises_a_bad_secrets_error_once(self, secret: object) -> None:
        """verify()'s error for a bad secret is not chained to the same error from its cache (regression).

        Retrying uncached inside the except clause printed every bad secret's traceback twice,
        joined by "During handling of the above exception, another exception occurred".
        """
        with pytest.raises((TypeError, ValueError)) as caught:
            verify(secret, "1", "x", BODY)  # type: ignore[arg-type]
        assert caught.value.__context__ is None

    def test_each_encoding_round_trips_through_sign(self) -> None:
        """sign() and verify() agree for every encoding."""
        for secret, encoding in ((STANDARD, "base64"), (KEY.hex(), "hex"), ("a raw secret of 16+ chars", "raw")):
            headers = sign(secret, BODY, timestamp_ms=NOW_MS, secret_encoding=encoding)  # type: ignore[arg-type]
            webhook = verify(
                secret,
                headers["X-Tower-Webhook-Timestamp"],
                headers["X-Tower-Signature"],
                BODY,
                now_ms=NOW_MS,
                secret_encoding=encoding,  # type: ignore[arg-type]
            )
            assert webhook.body == BODY


def test_none_secret_says_it_is_not_set() -> None:
    """Verifier(os.environ.get(...)) for an unset variable is an InvalidSecretError, not a TypeError."""
    with pytest.raises(InvalidSecretError, match="not set"):
        Verifier(None)  # type: ignore[arg-type]


class TestRotationList:
    def test_empty_list(self) -> None:
        """An empty list of secrets is a configuration error."""
        with pytest.raises(InvalidSecretError, match="no secret"):
            Verifier([])

    def test_one_bad_secret_in_the_list(self) -> None:
        """Every secret in the list must be valid."""
        with pytest.raises(InvalidSecretError):
            Verifier([generate_secret(), "not base64!"])


def test_generate_secret_is_fresh_and_decodes_to_64_bytes() -> None:
    """generate_secret() gives a new padded base64 secret of 64 random bytes each time."""
    first, second = generate_secret(), generate_secret()
    assert first != second
    assert len(base64.b64decode(first, validate=True)) == 64


def test_a_secret_that_is_not_hex_names_the_option_in_python_and_on_the_command_line() -> None:
    """Regression: the hint named only secret_encoding=, which a command-line user cannot pass."""
    with pytest.raises(InvalidSecretError, match=r"secret_encoding='base64' in Python, --secret-encoding base64 on"):
        decode_secret(generate_secret(), "hex")
