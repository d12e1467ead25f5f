"""One small app per framework, served by a real server in the adapter benchmark.

Each serves the same endpoint several times: ``/plain`` reads the body and answers 200,
``/verified`` does the same behind the adapter, and two floors of what verification can cost in
that server do it with a little more work of their own: ``/by-hand`` checks the request with
``check_by_hand``, and ``/hash-only`` only hashes the signed bytes with ``hash_only``, as the
verification benchmark's ``hashlib.sha512`` floor does. The secret comes from
``TOWER_BENCH_SECRET`` in the environment. Apps carry no other middleware, so the share
verification takes is as large as it can be.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

__all__ = ["SECRET_VARIABLE", "ByHandRefusedError", "check_by_hand", "hash_only"]

SECRET_VARIABLE = "TOWER_BENCH_SECRET"

_TOLERANCE_MS = 300_000


class ByHandRefusedError(Exception):
    """The hand-written check refused the request (the app answers 400)."""


def check_by_hand(key: bytes, timestamp: str | None, signature: str | None, body: bytes) -> None:
    """What a careful receiver writes without a library: the timestamp's age, then the HMAC in constant time.

    The same check as the ``hmac.digest`` floor of the verification benchmark, with the header
    look-ups and the clock a real endpoint needs, and nothing else: no typed errors, no hints.

    Raises:
        ByHandRefusedError: A header is missing, the timestamp is stale, or the signature differs.
    """
    if timestamp is None or signature is None or not timestamp.isdigit():
        raise ByHandRefusedError
    if abs(time.time_ns() // 1_000_000 - int(timestamp)) > _TOLERANCE_MS:
        raise ByHandRefusedError
    expected = base64.b64encode(hmac.digest(key, timestamp.encode("ascii") + body, "sha512"))
    if not hmac.compare_digest(expected, signature.encode("ascii", "replace")):
        raise ByHandRefusedError


def hash_only(timestamp: str | None, body: bytes) -> bytes:
    """The least any verifier of Tower's signature must do: read the timestamp and hash what was signed.

    ``hashlib.sha512`` of the timestamp and the body, with no key, no comparison and no check:
    not a verification at all, only its physical floor, as in the verification benchmark.
    """
    return hashlib.sha512((timestamp or "").encode("ascii", "replace") + body).digest()
