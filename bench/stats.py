"""Latency summaries: percentiles over every call measured, not over per-second averages."""

import math
from collections.abc import Sequence


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The value below which `fraction` of the values lie, interpolating between neighbours.

    `sorted_values` must be sorted and non-empty. Interpolation (rather than nearest rank) keeps
    p99 of a few hundred calls from jumping to the single slowest one.
    """
    position = (len(sorted_values) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def summarise(latencies_s: Sequence[float]) -> dict[str, float | int | None]:
    """count, mean, p50, p95, p99 and max of latencies given in seconds, reported in milliseconds."""
    if not latencies_s:
        return {"count": 0, "mean_ms": None, "p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    ordered = sorted(latencies_s)
    return {
        "count": len(ordered),
        "mean_ms": 1000 * sum(ordered) / len(ordered),
        "p50_ms": 1000 * percentile(ordered, 0.50),
        "p95_ms": 1000 * percentile(ordered, 0.95),
        "p99_ms": 1000 * percentile(ordered, 0.99),
        "max_ms": 1000 * ordered[-1],
    }
