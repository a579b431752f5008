"""bench/stats.mean_interval and the trail's cost table: whether the trail costs under 10 % is read
from the mean of many pairs and its interval, since one pair scatters by about 11 points on a
shared VM (docs/benchmarks.md, twelfth round)."""

import random
import statistics

import pytest

from bench.queue import audit_cost_table
from bench.stats import mean_interval


def test_the_interval_of_a_mean_is_about_two_standard_errors_either_side():
    values = [0.0] * 50 + [1.0] * 50  # mean 0.5, standard error 0.05

    low, high = mean_interval(values)

    assert low == pytest.approx(0.40, abs=0.012)
    assert high == pytest.approx(0.60, abs=0.012)


def test_the_interval_narrows_as_pairs_are_added():
    draw = random.Random(4)
    few = [draw.gauss(0.08, 0.11) for _ in range(25)]
    many = few + [draw.gauss(0.08, 0.11) for _ in range(75)]

    few_low, few_high = mean_interval(few)
    many_low, many_high = mean_interval(many)

    assert few_low < statistics.fmean(few) < few_high
    assert many_low < statistics.fmean(many) < many_high
    assert (many_high - many_low) < 0.6 * (few_high - few_low)  # a quarter of the pairs: about half the width


def test_values_that_agree_leave_no_room_and_one_value_has_no_interval():
    assert mean_interval([0.07, 0.07, 0.07]) == (pytest.approx(0.07), pytest.approx(0.07))
    with pytest.raises(ValueError, match="at least two"):
        mean_interval([0.07])


def _run(audit: bool, repeat: int, cycles_per_s: float) -> dict:
    return {
        "mode": "http-keepalive",
        "reviewers": 8,
        "clips": 10_000,
        "workers": 2,
        "audit": audit,
        "repeat": repeat,
        "cycles_per_s": cycles_per_s,
    }


def test_the_cost_table_gives_each_pairs_cost_its_median_range_mean_and_interval():
    # Pairs costing 10 %, 0 % and 20 % of the trail-off throughput.
    runs = [_run(True, 1, 90.0), _run(False, 1, 100.0), _run(False, 2, 100.0), _run(True, 2, 100.0)]
    runs += [_run(True, 3, 80.0), _run(False, 3, 100.0)]

    table = audit_cost_table(runs)

    row = table.splitlines()[-1]
    assert "mean cost (95 % interval)" in table.splitlines()[0]
    assert row.startswith("| http-keepalive | 2 | 8 | 10k | 3 |")
    assert "| 10% | 0% to 20% |" in row
    assert "| 10.0% (0.0% to 20.0%) |" in row
