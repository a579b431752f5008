"""bench/interleaved.py: the trail's cost from cycles alternated between two servers.

Its statistics must not move with the machine's speed, which is why it exists; and both sides
must talk to the worker on the core they were asked for."""

import asyncio
import os
import random

import psutil
import pytest

from bench import http1, serving
from bench.interleaved import Pair, connect_on_core, cost, interval, segments
from bench.queue import Window
from tests.test_serving import _wait_for_workers, serve  # noqa: F401  serve is a fixture


def _pairs(count: int, *, on_over_off: float, speed=lambda index: 1.0) -> list[Pair]:
    """Pairs 10 ms apart whose off cycle takes 20 ms at speed 1 and the on cycle `on_over_off` times that."""
    pairs = []
    for index in range(count):
        off = 0.020 / speed(index)
        first = "on" if index % 2 == 0 else "off"
        pairs.append(Pair(started=index * 0.01, first=first, on_s=off * on_over_off, off_s=off))
    return pairs


def test_the_cost_is_the_throughput_lost_and_the_machine_speeding_up_does_not_move_it():
    steady = _pairs(400, on_over_off=1.08)
    # The machine runs twice as fast by the end: runs side by side would see that, not the trail.
    drifting = _pairs(400, on_over_off=1.08, speed=lambda index: 1 + index / 400)

    assert cost(steady) == pytest.approx(1 - 1 / 1.08)
    assert cost(drifting) == pytest.approx(1 - 1 / 1.08)
    low, high = interval(drifting, resamples=200)
    assert low == pytest.approx(cost(drifting)) and high == pytest.approx(cost(drifting))


def test_the_interval_widens_with_noise_and_still_holds_the_cost():
    rng = random.Random(1)
    noisy = [
        Pair(pair.started, pair.first, pair.on_s * rng.uniform(0.7, 1.3), pair.off_s * rng.uniform(0.7, 1.3))
        for pair in _pairs(400, on_over_off=1.08)
    ]

    low, high = interval(noisy, resamples=300)

    assert low < cost(noisy) < high
    assert high - low > 0.005


def test_segments_slice_the_window_by_time():
    window = Window(start=-1.0, measure_start=0.0, end=4.0)
    pairs = _pairs(400, on_over_off=1.25, speed=lambda index: 2.0 if index >= 200 else 1.0)

    sliced = segments(pairs, window, count=4)

    assert [part["pairs"] for part in sliced] == [100, 100, 100, 100]
    assert [round(part["off_ms"], 3) for part in sliced] == [20.0, 20.0, 10.0, 10.0]
    assert all(part["cost"] == pytest.approx(0.2) for part in sliced)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores to pin two workers apart")
def test_each_side_talks_to_the_worker_pinned_to_the_core_asked_for(serve, tmp_path):  # noqa: F811
    process, port = serve("--workers", "2")
    workers = _wait_for_workers(process, port, 2)
    server = serving.Server(process=process, port=port, workers=2, log_path=tmp_path / "serve.log")
    cores = sorted(os.sched_getaffinity(0))[:2]

    async def connect_each():
        held = []
        for core in cores * 3:
            client = http1.Client("127.0.0.1", port, cookies={})
            try:
                pid = await connect_on_core(client, server, core)
                held.append((core, pid, (await client.request("GET", "/healthz")).status_code))
            finally:
                await client.close()
        return held

    held = asyncio.run(connect_each())

    by_pid = {worker.pid: psutil.Process(worker.pid).cpu_affinity() for worker in workers}
    assert all(by_pid[pid] == [core] for core, pid, _ in held)
    assert {pid for _, pid, _ in held} == set(by_pid)
    assert all(status == 200 for _, _, status in held)
