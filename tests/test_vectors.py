"""Known answers computed independently of this code (tests/data/vectors.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tower_webhooks import Verifier, sign, verify
from tower_webhooks._samples import sample_body
from tower_webhooks._secret import decode_secret

_VECTORS: list[dict[str, Any]] = json.loads((Path(__file__).parent / "data" / "vectors.json").read_text())["vectors"]


def _body(vector: dict[str, Any]) -> bytes:
    if "body_file" in vector:
        return sample_body(Path(vector["body_file"]).name)
    return str(vector["body_utf8"]).encode("utf-8")


@pytest.fixture(params=_VECTORS, ids=[vector["name"] for vector in _VECTORS])
def vector(request: pytest.FixtureRequest) -> dict[str, Any]:
    return dict(request.param)


def test_vector_count() -> None:
    """Every vector in the shared file is exercised."""
    assert len(_VECTORS) == 4


def test_secret_decodes_to_the_published_key(vector: dict[str, Any]) -> None:
    """The secret decodes to exactly the key the vector names."""
    assert decode_secret(vector["secret"], vector["secret_encoding"]).hex() == vector["key_hex"]


def test_verify_accepts_the_vector(vector: dict[str, Any]) -> None:
    """verify() accepts the vector's signature at the vector's own time."""
    webhook = verify(
        vector["secret"],
        vector["timestamp"],
        vector["signature"],
        _body(vector),
        now_ms=int(vector["timestamp"]),
        secret_encoding=vector["secret_encoding"],
    )
    assert webhook.body == _body(vector)
    assert webhook.timestamp_ms == int(vector["timestamp"])


def test_verifier_accepts_the_vector_as_bytes_headers(vector: dict[str, Any]) -> None:
    """Verifier.verify_headers accepts the vector given ASGI-style, as byte pairs."""
    verifier = Verifier(vector["secret"], clock=lambda: int(vector["timestamp"]))
    headers = [
        (b"x-tower-webhook-timestamp", vector["timestamp"].encode()),
        (b"x-tower-signature", vector["signature"].encode()),
    ]
    assert verifier.verify_headers(headers, _body(vector)).timestamp_ms == int(vector["timestamp"])


def test_sign_reproduces_the_vector(vector: dict[str, Any]) -> None:
    """sign() produces exactly the published signature."""
    headers = sign(vector["secret"], _body(vector), timestamp_ms=int(vector["timestamp"]))
    assert headers == {"X-Tower-Webhook-Timestamp": vector["timestamp"], "X-Tower-Signature": vector["signature"]}
