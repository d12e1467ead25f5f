"""Realistic Tower-shaped bodies shipped with the package, for the demo, tests and tools.

Tower publishes no payload catalogue: these are shaped after its public ``Run`` object, and the
library never depends on any field in them.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["SAMPLE_NAMES", "sample_body"]

SAMPLE_NAMES = (
    "test-event.json",
    "run-started.json",
    "run-finished.json",
    "run-crashed-pretty.json",
    "run-finished-large.json",
)


def sample_body(name: str) -> bytes:
    """Return the exact bytes of one shipped sample body."""
    if name not in SAMPLE_NAMES:
        raise ValueError(f"no sample named {name!r}; choose one of {', '.join(SAMPLE_NAMES)}")
    return resources.files(__package__).joinpath("samples").joinpath(name).read_bytes()
