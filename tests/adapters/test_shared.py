"""What the adapters share: option checks, the status of each failure, and imports kept optional."""

from __future__ import annotations

import subprocess
import sys

import pytest
from starlette.responses import PlainTextResponse

from tests.values import SECRET
from tower_webhooks import (
    BodyConsumedError,
    BodyTooLargeError,
    BodyUnavailableError,
    InvalidSecretError,
    SignatureMismatchError,
    TowerWebhooksError,
    WebhookVerificationError,
)
from tower_webhooks.adapters._shared import Guard, body_consumed, body_unavailable, parse_content_length, reply_for
from tower_webhooks.adapters.starlette import TowerWebhook, TowerWebhookMiddleware


def guard(**options: object) -> Guard:
    settings: dict[str, object] = {"secret": lambda: None, "setting": "S", "tolerance_ms": 300_000}
    settings["max_body_bytes"] = 64
    return Guard(**{**settings, **options})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "status", "reason"),
    [
        (SignatureMismatchError("forged"), 400, "signature_mismatch"),
        (BodyTooLargeError("big", max_body_bytes=1), 413, "body_too_large"),
        (body_unavailable("the server drops it"), 411, "body_unavailable"),
        (body_consumed("request.POST"), 500, "body_consumed"),
        (InvalidSecretError("unset"), 500, "receiver_misconfigured"),
    ],
)
def test_each_failure_has_its_status(error: Exception, status: int, reason: str) -> None:
    """The sender's faults are 4xx; the receiver's own (consumed body, bad secret) are 500."""
    reply = reply_for(error)  # type: ignore[arg-type]
    assert (reply.status, reply.reason) == (status, reason)


def test_a_misconfigured_secret_is_not_described_to_the_sender() -> None:
    """The 500 body says the receiver is misconfigured; the details go only to the log."""
    assert "unset" not in reply_for(InvalidSecretError("unset")).detail


def test_the_size_error_carries_its_limit_and_setting() -> None:
    """BodyTooLargeError names the limit and which setting set it, as attributes and in the message."""
    error = guard().too_large(100, limit=50, setting="MAX_CONTENT_LENGTH")
    assert (error.max_body_bytes, error.setting, error.reason) == (50, "MAX_CONTENT_LENGTH", "body_too_large")
    assert "100 bytes, over the limit of 50 bytes set by the framework setting MAX_CONTENT_LENGTH" in error.message


def test_body_errors_are_in_the_public_tree() -> None:
    """A body the sender got wrong is a verification error; a body the receiver consumed is not."""
    assert issubclass(BodyTooLargeError, WebhookVerificationError)
    assert issubclass(BodyUnavailableError, WebhookVerificationError)
    assert issubclass(BodyConsumedError, TowerWebhooksError)
    assert not issubclass(BodyConsumedError, WebhookVerificationError)


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"max_body_bytes": 0}, ValueError),
        ({"max_body_bytes": True}, TypeError),
        ({"max_body_bytes": 1.5}, TypeError),
        ({"tolerance_ms": 5}, ValueError),
        ({"secret": "c2hvcnQ="}, InvalidSecretError),
        ({"dedupe": "redis://localhost"}, TypeError),
    ],
)
def test_bad_options_fail_when_the_adapter_is_set_up(options: dict[str, object], error: type[Exception]) -> None:
    """A wrong option is a programmer's error raised at start-up, not at the first delivery."""
    with pytest.raises(error):
        guard(**options)


def test_a_malformed_content_length_is_left_to_the_server() -> None:
    """Only digits are a declared length; servers refuse anything else before the adapter runs."""
    guard().check_length("12x")
    with pytest.raises(BodyTooLargeError):
        guard().check_length(" 65 ")


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)


def test_the_adapters_package_imports_no_framework() -> None:
    """import tower_webhooks.adapters pulls in no framework, so the core stays dependency-free."""
    result = python(
        "import sys, tower_webhooks, tower_webhooks.adapters; "
        "print(sorted({'flask', 'django', 'starlette', 'fastapi'} & set(sys.modules)))"
    )
    assert result.stdout.strip() == "[]", result.stderr


@pytest.mark.parametrize(
    ("module", "framework"), [("flask", "flask"), ("django", "django"), ("starlette", "starlette")]
)
def test_a_missing_framework_names_the_extra_to_install(module: str, framework: str) -> None:
    """Without its framework, an adapter's ImportError says which extra to install, in one line."""
    result = python(f"import sys; sys.modules[{framework!r}] = None; import tower_webhooks.adapters.{module}")
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == (
        f"ImportError: tower_webhooks.adapters.{module} needs {framework.capitalize()}: "
        f"pip install 'tower-webhooks[{framework}]'" + (" (or [fastapi])" if module == "starlette" else "")
    )


def test_a_broken_dependency_of_the_framework_is_not_hidden() -> None:
    """Regression: Flask installed but one of its own imports broken said 'install Flask', hiding the cause."""
    result = python("import sys; sys.modules['markupsafe'] = None; import tower_webhooks.adapters.flask")
    assert "markupsafe" in result.stderr.strip().splitlines()[-1]
    assert "pip install" not in result.stderr


def test_no_adapter_object_shows_the_secret() -> None:
    """The reprs of the adapters' objects never hold the secret."""
    objects = [
        guard(secret=SECRET),
        TowerWebhook(secret=SECRET),
        TowerWebhookMiddleware(PlainTextResponse("x"), secret=SECRET, paths=["/"]),
    ]
    assert all(SECRET not in repr(one) and SECRET[:12] not in repr(one) for one in objects)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12),
        (" 7 ", 7),
        (None, None),
        ("", None),
        ("\u00b2", None),
        ("\u0661", None),
        ("9" * 5000, None),
        ("-1", None),
        (" \t012\t ", 12),
        ("9" * 19, int("9" * 19)),
        ("9" * 20, None),
        ("+12", None),
        ("1_2", None),
        ("\u008512", None),
        ("12\u00a0", None),
        ("\u300012", None),
    ],
)
def test_parse_content_length_accepts_only_ascii_digits(value: str | None, expected: int | None) -> None:
    """Only plain ASCII digits of a sane length count as a declared length; nothing raises.

    Only spaces and tabs are stripped. Regression: Unicode whitespace was stripped too, so
    ``"\\x8512"`` read as 12 where Werkzeug reads 0 and hands over no body.
    """
    assert parse_content_length(value) == expected
