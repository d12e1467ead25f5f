"""The ``tower-webhooks`` command line: argument parsing and dispatch only (standard library only).

Exit codes: 0 success, 1 a request was rejected, a check failed or ``listen`` could not start,
2 the command itself was wrong (bad arguments, no secret, an unreadable file).
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

from ._capture import CaptureError
from ._commands import run_sign, run_verify
from ._demo import run_demo
from ._inputs import DEFAULT_SECRET_ENV, UsageError, read_body, read_secret
from ._listen import run_listen
from ._receiver import DEFAULT_READ_TIMEOUT_S
from ._samples import SAMPLE_NAMES
from ._secret import Secret, generate_secret
from ._send import TOWER_TIMEOUT_S, check_cases, check_url, run_check, run_send
from ._verify import DEFAULT_TOLERANCE_MS, Verifier
from .exceptions import InvalidSecretError

__all__ = ["main"]

_DEFAULT_SEND_SAMPLE = "test-event.json"  # what Tower's own Test button sends

_EXIT_CODES = """exit status:
  0  success (signed, accepted, delivered, every check passed)
  1  the request was rejected, not delivered, or a check failed
  2  usage error: bad arguments, no or a bad secret, an unreadable or invalid file"""

_SECRET_HELP = f"""the secret:
  Read from the environment variable {DEFAULT_SECRET_ENV} (or the one --secret-env names),
  or from the file --secret-file names; never from an argument, which `ps` would show.
  It is never printed."""


def _wrap(text: str) -> str:
    """Wrap a description's paragraphs by hand: the raw formatter keeps the examples' lines, and so every line."""
    paragraphs = text.split("\n\n")
    return "\n\n".join(textwrap.fill(paragraph, width=88, break_on_hyphens=False) for paragraph in paragraphs)


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def _secret_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    source = options.add_mutually_exclusive_group()
    source.add_argument(
        "--secret-env",
        metavar="NAME",
        default=DEFAULT_SECRET_ENV,
        help=f"environment variable that holds the secret (default: {DEFAULT_SECRET_ENV})",
    )
    source.add_argument(
        "--secret-file", metavar="PATH", help="file that holds the secret (surrounding whitespace ignored)"
    )
    options.add_argument(
        "--secret-encoding",
        choices=("base64", "hex", "raw"),
        default="base64",
        help="how the secret is written: base64 is what Tower shows (default: base64)",
    )
    return options


def _body_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_mutually_exclusive_group()
    group.add_argument("--body", metavar="FILE", help="file holding the exact body bytes; - reads stdin")
    group.add_argument(
        "--sample", metavar="NAME", choices=SAMPLE_NAMES, help=f"a built-in sample body: {', '.join(SAMPLE_NAMES)}"
    )
    return options


def _whole(low: int, high: int, unit: str) -> Callable[[str], int]:
    """An argument type for a whole number from ``low`` to ``high``, with a message naming the unit."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number of {unit}: {value!r}") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"{value} is not from {low:,} to {high:,} {unit}")
        return number

    return parse


_tolerance = _whole(1_000, 10**15, "milliseconds (at least one second)")
_timestamp_ms = _whole(0, 10**16 - 1, "Unix milliseconds")
_port = _whole(0, 65_535, "(a TCP port)")
_count = _whole(1, 10**9, "deliveries")


def _url(value: str) -> str:
    try:
        return check_url(value)
    except UsageError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


_MAX_SECONDS = 3600  # a timeout of an hour is a mistake well before it is a wait


def _positive_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not 0 < seconds <= _MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most {_MAX_SECONDS} seconds")
    return seconds


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    *,
    help: str,
    description: str,
    epilog: str,
    parents: Sequence[argparse.ArgumentParser] = (),
) -> argparse.ArgumentParser:
    """Add a command's parser, which knows itself so that an unknown argument is shown with its usage.

    Abbreviations are off (on every parser: argparse applies ``allow_abbrev`` per parser), so a
    misspelt ``--chec`` is an error rather than silently taken for ``--check``.
    """
    command = commands.add_parser(
        name,
        help=help,
        description=description,
        epilog=epilog,
        parents=parents,
        formatter_class=_formatter,
        allow_abbrev=False,
    )
    command.set_defaults(subparser=command)
    return command


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tower-webhooks",
        formatter_class=_formatter,
        allow_abbrev=False,
        description=_wrap(
            "Sign, verify and test Tower webhooks: check an endpoint the way Tower judges it, "
            "capture real deliveries, and find out why a signature does not match."
        ),
        epilog=f"{_SECRET_HELP}\n\n{_EXIT_CODES}\n\nRun `tower-webhooks COMMAND --help` for each command's options.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    secret = _secret_options()

    sign = _command(
        commands,
        "sign",
        parents=[secret, _body_options()],
        help="print the two headers Tower would send with a body",
        description=_wrap(
            "Sign a body the way Tower does and print the X-Tower-Webhook-Timestamp and "
            "X-Tower-Signature headers, or with --curl a ready curl command that posts it. "
            "The body comes from --body FILE, --sample NAME, or stdin."
        ),
        epilog=f"""examples:
  export {DEFAULT_SECRET_ENV}="$(tower-webhooks secret)"
  tower-webhooks sign --body event.json
  tower-webhooks sign --sample run-finished.json --curl http://127.0.0.1:8000/webhooks/tower | sh
  tower-webhooks sign --body event.json --timestamp-ms 1764468000000

{_SECRET_HELP}

{_EXIT_CODES}""",
    )
    sign.add_argument(
        "--timestamp-ms",
        metavar="MS",
        type=_timestamp_ms,
        help="sign with this Unix time in milliseconds (default: now)",
    )
    sign.add_argument("--curl", metavar="URL", help="print a curl command that posts the signed body to URL")
    sign.set_defaults(handler=_sign)

    verify = _command(
        commands,
        "verify",
        parents=[secret],
        help="check one request's signature and timestamp; --explain says why it fails",
        description=_wrap(
            "Verify one request, given as its two header values and its body, or as a capture "
            "file from `listen --save`. Prints 'accepted' or 'rejected' with the reason. A capture's "
            "timestamp is checked against the time it was received. With --explain, a rejected signature "
            "is checked against the usual mistakes (the secret not decoded or decoded as hex/base64, a "
            "trailing newline added or removed, other whitespace at either end, CRLF line endings, a UTF-8 "
            "BOM, re-serialised JSON, the timestamp in seconds, a different timestamp) and the one that "
            "explains it is named. "
            "Neither the secret nor the expected signature is ever printed."
        ),
        epilog=f"""examples:
  tower-webhooks verify --timestamp 1764468000000 --signature 'kW3...==' --body body.json --explain
  tower-webhooks verify --capture captures/20261130T020000123Z-0001-400.json --explain

{_SECRET_HELP}

{_EXIT_CODES}""",
    )
    verify.set_defaults(handler=_verify)
    request = verify.add_argument_group("the request (either a capture, or all three of timestamp, signature, body)")
    request.add_argument("--capture", metavar="FILE", type=Path, help="a capture file written by `listen --save`")
    request.add_argument("--timestamp", metavar="DIGITS", help="the X-Tower-Webhook-Timestamp header value")
    request.add_argument("--signature", metavar="BASE64", help="the X-Tower-Signature header value")
    request.add_argument("--body", metavar="FILE", help="file holding the exact body bytes; - reads stdin")
    verify.add_argument("--explain", action="store_true", help="on a rejection, find and name the mistake")
    window = verify.add_mutually_exclusive_group()
    window.add_argument(
        "--tolerance-ms",
        metavar="MS",
        type=_tolerance,
        default=DEFAULT_TOLERANCE_MS,
        help=f"how far the timestamp may be from the clock (default: {DEFAULT_TOLERANCE_MS})",
    )
    window.add_argument("--no-tolerance", action="store_true", help="skip the time check (for old requests only)")

    send = _command(
        commands,
        "send",
        parents=[secret, _body_options()],
        help="post a signed request to an endpoint and judge the answer as Tower does",
        description=_wrap(
            "Sign a body now and POST it to URL over a fresh connection, then judge the answer "
            "as Tower does: only an exact 200 whose whole answer arrives within the timeout counts as "
            "delivered. 201, 204, other codes and timeouts are failures (Tower retries them); redirects "
            "are never followed and their Location is shown (a missing or extra trailing slash shows up "
            "this way). Prints the time to the headers and to the last byte.\n\n"
            "With --check, also sends forged and broken requests (a changed body, a flipped signature "
            "bit, another secret, a replay from an hour ago, a timestamp an hour ahead, a timestamp in "
            "seconds, each header missing) and prints a table: a correct endpoint answers 200 to the "
            "genuine request and 4xx to every other.\n\n"
            f"The body is --body FILE, stdin (--body -), or --sample NAME (default: {_DEFAULT_SEND_SAMPLE})."
        ),
        epilog=f"""examples:
  tower-webhooks send http://127.0.0.1:8000/webhooks/tower
  tower-webhooks send https://example.com/webhooks/tower --body event.json
  tower-webhooks send --check http://127.0.0.1:8000/webhooks/tower

{_SECRET_HELP}

{_EXIT_CODES}""",
    )
    send.add_argument("url", metavar="URL", type=_url, help="the endpoint, http:// or https://")
    send.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_positive_seconds,
        default=TOWER_TIMEOUT_S,
        help=f"time for the whole answer to arrive, at most {_MAX_SECONDS} (default: {TOWER_TIMEOUT_S:g}, Tower's)",
    )
    send.add_argument("--check", action="store_true", help="also send forged requests and print a pass/fail table")
    send.set_defaults(handler=_send)

    listen = _command(
        commands,
        "listen",
        parents=[secret],
        help="run a local receiver that verifies and prints (and saves) each delivery",
        description=_wrap(
            "Run a standard-library HTTP receiver that verifies every POST with the secret, "
            "answers exactly 200 or 400 with a JSON reason (like the adapters), and prints one line per "
            "delivery. With --save DIR, each delivery (headers, raw body, verdict) is written as a "
            "capture file that `verify --capture` reads back. Put a tunnel (such as ngrok) in front of "
            "it to capture real Tower deliveries. Stops on Ctrl-C, or after --count deliveries."
        ),
        epilog=f"""examples:
  tower-webhooks listen
  tower-webhooks listen --port 9000 --save captures/

{_SECRET_HELP}

exit status:
  0  stopped by Ctrl-C, or after --count deliveries
  1  could not start: the port is in use (pick another --port), or --save DIR cannot be made
  2  usage error: bad arguments, no or a bad secret""",
    )
    listen.set_defaults(handler=_listen)
    listen.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    listen.add_argument(
        "--port", type=_port, default=8000, help="port to listen on; 0 picks a free one (default: 8000)"
    )
    listen.add_argument("--save", metavar="DIR", type=Path, help="write each delivery as a capture file in DIR")
    listen.add_argument("--count", metavar="N", type=_count, help="stop after N deliveries")
    listen.add_argument(
        "--tolerance-ms",
        metavar="MS",
        type=_tolerance,
        default=DEFAULT_TOLERANCE_MS,
        help=f"how far the timestamp may be from the clock (default: {DEFAULT_TOLERANCE_MS})",
    )
    listen.add_argument(
        "--read-timeout",
        metavar="SECONDS",
        type=_positive_seconds,
        default=DEFAULT_READ_TIMEOUT_S,
        help=(
            "time each request has to arrive whole, from the connection (or the previous answer) to its last "
            "byte; a slower client is disconnected, with 408 if its body was cut short "
            f"(at most {_MAX_SECONDS}; default: {DEFAULT_READ_TIMEOUT_S:g}, Tower's own limit)"
        ),
    )

    secret_command = _command(
        commands,
        "secret",
        help="print a fresh random secret (base64, like Tower's)",
        description=_wrap(
            "Print a fresh random secret: 64 random bytes, base64-encoded like the ones Tower "
            "shows. For tests and local tools; in production the secret comes from Tower."
        ),
        epilog=f"""example:
  export {DEFAULT_SECRET_ENV}="$(tower-webhooks secret)"

exit status:
  0  a secret was printed
  2  usage error: bad arguments""",
    )
    secret_command.set_defaults(handler=_secret)
    demo = _command(
        commands,
        "demo",
        help="run `listen` and `send --check` against each other on 127.0.0.1",
        description=_wrap(
            "Start the `listen` receiver on 127.0.0.1 with a fresh secret, run `send --check` "
            "against it with each shipped sample body, and print one line per request with its verdict. "
            "Exits 0 only if every verdict is the expected one."
        ),
        epilog="""exit status:
  0  every request got the expected verdict
  1  a request got another verdict, or the receiver answered a different number of requests
  2  usage error: bad arguments""",
    )
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 success, 1 rejected or failed, 2 usage error)."""
    try:
        try:
            # A command's parser passes what it does not know up to the top level, whose own error
            # would show the top-level usage: the command's parser reports it instead, with its usage.
            arguments, unknown = _parser().parse_known_args(argv)
            if unknown:
                arguments.subparser.error(f"unrecognized arguments: {' '.join(unknown)}")
            handler: Callable[[argparse.Namespace], int] = arguments.handler
            return handler(arguments)
        finally:
            sys.stdout.flush()  # a reader that went away shows up here, not in the interpreter's exit
    except (UsageError, CaptureError, InvalidSecretError) as error:
        print(f"tower-webhooks: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130  # the shell's code for a command stopped by Ctrl-C
    except BrokenPipeError:
        # The reader closed stdout (`| head`): stop quietly, and point stdout at /dev/null so that
        # the interpreter's own flush at exit does not fail again (the recipe in the `signal` docs).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # the shell's code for a command stopped by SIGPIPE


def _secret(arguments: argparse.Namespace) -> int:
    print(generate_secret())
    return 0


def _demo(arguments: argparse.Namespace) -> int:
    return run_demo(sys.stdout)


def _listen(arguments: argparse.Namespace) -> int:
    verifier = Verifier(
        _read_secret(arguments), tolerance_ms=arguments.tolerance_ms, secret_encoding=arguments.secret_encoding
    )
    return run_listen(
        host=arguments.host,
        port=arguments.port,
        verifier=verifier,
        save_dir=arguments.save,
        count=arguments.count,
        read_timeout_s=arguments.read_timeout,
        out=sys.stdout,
    )


def _sign(arguments: argparse.Namespace) -> int:
    secret = _read_secret(arguments)  # first: a missing secret is the error to see, before any note on the body
    return run_sign(
        read_body(path=arguments.body, sample=arguments.sample, to_sign=True),
        secret=secret,
        secret_encoding=arguments.secret_encoding,
        timestamp_ms=arguments.timestamp_ms,
        curl_url=arguments.curl,
        body_path=arguments.body,
        out=sys.stdout,
    )


def _send(arguments: argparse.Namespace) -> int:
    secret, encoding = _read_secret(arguments), arguments.secret_encoding
    sample = arguments.sample
    if sample is None and arguments.body is None:
        sample = _DEFAULT_SEND_SAMPLE
    body = read_body(path=arguments.body, sample=sample, to_sign=True)
    if arguments.check:
        source = (
            f"the file {arguments.secret_file}" if arguments.secret_file is not None else f"${arguments.secret_env}"
        )
        return run_check(
            arguments.url,
            check_cases(secret, encoding, body),
            timeout_s=arguments.timeout,
            secret_source=f"{source}, read as {encoding}",
            out=sys.stdout,
        )
    label = f"sample {sample}" if sample else ("stdin" if arguments.body == "-" else arguments.body)
    return run_send(
        arguments.url, body, label, secret=secret, secret_encoding=encoding, timeout_s=arguments.timeout, out=sys.stdout
    )


def _verify(arguments: argparse.Namespace) -> int:
    given = [arguments.timestamp, arguments.signature, arguments.body]
    if arguments.capture is not None and any(value is not None for value in given):
        arguments.subparser.error("give either --capture FILE, or --timestamp, --signature and --body, not both")
    if arguments.capture is None and any(value is None for value in given):
        arguments.subparser.error("give --timestamp, --signature and --body (or --capture FILE)")
    return run_verify(
        secret=_read_secret(arguments),
        secret_encoding=arguments.secret_encoding,
        tolerance_ms=None if arguments.no_tolerance else arguments.tolerance_ms,
        capture_path=arguments.capture,
        timestamp=arguments.timestamp,
        signature=arguments.signature,
        body=b"" if arguments.capture is not None else read_body(path=arguments.body, sample=None),
        show_explanation=arguments.explain,
        out=sys.stdout,
    )


def _read_secret(arguments: argparse.Namespace) -> Secret:
    return read_secret(env=arguments.secret_env, file=arguments.secret_file)
