"""Interleaved timing: the minimum of many short batches, with every case measured in each round.

pyperf runs one benchmark after another, so when a neighbour starts a test suite halfway through,
the cases measured later look slower and every ratio drifts. Here each round times one short batch
of every case, in an order shuffled anew each round, and keeps each case's fastest batch: a batch
that nobody interrupted is the closest to the true cost, and the cases share the same moments of
the run. The order is shuffled rather than rotated because a rotation keeps each case behind the
same neighbour in every round, and what a neighbour leaves in the CPU caches (a peer decoding a
1 MiB body to text, say) would then favour or burden one case throughout.
"""

from __future__ import annotations

import math
import random
import timeit
from dataclasses import dataclass, field

__all__ = ["Case", "interleaved_minimum"]


@dataclass(frozen=True)
class Case:
    """One timed statement and the names it uses.

    Attributes:
        name: How the report names it.
        stmt: The statement timed; everything it needs is prepared in ``namespace`` beforehand.
        namespace: Globals for ``stmt`` (the message of a floor is joined here, outside the timing).
    """

    name: str
    stmt: str
    namespace: dict[str, object] = field(repr=False)


def _loops_for(timer: timeit.Timer, batch_seconds: float) -> int:
    """How many calls fill one batch of about ``batch_seconds`` (at least one)."""
    if batch_seconds <= 0:
        return 1
    loops = 1
    while True:
        elapsed = min(timer.timeit(loops) for _ in range(3))
        if elapsed >= batch_seconds / 4:
            return max(1, math.ceil(loops * batch_seconds / elapsed))
        loops *= 4


def interleaved_minimum(cases: list[Case], *, rounds: int, batch_seconds: float) -> dict[str, float]:
    """Return each case's fastest time per call, in seconds, over ``rounds`` interleaved rounds.

    Args:
        cases: The statements to compare; names must be unique.
        rounds: How many batches of each case to time.
        batch_seconds: About how long one batch lasts; 0 times a single call per batch (smoke runs).
    """
    timers = {case.name: timeit.Timer(case.stmt, globals=case.namespace) for case in cases}
    if len(timers) != len(cases):
        raise ValueError("case names must be unique")
    loops = {name: _loops_for(timer, batch_seconds) for name, timer in timers.items()}
    best = dict.fromkeys(timers, math.inf)
    names = list(timers)
    order = random.Random(0)  # noqa: S311 - a timing order, not a secret; seeded, so runs repeat it
    for _ in range(rounds):
        order.shuffle(names)
        for name in names:
            per_call = timers[name].timeit(loops[name]) / loops[name]
            best[name] = min(best[name], per_call)
    return best
