"""The printed table and the targets of issue 6, each with PASS, FAIL or SKIP and the figure behind it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .contenders import SHA512_FLOOR as SHA512

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .verification import ContenderInfo, SizeResult, VerificationResults

__all__ = ["Target", "format_report", "targets"]

OURS = "tower-webhooks"
# Each peer is compared with both Verifier.verify and verify_headers (the adapters' path):
# the worse of the two is the one held against it.
_OUR_HOT_CALLS = ("Verifier.verify", "Verifier.verify_headers")


@dataclass(frozen=True)
class Target:
    """One target of issue 6 and how this run measured against it."""

    name: str
    status: Literal["PASS", "FAIL", "SKIP"]
    measured: str


def _us(seconds: float) -> str:
    micro = seconds * 1e6
    if abs(micro) < 100:
        return f"{micro:.2f}"
    if abs(micro) < 1000:
        return f"{micro:.1f}"
    return f"{micro:.0f}"


def _overhead(size: SizeResult, info: ContenderInfo, call: str) -> float:
    return size.seconds[call] - size.seconds[info.floor]


def _size(results: VerificationResults, label: str) -> SizeResult:
    return next(size for size in results.sizes if size.label == label)


def _ratio_target(
    results: VerificationResults, call: str, label: str, *, floor: str, floor_name: str, limit: float
) -> Target:
    size = _size(results, label)
    ratio = size.seconds[call] / size.seconds[floor]
    return Target(
        f"{call}, {label}: <= {limit:.2f}x the {floor_name} floor",
        "PASS" if ratio <= limit else "FAIL",
        f"{ratio:.2f}x ({_us(size.seconds[call])} vs {_us(size.seconds[floor])} us)",
    )


def _peer_target(results: VerificationResults, ours: ContenderInfo, peer: ContenderInfo) -> Target:
    """Ours (the worse hot call) must cost less above its floor than the peer, at every size."""
    closest: tuple[float, str, float, float] | None = None
    for size in results.sizes:
        mine = max(_overhead(size, ours, call) for call in _OUR_HOT_CALLS)
        theirs = _overhead(size, peer, peer.calls[0])
        margin = theirs - mine
        if closest is None or margin < closest[0]:
            closest = (margin, size.label, mine, theirs)
    assert closest is not None  # noqa: S101 - there is always at least one size
    margin, label, mine, theirs = closest
    return Target(
        f"overhead above own floor below {peer.library}, every size",
        "PASS" if margin > 0 else "FAIL",
        f"closest at {label}: ours {_us(mine)} vs {_us(theirs)} us",
    )


def targets(results: VerificationResults, extra: list[Target]) -> list[Target]:
    """The verification targets, then each peer's (or why it was skipped), then ``extra``."""
    ours = results.contenders[0]
    found = [
        _ratio_target(results, "Verifier.verify", "1 KiB", floor=ours.floor, floor_name="hmac.digest", limit=1.0),
        _ratio_target(results, "Verifier.verify", "1 KiB", floor=SHA512, floor_name="hashlib.sha512", limit=2.0),
        _ratio_target(results, "Verifier.verify", "1 MiB", floor=SHA512, floor_name="hashlib.sha512", limit=1.05),
        _ratio_target(results, "verify()", "1 KiB", floor=ours.floor, floor_name="hmac.digest", limit=1.3),
    ]
    found += [_peer_target(results, ours, peer) for peer in results.contenders[1:]]
    found += [
        Target(f"overhead above own floor below {name}, every size", "SKIP", reason)
        for name, reason in results.skipped.items()
    ]
    return found + extra


def _rows(results: VerificationResults) -> Iterator[tuple[str, list[str]]]:
    sizes = results.sizes
    yield "per call, us", [size.label for size in sizes]
    yield "floor hashlib.sha512(ts + body)", [_us(size.seconds[SHA512]) for size in sizes]
    for info in results.contenders:
        yield f"{info.library} {info.version}", []
        yield f"  floor {info.floor_label}", [_us(size.seconds[info.floor]) for size in sizes]
        for call in info.calls:
            yield f"  {call}", [_us(size.seconds[call]) for size in sizes]
    yield "overhead above own HMAC floor, us", []
    for info in results.contenders:
        for call in info.calls:
            name = call if info.library == OURS else info.library
            yield f"  {name}", [_us(_overhead(size, info, call)) for size in sizes]
    ours = results.contenders[0]
    yield "ratios", []
    for call, floor, floor_name in (
        ("Verifier.verify", ours.floor, "hmac.digest"),
        ("Verifier.verify", SHA512, "sha512"),
        ("verify()", ours.floor, "hmac.digest"),
    ):
        yield f"  {call} / {floor_name}", [f"{size.seconds[call] / size.seconds[floor]:.2f}x" for size in sizes]


def format_report(results: VerificationResults, found: list[Target], notes: list[str]) -> str:
    """The whole report as text: the measurements, the targets, and ``notes`` under them."""
    rows = list(_rows(results))
    width = max(len(name) for name, _ in rows) + 2
    lines = []
    for name, cells in rows:
        lines.append((name.ljust(width) + "".join(cell.rjust(10) for cell in cells)).rstrip())
    lines.append("")
    lines.append("targets")
    name_width = max(len(target.name) for target in found) + 2
    lines += [f"  {target.status:4}  {target.name.ljust(name_width)}{target.measured}" for target in found]
    if results.skipped:
        lines.append("")
        lines += [f"SKIPPED peer {name}: {reason}" for name, reason in results.skipped.items()]
    if notes:
        lines.append("")
        lines += notes
    return "\n".join(lines)
