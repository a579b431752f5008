"""Floor benchmark: the most requests a second the production server answers when a request does nothing.

K clients send `GET /healthz` flat out to the app served as `make serve` serves it (uvicorn with
workers, PostgreSQL, Redis, DEBUG off). /healthz passes through the whole middleware stack and
runs one `SELECT 1`, and does nothing else: no session, no sign-in, no audit event. Whatever a
review cycle costs comes on top of three such requests, so requests/s ÷ 3 is a ceiling on
claim → save → submit cycles/s on this machine that no change inside the views can pass.

Also printed: the server's CPU per request and how it was shared between the workers, which
shows whether the kernel spread the connections over them (with keep-alive, every connection
stays with the worker that accepted it).

    .venv/bin/python bench/floor.py                  # K = 1, 8, 32; keep-alive and fresh
    .venv/bin/python bench/floor.py -k 8 --duration 5
"""

import sys
from pathlib import Path

# As in bench/queue.py: keep bench/ off the front of sys.path.
REPO_ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == REPO_ROOT / "bench":
    sys.path[0] = str(REPO_ROOT)

# ruff: noqa: E402
import argparse
import asyncio
import time
from datetime import UTC, datetime

import httpx
import uvloop

from bench import machine, serving
from bench.queue import log, prepare_django, server_environment
from bench.queue import parse_args as queue_config

CALLS_PER_CYCLE = 3  # claim, save, submit


def parse_args(argv: list[str] | None):
    parser = argparse.ArgumentParser(prog="bench/floor.py", description=__doc__.splitlines()[0])
    parser.add_argument("-k", "--clients", default="1,8,32", help="K values (%(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn --workers (%(default)s)")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per run (%(default)s)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds per run before measuring (%(default)s)")
    args = parser.parse_args(argv)
    args.clients = [int(item) for item in args.clients.split(",") if item.strip()]
    return args


async def load(base_url: str, clients: int, *, fresh: bool, warmup_s: float, duration_s: float, server):
    """K clients, each sending GET /healthz back to back.

    Returns requests/s, the server's CPU seconds by pid, this client's CPU seconds and failures.
    """
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=0 if fresh else 1)
    headers = {"Connection": "close"} if fresh else {}
    sessions = [httpx.AsyncClient(base_url=base_url, limits=limits, headers=headers) for _ in range(clients)]
    started = time.perf_counter()
    measure_from, measure_to = started + warmup_s, started + warmup_s + duration_s
    counted = failures = 0
    cpu_at_start: dict[int, float] = {}
    client_cpu_at_start = 0.0

    async def client(session: httpx.AsyncClient) -> None:
        nonlocal counted, failures
        while (now := time.perf_counter()) < measure_to:
            response = await session.get("/healthz")
            if response.status_code != 200:
                failures += 1
            elif now >= measure_from:
                counted += 1

    async def mark_start() -> None:
        nonlocal client_cpu_at_start
        await asyncio.sleep(warmup_s)
        cpu_at_start.update(server.cpu_seconds_by_process())
        client_cpu_at_start = time.process_time()

    try:
        await asyncio.gather(mark_start(), *(client(session) for session in sessions))
    finally:
        await asyncio.gather(*(session.aclose() for session in sessions))
    cpu_at_end = server.cpu_seconds_by_process()
    client_cpu = time.process_time() - client_cpu_at_start
    used = {pid: cpu_at_end[pid] - cpu_at_start.get(pid, 0.0) for pid in cpu_at_end}
    return counted / duration_s, used, client_cpu, failures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    serving.exit_on_sigterm()
    config = queue_config(["--quick"])  # only for the database, Redis db and environment names
    prepare_django(config)
    env = server_environment(config)
    log_path = REPO_ROOT / "bench" / "results" / "floor-uvicorn.log"
    rows = []
    server = serving.start_server(env=env, workers=args.workers, app_dir=REPO_ROOT, log_path=log_path)
    try:
        for fresh in (False, True):
            for clients in args.clients:
                serving.wait_for_quiet_machine(threshold_percent=30, timeout_s=60, log=log)
                mode = "fresh" if fresh else "keep-alive"
                log(f"GET /healthz, {mode}, K={clients}, {args.duration:.0f} s")
                rate, used, client_cpu, failures = uvloop.run(
                    load(
                        server.base_url,
                        clients,
                        fresh=fresh,
                        warmup_s=args.warmup,
                        duration_s=args.duration,
                        server=server,
                    )
                )
                total = sum(used.values())
                shares = " + ".join(f"{100 * seconds / args.duration:.0f}" for seconds in used.values())
                rows.append(
                    f"| {mode} | {clients} | {rate:.0f} | {rate / CALLS_PER_CYCLE:.0f} | "
                    f"{1000 * total / max(rate * args.duration, 1):.2f} | {shares} | "
                    f"{100 * client_cpu / args.duration:.0f} | {failures} |"
                )
    finally:
        serving.stop_server(server)
    print(f"# GET /healthz against uvicorn --workers {args.workers}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    described = machine.describe()
    print("# " + ", ".join(f"{key} {value}" for key, value in described.items()))
    print(
        "| connections | K | requests/s | ceiling cycles/s (÷ 3) | server CPU ms per request "
        "| server CPU % by process (master + workers) | client CPU % | failed |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(row)
    log(f"done ({len(rows)} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
