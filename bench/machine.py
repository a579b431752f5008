"""What a benchmark ran on, so a number in docs/benchmarks.md can be read next to its machine."""

import os
import platform
from datetime import UTC, datetime
from importlib import metadata

import psutil


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def describe(*, postgres_version: str = "") -> dict[str, str | int | float]:
    """CPU, cores, RAM, kernel and the versions that matter for a web benchmark, with the date."""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count() or 0,
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": postgres_version,
        "django": metadata.version("django"),
        "uvicorn": metadata.version("uvicorn"),
        "httpx": metadata.version("httpx"),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
