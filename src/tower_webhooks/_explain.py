"""``verify --explain``: when a signature does not match, find the usual mistake that explains it.

Tower describes its scheme only in prose, so senders and receivers get it subtly wrong: the
secret used without decoding, a newline added by an editor, JSON parsed and dumped again, the
time in seconds. Each guess rebuilds what might have been signed and checks it against the
signature; a guess that matches names the mistake. Only the names of mistakes are reported:
never the secret, the key or the signature that was expected.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from ._headers import HeaderValue, parse_timestamp
from ._secret import Secret, SecretEncoding, decode_secret
from ._verify import Verifier
from .exceptions import (
    InvalidSecretError,
    SignatureMismatchError,
    TimestampOutsideToleranceError,
    WebhookVerificationError,
)

__all__ = ["Mistake", "explain"]

_BOM = b"\xef\xbb\xbf"
_SEARCH_BUDGET_BYTES = 64 * 1024 * 1024
"""How much hashing the search for the signed timestamp may do: about a second on a slow machine."""
_VERIFY_OVERHEAD_BYTES = 8 * 1024  # the fixed cost of one verification, in bytes hashed (measured)
_MAX_WINDOW_MS = 60_000  # at most a minute either way; a large body narrows it to fit the budget
_SECONDS_RANGE = 10**11  # a timestamp under this is Unix seconds (until the year 5138)

_NOT_EITHER = "with the time check disabled the signature does not match either"
_ENCODINGS: tuple[SecretEncoding, ...] = ("base64", "hex", "raw")
_ENCODING_USE = {"base64": "decoded as base64", "hex": "decoded as hex", "raw": "used as raw text, not decoded"}


@dataclass(frozen=True, slots=True)
class Mistake:
    """One way the signed request differs from the one given.

    Attributes:
        code: A stable name for the mistake, such as ``"newline_added"``.
        description: What differs and where it usually comes from.
    """

    code: str
    description: str

    def __str__(self) -> str:
        return f"[{self.code}] {self.description}"


_T = TypeVar("_T")
_Guess = tuple[tuple[Mistake, ...], _T]
"""A guess at what was signed: the mistakes that would turn it into what was given, and the guess."""


def explain(
    error: WebhookVerificationError,
    *,
    secret: Secret,
    secret_encoding: SecretEncoding,
    timestamp_header: HeaderValue,
    signature_header: HeaderValue,
    body: bytes,
) -> list[str]:
    """Explain why a request was rejected, as lines to print.

    Args:
        error: What verification raised.
        secret: The secret the request was checked with (never shown).
        secret_encoding: How that secret was decoded.
        timestamp_header: The timestamp header value as received.
        signature_header: The signature header value as received.
        body: The body as received.
    """
    if not isinstance(error, (SignatureMismatchError, TimestampOutsideToleranceError)):
        return ["nothing to try: the request lacks a well-formed header, and the reason above says which"]
    stale = False  # then the diagnosis says, in the same sentence, that the signature fails too
    if isinstance(error, TimestampOutsideToleranceError):
        try:
            Verifier(secret, tolerance_ms=None, secret_encoding=secret_encoding).verify(
                timestamp_header, signature_header, body
            )
        except SignatureMismatchError:
            stale = True
        else:
            return [
                "with the time check disabled the signature matches: the request is genuine and only its "
                "timestamp is out of tolerance (a replay, a clock that is off, or seconds sent as milliseconds)"
            ]
    digits, timestamp_ms = parse_timestamp(timestamp_header)
    verifiers = _verifiers(secret, secret_encoding)
    mistakes = _find(verifiers, _bodies(body), digits, signature_header)
    candidates, searched = _timestamps(timestamp_ms, len(body))
    if mistakes is None:
        mistakes = _find_timestamp(verifiers[0][1], body, timestamp_ms, signature_header, candidates)
    if mistakes is None:
        opening = f"{_NOT_EITHER}, and none" if stale else "none"
        return [
            f"{opening} of the usual mistakes explains it: the secret used without decoding or decoded as "
            "hex/base64, a trailing newline added or removed, other whitespace added at either end, CRLF "
            f"line endings, a UTF-8 BOM, JSON re-serialised, the timestamp in seconds, or {searched}. Most "
            "likely the request was signed with another secret (Tower shows a new one whenever a webhook is "
            "created: copy the current one)"
        ]
    opening = f"{_NOT_EITHER}, but it" if stale else "the signature"
    return [
        f"{opening} matches once these differences are undone, so this is what went wrong:",
        *(f"  - {mistake}" for mistake in mistakes),
    ]


def _matches(verifier: Verifier, digits: bytes, signature_header: HeaderValue, body: bytes) -> bool:
    """Whether the core accepts this guess (its verifiers never check the time)."""
    try:
        verifier.verify(digits, signature_header, body)
    except SignatureMismatchError:
        return False
    return True


def _find(
    verifiers: list[_Guess[Verifier]], bodies: list[_Guess[bytes]], digits: bytes, signature_header: HeaderValue
) -> tuple[Mistake, ...] | None:
    """Try every combination of the guesses; return the mistakes of the first that matches."""
    timestamps: list[_Guess[bytes]] = [((), digits)]
    if int(digits) >= _SECONDS_RANGE:
        seconds = str(int(digits) // 1000).encode("ascii")
        timestamps.append(((_mistake("timestamp_signed_in_seconds", digits.decode("ascii")),), seconds))
    for (key_mistakes, verifier), (body_mistakes, body), (time_mistakes, signed_digits) in itertools.product(
        verifiers, bodies, timestamps
    ):
        if _matches(verifier, signed_digits, signature_header, body):
            return key_mistakes + body_mistakes + time_mistakes
    return None


def _find_timestamp(
    verifier: Verifier, body: bytes, timestamp_ms: int, signature_header: HeaderValue, candidates: Iterable[int]
) -> tuple[Mistake, ...] | None:
    """Search ``candidates`` for the timestamp that was really signed."""
    for candidate in candidates:
        if _matches(verifier, str(candidate).encode("ascii"), signature_header, body):
            if timestamp_ms < _SECONDS_RANGE:
                return (_mistake("timestamp_given_in_seconds", str(candidate)),)
            return (_mistake("timestamp_differs", f"{candidate - timestamp_ms:+,}"),)
    return None


def _timestamps(timestamp_ms: int, body_size: int) -> tuple[Iterable[int], str]:
    """The timestamps to try, nearest first, as many as the budget allows; and what they cover, in words.

    Each try hashes the whole body, so a large body gets a narrower search, and the words say so.
    """
    tries = _SEARCH_BUDGET_BYTES // (body_size + _VERIFY_OVERHEAD_BYTES)
    # Said only when the body, not the fixed cost of a try, is what narrows the search.
    narrowed = (
        f" (no wider: each try hashes the whole {body_size:,}-byte body)" if body_size > _VERIFY_OVERHEAD_BYTES else ""
    )
    if timestamp_ms < _SECONDS_RANGE:  # every millisecond of that second, from its start
        count = min(1000, tries)
        searched = (
            "any millisecond of the header's second"
            if count == 1000
            else f"the first {count:,} ms of the header's second{narrowed}"
        )
        return range(timestamp_ms * 1000, timestamp_ms * 1000 + count), searched
    window_ms = min(_MAX_WINDOW_MS, tries // 2)
    offsets = itertools.chain.from_iterable((offset, -offset) for offset in range(1, window_ms + 1))
    searched = f"another timestamp within {window_ms:,} ms of the header's"
    if window_ms < _MAX_WINDOW_MS:
        searched += narrowed
    return (timestamp_ms + offset for offset in offsets if timestamp_ms + offset >= 0), searched


def _verifiers(secret: Secret, configured: SecretEncoding) -> list[_Guess[Verifier]]:
    """The configured decoding first, then the secret decoded every other way it can be."""
    guesses: list[_Guess[SecretEncoding]] = [((), configured)]
    keys = [decode_secret(secret, configured)]
    for encoding in _ENCODINGS:
        try:
            key = decode_secret(secret, encoding)
        except InvalidSecretError:
            continue
        if key not in keys:
            keys.append(key)
            description = (
                f"the signature was made with the secret {_ENCODING_USE[encoding]}, where it was checked "
                f"{_ENCODING_USE[configured]}"
            )
            guesses.append(((Mistake(f"secret_{encoding}", description),), encoding))
    return [(mistakes, Verifier(secret, tolerance_ms=None, secret_encoding=encoding)) for mistakes, encoding in guesses]


def _bodies(body: bytes) -> list[_Guess[bytes]]:
    """The body as given first, then each body that a usual mistake would have turned into it."""
    candidates: list[_Guess[bytes]] = [((), body)]
    if body.endswith(b"\r\n"):  # echo on Windows adds both characters
        candidates.append(((_mistake("newline_added"),), body[:-2]))
    if body.endswith(b"\n"):
        candidates.append(((_mistake("newline_added"),), body[:-1]))
    candidates.append(((_mistake("newline_removed"),), body + b"\n"))
    if b"\r\n" in body:
        candidates.append(((_mistake("crlf_added"),), body.replace(b"\r\n", b"\n")))
    if b"\n" in body:
        candidates.append(((_mistake("crlf_removed"),), body.replace(b"\n", b"\r\n")))
    if body.startswith(_BOM):
        candidates.append(((_mistake("bom_added"),), body[len(_BOM) :]))
    candidates.append(((_mistake("bom_removed"),), _BOM + body))
    # Before any JSON round trip: whitespace at either end also parses away, but is the simpler story.
    leading = body[: len(body) - len(body.lstrip())]
    trailing = body[len(body.rstrip()) :]
    if trailing:
        candidates.append(((_mistake("whitespace_added_at_end", _shown(trailing)),), body.rstrip()))
    if leading:
        candidates.append(((_mistake("whitespace_added_at_start", _shown(leading)),), body.lstrip()))
    if leading and trailing:
        both = (
            _mistake("whitespace_added_at_start", _shown(leading)),
            _mistake("whitespace_added_at_end", _shown(trailing)),
        )
        candidates.append((both, body.strip()))
    # Re-serialising drops a final newline, and a copy often gains or loses one (print, a file save).
    newline = (_mistake("newline_added"),) if body.endswith(b"\n") else ()
    no_newline = () if newline else (_mistake("newline_removed"),)
    for mistakes, reserialised in _reserialised(body):
        candidates.append((mistakes + newline, reserialised))
        candidates.append((mistakes + no_newline, reserialised + b"\n"))
    unique: dict[bytes, _Guess[bytes]] = {}
    for variant in candidates:
        unique.setdefault(variant[1], variant)
    return list(unique.values())


def _reserialised(body: bytes) -> Iterator[_Guess[bytes]]:
    """The JSON of ``body`` written the ways common serialisers write it."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return
    has_non_ascii = json.dumps(document) != json.dumps(document, ensure_ascii=False)
    for layout, sort_keys, ensure_ascii in itertools.product(
        ("compact", "spaced", "indented"), (False, True), (False, True) if has_non_ascii else (False,)
    ):
        separators = (",", ":") if layout == "compact" else (", ", ": ")
        indent = 2 if layout == "indented" else None
        if indent is not None:
            separators = (",", ": ")
        text = json.dumps(
            document, separators=separators, indent=indent, sort_keys=sort_keys, ensure_ascii=ensure_ascii
        )
        how = [f"written {layout}", "keys sorted" if sort_keys else "keys in the same order"]
        if has_non_ascii:
            how.append("non-ASCII as \\u escapes" if ensure_ascii else "non-ASCII as UTF-8")
        description = (
            f"the body given is the signed JSON re-serialised; the signed bytes were {', '.join(how)}: "
            "something parsed the body and dumped it again, so verify the raw bytes as received"
        )
        yield (Mistake("json_reserialised", description),), text.encode("utf-8")


_DESCRIPTIONS = {
    "newline_added": "the body given ends with a newline the signed body did not have (added by an editor, "
    "echo or print?)",
    "newline_removed": "the signed body ended with a newline the body given lacks (stripped by .strip(), $(...) "
    "or a framework?)",
    "crlf_added": "the body given has CRLF line endings where the signed body had LF (a text-mode copy or a "
    "Windows tool?)",
    "crlf_removed": "the signed body had CRLF line endings where the body given has LF",
    "bom_added": "the body given starts with a UTF-8 byte order mark the signed body did not have (saved by a Windows "
    "editor or PowerShell?)",
    "bom_removed": "the signed body started with a UTF-8 byte order mark the body given lacks (read with utf-8-sig?)",
    "whitespace_added_at_end": "the body given differs from the signed body only in whitespace at its end: {} "
    "added (by an editor, a template or a copy?)",
    "whitespace_added_at_start": "the body given differs from the signed body only in whitespace at its start: {} "
    "added (by an editor, a template or a copy?)",
    "timestamp_signed_in_seconds": "the signature was made over the timestamp in seconds, but the header carries {} "
    "milliseconds: the sender must sign exactly the digits it sends",
    "timestamp_given_in_seconds": "the timestamp given is in seconds; the signature was made over {} milliseconds, "
    "the unit Tower sends",
    "timestamp_differs": "the signature was made over a timestamp {} ms from the header's: the signature and the "
    "timestamp come from different signings (the clock read twice, or headers from two deliveries mixed?)",
}


def _shown(whitespace: bytes) -> str:
    """Whitespace as a reader can see it, such as ``' '`` or a quoted tab and newline."""
    return repr(whitespace.decode("ascii"))


def _mistake(code: str, detail: str = "") -> Mistake:
    return Mistake(code, _DESCRIPTIONS[code].format(detail))
