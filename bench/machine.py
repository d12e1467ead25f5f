"""What the numbers were measured on: they mean little without it."""

from __future__ import annotations

import os
import platform
import ssl
import subprocess

__all__ = ["describe_machine"]


def _cpu_model() -> str:
    try:
        output = subprocess.run(["lscpu"], capture_output=True, text=True, check=True, timeout=10).stdout  # noqa: S607
    except (OSError, subprocess.SubprocessError):
        return platform.processor() or "unknown"
    fields = dict(line.split(":", 1) for line in output.splitlines() if ":" in line)
    return fields.get("Model name", "unknown").strip()


def describe_machine() -> dict[str, object]:
    """The CPU, core count, load, Python and OpenSSL of this run."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "load_average": [round(load, 2) for load in os.getloadavg()],
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "openssl": ssl.OPENSSL_VERSION,
        "platform": platform.platform(),
    }
