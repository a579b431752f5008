"""bench/serving.open_balanced: the benchmark's keep-alive connections are spread evenly over the
workers of `python -m reviewportal.serve`, whatever split the kernel's hash would have made."""

import asyncio
import os

import psutil
import pytest

from bench import http1, serving
from tests.test_serving import _wait_for_workers, serve  # noqa: F401  serve is a fixture

pytestmark = pytest.mark.django_db(transaction=True)


def test_keep_alive_connections_are_opened_evenly_over_the_workers(serve, tmp_path):  # noqa: F811
    process, port = serve("--workers", "2")
    workers = _wait_for_workers(process, port, 2)
    server = serving.Server(process=process, port=port, workers=2, log_path=tmp_path / "serve.log")
    clients = [http1.Client("127.0.0.1", port, cookies={}) for _ in range(12)]

    async def open_then_count():
        try:
            held = await serving.open_balanced(clients, server)
            ports = {client.local_port for client in clients}
            owners = [serving.worker_holding([w.pid for w in workers], port, client_port) for client_port in ports]
            answers = [await client.request("GET", "/healthz") for client in clients]
            return held, owners, answers
        finally:
            for client in clients:
                await client.close()

    held, owners, answers = asyncio.run(open_then_count())

    # Left to the kernel's hash, 12 connections split 6 + 6 less than a quarter of the time.
    assert sorted(held) == sorted(worker.pid for worker in workers)
    assert list(held.values()) == [6, 6]
    assert sorted(owners.count(worker.pid) for worker in workers) == [6, 6]
    assert all(answer.status_code == 200 for answer in answers)
    assert all(client.local_port is None for client in clients)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores to pin two workers apart")
def test_one_reviewer_is_always_served_from_the_first_core(serve, tmp_path):  # noqa: F811
    """Runs compared with each other must not differ in which core served them."""
    process, port = serve("--workers", "2")
    workers = _wait_for_workers(process, port, 2)
    server = serving.Server(process=process, port=port, workers=2, log_path=tmp_path / "serve.log")
    first_core = min(os.sched_getaffinity(0))

    async def open_one():
        client = http1.Client("127.0.0.1", port, cookies={})
        try:
            held = await serving.open_balanced([client], server)
            return held, serving.worker_holding([w.pid for w in workers], port, client.local_port)
        finally:
            await client.close()

    owners = set()
    for _ in range(6):
        held, owner = asyncio.run(open_one())
        assert held[owner] == 1
        owners.add(owner)

    assert [psutil.Process(owner).cpu_affinity() for owner in owners] == [[first_core]]
