"""Where a benchmark ran: CPU model, threads, device, torch and Python versions, host and time.

Recorded with every result so that figures from two machines are never compared by accident.
"""

from __future__ import annotations

import os
import platform
import socket
from datetime import datetime, timezone
from pathlib import Path

from archcalc.bench.results import Machine


def cpu_model() -> str:
    """The CPU's marketing name: /proc/cpuinfo on Linux, else what the platform module knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                return value.strip()
    return platform.processor() or platform.machine() or "unknown"


def describe_machine(device: str, device_name: str, threads: int, load_before: list[float] | None = None) -> Machine:
    import torch

    from archcalc.bench.honesty import load_average

    return Machine(
        cpu=cpu_model(),
        logical_cores=os.cpu_count(),
        threads=threads,
        device=device,
        device_name=device_name,
        torch=torch.__version__,
        python=platform.python_version(),
        platform=platform.platform(),
        hostname=socket.gethostname(),
        measured_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        load_average=load_before,
        load_average_after=load_average(),
    )
