"""The verification benchmark: every contender and floor, over each body, interleaved."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from ._timing import Case, interleaved_minimum
from .bodies import bodies
from .contenders import PEERS, Contender, PeerMissingError, ours, peer

__all__ = ["ContenderInfo", "SizeResult", "VerificationResults", "run_verification"]


@dataclass(frozen=True)
class ContenderInfo:
    """What the report needs to know about one library, beyond its times."""

    library: str
    version: str
    calls: dict[str, str]  # name: what it is given ("header values", "header mapping", ...)
    floor: str
    floor_label: str


@dataclass(frozen=True)
class SizeResult:
    """Seconds per call of every case, over one body."""

    label: str
    size: int
    seconds: dict[str, float]


@dataclass
class VerificationResults:
    """Everything measured, with the peers that could not be measured and why."""

    contenders: list[ContenderInfo] = field(default_factory=list)
    sizes: list[SizeResult] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def _info(contender: Contender) -> ContenderInfo:
    return ContenderInfo(
        library=contender.library,
        version=contender.version,
        calls={call.case.name: call.takes for call in contender.calls},
        floor=contender.floor.name,
        floor_label=contender.floor_label,
    )


def run_verification(*, rounds: int, batch_seconds: float) -> VerificationResults:
    """Measure tower-webhooks, its floors and every installed peer, body size by body size.

    Each body's contenders are signed just before they are timed, so every timestamp is fresh
    and no call is measured failing its tolerance check.
    """
    results = VerificationResults()
    for body in bodies():
        ours_contender, sha512_floor = ours(body.data)
        contenders = [ours_contender]
        for name in PEERS:
            if name in results.skipped:
                continue
            try:
                contenders.append(peer(name, body.data))
            except PeerMissingError as error:
                results.skipped[name] = str(error)
        if not results.contenders:
            results.contenders = [_info(contender) for contender in contenders]
        cases: list[Case] = [sha512_floor]
        for contender in contenders:
            cases += [contender.floor, *(call.case for call in contender.calls)]
        print(f"  verification, {body.label}: {len(cases)} cases x {rounds} rounds", file=sys.stderr, flush=True)
        seconds = interleaved_minimum(cases, rounds=rounds, batch_seconds=batch_seconds)
        results.sizes.append(SizeResult(body.label, len(body.data), seconds))
    return results
