"""What the numbers were measured on: they mean little without it."""

from __future__ import annotations

import os
import platform
import ssl
import subprocess
from datetime import datetime, timezone

__all__ = ["describe_machine"]


def _cpu_model() -> str:
    """The model name, with its family and model numbers: a name such as "Intel(R) Xeon(R) Processor" says little."""
    try:
        output = subprocess.run(["lscpu"], capture_output=True, text=True, check=True, timeout=10).stdout  # noqa: S607
    except (OSError, subprocess.SubprocessError):
        return platform.processor() or "unknown"
    fields = {name.strip(): value.strip() for name, _, value in (line.partition(":") for line in output.splitlines())}
    labels = {"CPU family": "family", "Model": "model"}
    numbers = [f"{label} {fields[field]}" for field, label in labels.items() if field in fields]
    name = fields.get("Model name", "unknown")
    return f"{name} ({', '.join(numbers)})" if numbers else name


def describe_machine() -> dict[str, object]:
    """When this run started, and the CPU, core count, load, Python and OpenSSL it ran on."""
    return {
        "started": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "load_average": [round(load, 2) for load in os.getloadavg()],
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "openssl": ssl.OPENSSL_VERSION,
        "platform": platform.platform(),
    }
