"""Latency summaries: percentiles over every call measured, not over per-second averages; and the
interval of a mean over repeated measurements (the trail's cost, pair by pair)."""

import math
import random
import statistics
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


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
    runs): the ordinary bootstrap, resampling the values one at a time. Needs at least two values."""
    if len(values) < 2:
        raise ValueError("an interval for a mean needs at least two values")
    return bootstrap_interval(values, statistics.fmean, confidence=confidence, resamples=resamples)


def bootstrap_interval(
    items: Sequence[T],
    statistic: Callable[[list[T]], float],
    *,
    block: int = 1,
    confidence: float = 0.95,
    resamples: int = 10_000,
) -> tuple[float, float]:
    """An interval for `statistic` of `items` by a moving-block bootstrap: blocks of `block`
    consecutive items drawn at random until as many items as measured, so items that drift
    together (a slow minute's pairs) stay together; `block` 1 is the ordinary bootstrap. Seeded,
    so the same items always give the same interval."""
    rng = random.Random(0)  # statistics, not secrets
    block = max(1, min(block, len(items)))
    starts = range(len(items) - block + 1)
    estimates = []
    for _ in range(resamples):
        drawn: list[T] = []
        while len(drawn) < len(items):
            start = rng.choice(starts)
            drawn += items[start : start + block]
        estimates.append(statistic(drawn[: len(items)]))
    estimates.sort()
    tail = (1 - confidence) / 2
    return estimates[round(tail * resamples)], estimates[round((1 - tail) * resamples) - 1]
