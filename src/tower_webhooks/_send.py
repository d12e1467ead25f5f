"""``send`` and ``send --check``: post signed requests to an endpoint and judge the answers as Tower does.

Tower counts a delivery only if the answer is exactly 200 and arrives whole within 30 seconds;
anything else, 204 and redirects included, is retried later. Each request here goes over a fresh
connection, so an endpoint that answers early without reading the body cannot spoil the next one.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import quote, urljoin, urlsplit

from . import __version__
from ._deadline import DeadlineReader, remaining
from ._forgeries import forge
from ._headers import SIGNATURE_HEADER, TIMESTAMP_HEADER
from ._inputs import UsageError
from ._printable import printable
from ._secret import Secret, SecretEncoding, generate_secret
from ._signing import current_time_ms, sign

__all__ = [
    "TOWER_TIMEOUT_S",
    "CheckCase",
    "CheckRow",
    "Outcome",
    "check_cases",
    "check_endpoint",
    "check_url",
    "deliver",
    "run_check",
    "run_send",
]

TOWER_TIMEOUT_S = 30.0
"""How long Tower waits for the whole answer before it counts the delivery as failed."""

_SENT_HEADERS = {"Content-Type": "application/json", "User-Agent": f"tower-webhooks/{__version__} (send)"}
_KEPT_BODY_BYTES = 64 * 1024  # enough to show the answer; the rest is read and dropped
_HOUR_MS = 3_600_000  # the endpoint's tolerance is unknown here: an hour is outside any sensible one
_DESCRIPTIONS = {  # the table's words for each forgery, by its name in tower_webhooks.testing
    "tampered body": "body changed after signing (a space appended)",
    "tampered signature": "signature with one bit flipped",
    "wrong secret": "signed with another secret",
    "stale timestamp": "signed an hour ago (a replay)",
    "future timestamp": "signed an hour from now",
    "timestamp in seconds": "timestamp in seconds, not milliseconds",
    "missing signature": f"no {SIGNATURE_HEADER} header",
    "missing timestamp": f"no {TIMESTAMP_HEADER} header",
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an endpoint did with one request.

    Attributes:
        status: The HTTP status, or ``None`` if no complete status line arrived.
        location: The ``Location`` header of the answer, if any.
        body: The start of the answer's body.
        headers_s: Seconds until the status and headers arrived, if they did.
        total_s: Seconds until the last byte arrived, or until the attempt failed.
        failure: Why no complete answer arrived in time, if it did not.
    """

    status: int | None
    location: str | None
    body: bytes
    headers_s: float | None
    total_s: float
    failure: str | None

    @property
    def delivered(self) -> bool:
        """Whether Tower would count this as delivered: an exact 200, whole, in time."""
        return self.failure is None and self.status == 200

    def error_code(self) -> str | None:
        """The ``error`` field of a JSON answer (the reason tower-webhooks' adapters give), if any."""
        try:
            document = json.loads(self.body)
        except (ValueError, RecursionError):
            return None
        error = document.get("error") if isinstance(document, dict) else None
        return error if isinstance(error, str) else None

    def summary(self) -> str:
        """Status and timings on one line, such as ``200 OK in 3.1 ms (headers after 2.9 ms)``."""
        if self.status is None:
            return f"no complete answer after {_duration(self.total_s)}"
        ended = "incomplete after" if self.failure else "in"
        timing = f"{ended} {_duration(self.total_s)} (headers after {_duration(self.headers_s)})"
        return f"{self.status} {_phrase(self.status)} {timing}"


def _phrase(status: int | None) -> str:
    """The status's name; one HTTP does not define (such as 999) is an answer all the same."""
    if status is None:
        return "no answer"
    return http.client.responses.get(status, "(a status HTTP does not define)")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return f"{seconds * 1000:,.1f} ms" if seconds < 1 else f"{seconds:,.2f} s"


class _Target:
    """Where to post: a parsed ``http`` or ``https`` URL."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            bare = "://" not in url and not url.startswith(("http:", "https:"))
            hint = f": did you mean http://{url} ?" if bare else ""
            raise UsageError(f"the URL must start with http:// or https:// and name a host, got {url!r}{hint}")
        try:
            self.port = parts.port
        except ValueError:
            raise UsageError(f"the URL's port is not a number from 0 to 65535: {url!r}") from None
        try:  # what the socket module does to a host name: it raised UnicodeError mid-send
            parts.hostname.encode("idna")
        except UnicodeError:
            raise UsageError(
                f"the URL's host is not a valid host name (an empty label, or one over 63 characters): {url!r}"
            ) from None
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # http.client sends the request line as ASCII: anything else raised UnicodeEncodeError mid-send,
        # and a space or control character was reported as an endpoint that did not answer.
        unsafe = next((char for char in self.path if not "!" <= char <= "~"), None)
        if unsafe is not None:
            raise UsageError(
                f"the URL's path or query holds {unsafe!r}, which must be percent-encoded "
                f"({quote(unsafe, safe='')}): {url!r}"
            )

    def connection(self, timeout_s: float) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        return kind(self.host, self.port, timeout=timeout_s)


def check_url(url: str) -> str:
    """Return ``url`` if it is one ``send`` can post to, so that a wrong one stops the command before it starts.

    Raises:
        UsageError: ``url`` is not an http or https URL with a host and a valid port; the message says why.
    """
    _Target(url)
    return url


def deliver(url: str, body: bytes, headers: Mapping[str, str], *, timeout_s: float) -> Outcome:
    """Post ``body`` with ``headers`` over a fresh connection; never follow a redirect.

    The whole exchange (connecting, sending, the answer's last byte) must fit in ``timeout_s``.

    Raises:
        UsageError: ``url`` is not an http or https URL.
    """
    target = _Target(url)
    start = time.perf_counter()
    deadline = start + timeout_s
    connection = target.connection(timeout_s)
    status: int | None = None
    headers_s: float | None = None
    location: str | None = None
    kept = b""
    reader: DeadlineReader | None = None
    try:
        connection.connect()
        sock = connection.sock
        sock.settimeout(remaining(deadline))  # sending the body too
        # An endpoint may answer and close without reading the whole body: its answer is still readable.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.request("POST", target.path, body=body, headers={**_SENT_HEADERS, **headers})
        reader = DeadlineReader(sock, deadline)
        # HTTPResponse only calls makefile("rb") on its socket: this one reads within the deadline.
        response = http.client.HTTPResponse(reader, method="POST")  # type: ignore[arg-type]
        response.begin()
        headers_s = time.perf_counter() - start
        status, location = response.status, response.getheader("Location")
        # The answer closes itself at its last byte (the socket stays open until connection.close()).
        while not response.isclosed():
            chunk = response.read(65536)
            kept += chunk[: _KEPT_BODY_BYTES - len(kept)]
        if response.length:  # http.client ends an answer cut short of its Content-Length quietly
            short = f"the answer ended {response.length:,} B short of its Content-Length"
            return Outcome(status, location, kept, headers_s, time.perf_counter() - start, short)
    except TimeoutError:
        if headers_s is not None:
            state = "the answer did not finish"
        elif reader is not None and reader.received:
            state = "the answer's status line and headers did not finish"
        else:
            state = "no answer"
        return Outcome(
            status, location, kept, headers_s, time.perf_counter() - start, f"{state} within {timeout_s:g} s"
        )
    except (OSError, http.client.HTTPException) as error:
        failure = printable(f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)
        return Outcome(status, location, kept, headers_s, time.perf_counter() - start, failure)
    finally:
        connection.close()
    total_s = time.perf_counter() - start
    late = f"the answer took {_duration(total_s)}, over {timeout_s:g} s" if total_s > timeout_s else None
    return Outcome(status, location, kept, headers_s, total_s, late)


def verdict(outcome: Outcome, *, url: str, timeout_s: float) -> str:
    """Say whether Tower would count ``outcome`` as delivered, and if not, why."""
    if outcome.failure is not None:
        return f"not delivered: {outcome.failure}; Tower retries later"
    if outcome.status == 200:
        return f"delivered: an exact 200, whole within {timeout_s:g} s"
    if outcome.status is not None and 300 <= outcome.status < 400:
        target = urljoin(url, outcome.location or "")
        hint = " (the URLs differ only by a trailing slash)" if target.rstrip("/") == url.rstrip("/") else ""
        return (
            f"not delivered: a redirect to {printable(outcome.location or '(no Location header)')}{hint}; "
            "Tower never follows redirects, so give Tower the final URL"
        )
    if outcome.status is not None and 200 <= outcome.status < 300:
        return f"not delivered: Tower counts only an exact 200, so it retries a {outcome.status}"
    return "not delivered: Tower retries anything but an exact 200"


def run_send(
    url: str, body: bytes, label: str, *, secret: Secret, secret_encoding: SecretEncoding, timeout_s: float, out: TextIO
) -> int:
    """Sign ``body`` now, post it once, print the judgement; return 0 if delivered, else 1."""
    headers = sign(secret, body, secret_encoding=secret_encoding)
    print(f"POST {url}  {label} [{len(body):,} B], timestamp {headers[TIMESTAMP_HEADER]}", file=out)
    outcome = deliver(url, body, headers, timeout_s=timeout_s)
    print(outcome.summary(), file=out)
    if outcome.status is not None and not outcome.delivered and outcome.body:
        print(f"answer: {_preview(outcome.body)}", file=out)
    print(verdict(outcome, url=url, timeout_s=timeout_s), file=out)
    return 0 if outcome.delivered else 1


def _preview(body: bytes) -> str:
    text = printable(" ".join(body[:300].decode("utf-8", "replace").split()))
    return text + (" ..." if len(body) > 300 else "")


@dataclass(frozen=True, slots=True)
class CheckCase:
    """One request of ``send --check`` and what a correct endpoint does with it.

    Attributes:
        description: What the request is, for the table.
        body: The body to post.
        headers: The Tower headers to send with it.
        accept: Whether a correct endpoint answers 200 (else it must answer 4xx).
        reason: The ``error`` code tower-webhooks' own adapters answer (``"ok"`` for a 200).
    """

    description: str
    body: bytes
    headers: dict[str, str]
    accept: bool
    reason: str


def check_cases(secret: Secret, secret_encoding: SecretEncoding, body: bytes) -> list[CheckCase]:
    """The genuine request, then the forgeries of ``tower_webhooks.testing``, which a correct endpoint rejects."""
    now = current_time_ms()
    genuine = sign(secret, body, timestamp_ms=now, secret_encoding=secret_encoding)
    forged = forge(
        secret, body, now_ms=now, outside_ms=_HOUR_MS, other_secret=generate_secret(), secret_encoding=secret_encoding
    )
    return [
        CheckCase("signed as Tower signs it", body, genuine, True, "ok"),
        *(
            CheckCase(_DESCRIPTIONS[forgery.name], forgery.body, forgery.headers, False, forgery.reason)
            for forgery in forged
        ),
    ]


@dataclass(frozen=True, slots=True)
class CheckRow:
    """One row of the ``send --check`` table: a request, the endpoint's answer, and what is wrong with it.

    Attributes:
        case: The request and what a correct endpoint does with it.
        outcome: What the endpoint did.
        problem: What is wrong with the answer, or ``None`` if the row passes.
    """

    case: CheckCase
    outcome: Outcome
    problem: str | None


def run_check(url: str, cases: list[CheckCase], *, timeout_s: float, secret_source: str, out: TextIO) -> int:
    """Post every case and print the table; return 0 if the endpoint handled all correctly, else 1.

    Args:
        url: The endpoint.
        cases: The requests and what a correct endpoint does with each.
        timeout_s: The time each answer must arrive in, whole.
        secret_source: Where this command's secret came from, for the hint when the endpoint's differs
            (such as ``"$TOWER_WEBHOOK_SECRET, read as base64"``).
        out: Where the table goes.
    """
    rows = check_endpoint(url, cases, timeout_s=timeout_s, out=out)
    passed = sum(row.problem is None for row in rows)
    if passed < len(cases):
        print(f"\n{passed} of {len(cases)} checks passed.", file=out)
        if any(row.outcome.error_code() == "receiver_misconfigured" for row in rows):
            print(
                "hint: the endpoint answered 500 receiver_misconfigured: its own webhook secret is missing or "
                "invalid, so it can verify nothing; set it to the secret Tower showed (the endpoint's server log "
                "names the setting to fix) and run this check again",
                file=out,
            )
        elif _likely_another_secret(rows):
            print(
                "hint: the endpoint refused every request, the genuine one too: the endpoint and this command most "
                f"likely hold different secrets (this command's is {secret_source}: compare it with the endpoint's, "
                "or choose another with --secret-env, --secret-file or --secret-encoding), or the endpoint "
                "re-serialises the body before verifying it (it must verify the raw bytes it received)",
                file=out,
            )
        return 1
    print(
        f"\n{passed} of {len(cases)} checks passed: the endpoint accepts Tower's requests and rejects forged ones.",
        file=out,
    )
    return 0


def _likely_another_secret(rows: list[CheckRow]) -> bool:
    """Whether the endpoint refused the genuine request for its signature and rightly refused every forged one.

    That is what an endpoint verifying with another secret does. Ours names the mismatch in its JSON
    answer; another endpoint's 400, 401 or 403 counts too, unless it names one of our other reasons
    (a timestamp out of tolerance, a missing header), which another secret would not explain.
    """
    genuine = [row.outcome for row in rows if row.case.accept]
    other_reasons = {row.case.reason for row in rows} - {"signature_mismatch"}
    return (
        bool(genuine)
        and all(row.problem is None for row in rows if not row.case.accept)
        and all(
            outcome.failure is None and outcome.status in (400, 401, 403) and outcome.error_code() not in other_reasons
            for outcome in genuine
        )
    )


def check_endpoint(
    url: str, cases: list[CheckCase], *, timeout_s: float, out: TextIO, exact_reasons: bool = False
) -> list[CheckRow]:
    """Post every case, print one table row each, and return the rows (each ``problem`` is ``None`` if it passed).

    Args:
        url: The endpoint.
        cases: The requests and what a correct endpoint does with each.
        timeout_s: The time each answer must arrive in, whole.
        out: Where the table goes.
        exact_reasons: Also require the ``error`` code tower-webhooks' adapters give (for the demo,
            whose endpoint is ours); other endpoints need only answer 4xx to a bad request.
    """
    print(f"{'result':<6}  {'expected':<24}  {'got':<28}  request", file=out)
    rows = []
    for case in cases:
        outcome = deliver(url, case.body, case.headers, timeout_s=timeout_s)
        problem = _problem(case, outcome, exact_reasons=exact_reasons)
        rows.append(CheckRow(case, outcome, problem))
        expected = f"{'200' if case.accept else '4xx'} {case.reason}"
        got = f"{outcome.status or '-'} {printable(outcome.error_code() or _phrase(outcome.status))}"
        note = f"  <- {problem}" if problem else ""
        result = "pass" if problem is None else "FAIL"
        print(
            f"{result:<6}  {expected:<24}  {got:<28}  {case.description} [{len(case.body):,} B, "
            f"{_duration(outcome.total_s)}]{note}",
            file=out,
        )
    return rows


def _problem(case: CheckCase, outcome: Outcome, *, exact_reasons: bool) -> str | None:
    """What is wrong with the endpoint's answer to ``case``, or ``None`` if it is right."""
    status = outcome.status or 0
    if outcome.failure is not None or 300 <= status < 400:
        return outcome.failure or f"a redirect to {printable(str(outcome.location))}: Tower never follows redirects"
    if case.accept:
        return None if status == 200 else f"Tower counts only an exact 200, so it retries a {status}"
    if 200 <= status < 300:
        return "accepted a request that is not Tower's"
    if status >= 500:
        misconfigured = outcome.error_code() == "receiver_misconfigured"
        return (
            "the endpoint's own secret is missing or invalid: set it (its server log names the setting)"
            if misconfigured
            else "a server error, not a rejection: answer 400"
        )
    if exact_reasons and outcome.error_code() != case.reason:
        return f"rejected for {outcome.error_code()!r}, expected {case.reason!r}"
    return None
