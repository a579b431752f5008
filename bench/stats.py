"""Latency summaries: percentiles over every call measured, not over per-second averages; and the
interval of a mean over repeated measurements (the trail's cost, pair by pair)."""

import math
import random
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


def mean_interval(values: Sequence[float], *, confidence: float = 0.95, resamples: int = 10_000) -> tuple[float, float]:
    """An interval for the mean of `values` (independent measurements, e.g. one cost per pair of
    runs): the percentile bootstrap, resampling the values with replacement. Seeded, so one set
    of values always gives the same interval. Needs at least two values."""
    if len(values) < 2:
        raise ValueError("an interval for a mean needs at least two values")
    draw = random.Random(0).choices
    means = sorted(sum(draw(values, k=len(values))) / len(values) for _ in range(resamples))
    tail = (1 - confidence) / 2
    return percentile(means, tail), percentile(means, 1 - tail)
