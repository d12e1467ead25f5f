"""The request bodies every benchmark uses: the sizes the issue names, as JSON a peer can decode."""

from __future__ import annotations

from dataclasses import dataclass

from tower_webhooks._samples import sample_body

__all__ = ["SAMPLE_NAME", "Body", "bodies"]

SAMPLE_NAME = "run-finished-large.json"
_PREFIX = b'{"event_type":"bench.padding","padding":"'
_SUFFIX = b'"}'


@dataclass(frozen=True)
class Body:
    """One body to verify, and how the report names it."""

    label: str
    data: bytes


def _padded_json(size: int) -> bytes:
    # Peers decode the body as UTF-8 before hashing, so the padding is ASCII JSON like a real webhook.
    filler = size - len(_PREFIX) - len(_SUFFIX)
    return _PREFIX + b"x" * filler + _SUFFIX


def bodies() -> list[Body]:
    """0 B, 1 KiB, 16 KiB, the large shipped sample (about 265 KiB) and 1 MiB."""
    sample = sample_body(SAMPLE_NAME)
    return [
        Body("0 B", b""),
        Body("1 KiB", _padded_json(1024)),
        Body("16 KiB", _padded_json(16 * 1024)),
        Body(f"{len(sample) / 1024:.0f} KiB", sample),
        Body("1 MiB", _padded_json(1024 * 1024)),
    ]
