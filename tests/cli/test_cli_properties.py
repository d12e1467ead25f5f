"""Properties of the command line's building blocks, checked in-process for many inputs."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.values import NOW_MS, SECRET
from tower_webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, Verifier, sign
from tower_webhooks._capture import Capture, CaptureError, _parse
from tower_webhooks._explain import explain
from tower_webhooks.exceptions import WebhookVerificationError

BOM = b"\xef\xbb\xbf"
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=40)


@given(
    received_at_ms=st.integers(0, 253_402_300_799_999),
    headers=st.lists(st.tuples(header_text, header_text), max_size=6),
    body=st.binary(max_size=200),
    status=st.integers(100, 599),
    detail=st.text(max_size=40),
)
def test_capture_round_trip(
    received_at_ms: int, headers: list[tuple[str, str]], body: bytes, status: int, detail: str
) -> None:
    """Any capture written as JSON reads back equal, whatever its bytes and headers."""
    capture = Capture(received_at_ms, "POST", "/p", tuple(headers), body, status, "r", detail)
    assert _parse(json.loads(capture.to_json())) == capture


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)


VALID = json.loads(Capture(NOW_MS, "POST", "/", (("A", "b"),), b"{}", 200, "ok", "verified").to_json())


@given(field=st.sampled_from(sorted(VALID)), value=json_values, in_verdict=st.booleans())
def test_any_json_is_a_capture_or_a_capture_error(field: str, value: object, in_verdict: bool) -> None:
    """A capture with any one field replaced by any JSON reads as a Capture or fails as a CaptureError."""
    document = json.loads(json.dumps(VALID))
    if in_verdict:
        document["verdict"] = {**document["verdict"], "status": value}
    else:
        document[field] = value
    with contextlib.suppress(CaptureError):
        _parse(document)


Mistake = Callable[[bytes], tuple[bytes, bytes]]
MISTAKES: dict[str, Mistake] = {  # code: body -> (what was signed, what was given)
    "newline_added": lambda body: (body, body + b"\n"),
    "newline_removed": lambda body: (body + b"\n", body),
    "bom_added": lambda body: (body, BOM + body),
    "bom_removed": lambda body: (BOM + body, body),
    "crlf_added": lambda body: (body + b"\n", (body + b"\n").replace(b"\n", b"\r\n")),
    "crlf_removed": lambda body: ((body + b"\n").replace(b"\n", b"\r\n"), body + b"\n"),
}


def _explain(signed: bytes, given_body: bytes) -> list[str]:
    headers = sign(SECRET, signed, timestamp_ms=NOW_MS)
    verifier = Verifier(SECRET, clock=lambda: NOW_MS)
    with pytest.raises(WebhookVerificationError) as caught:
        verifier.verify(headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], given_body)
    return explain(
        caught.value,
        secret=SECRET,
        secret_encoding="base64",
        timestamp_header=headers[TIMESTAMP_HEADER],
        signature_header=headers[SIGNATURE_HEADER],
        body=given_body,
    )


@pytest.mark.parametrize("code", sorted(MISTAKES))
@given(body=st.binary(max_size=64))
def test_explain_names_any_single_mistake(code: str, body: bytes) -> None:
    """Whatever the body, a mistake made after signing is found, and it is the only one named."""
    signed, given_body = MISTAKES[code](body)
    lines = _explain(signed, given_body)
    assert lines[0].startswith("the signature matches once"), lines
    assert len(lines) == 2, lines
    found = lines[1].split("[")[1].split("]")[0]
    assert found == code, lines
