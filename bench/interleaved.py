"""Interleaved trail benchmark: what the access trail costs, from cycles alternated between two servers.

bench/queue.py --audit both measures the trail's cost with runs side by side, one against a server
with the trail on and one against a server with it off. On this shared VM the machine's own speed
moves by more than the trail costs within a minute (docs/benchmarks.md, eleventh round), so for
one reviewer those pairs of runs scatter from 0 to 24 %. Here both servers run at once and each
reviewer alternates between them cycle by cycle (on, off, then off, on, ...; half the reviewers
start on each side), so the two sides see the same machine within milliseconds of each other.
The cost is the throughput lost,

    1 - (time of the off cycles) / (time of the on cycles), over every pair in the window,

with a 95 % interval from resampling blocks of consecutive pairs. For one reviewer, whose cycles
run back to back, that is exactly the throughput ratio. For several on a saturated machine it
rests on the CPU being shared fairly: a cycle then takes time in proportion to the CPU it needs,
so the ratio of the times is the ratio of the CPU per cycle, which is what sets the throughput
of runs side by side. Measured alongside, as a check: the CPU per cycle of each side's server and
of its own PostgreSQL backends (found by their client ports), with the rest of the machine's CPU
(the load generator, PostgreSQL's own processes) shared equally; each call's p50 on both sides;
and the cost in each tenth of the window, charted.

For several reviewers the latency ratio did not hold up (K = 8: 32 %, with tenths of the window
from -35 to 75 %, while the CPU said 8.5 %): each server's worker runs one view at a time, so
the slower side's queue grows. Read the CPU figure there, and bench/queue.py --audit both.

To check the method itself, serve a scratch copy with the trail forced off on both sides
(`--app-dir`, with VAR_DIR pointing at this checkout's var/): the cost should come out near 0.

    .venv/bin/python bench/interleaved.py                 # one reviewer: 5 s warm-up, 60 s measured
    .venv/bin/python bench/interleaved.py -k 8 --chart ''
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
import contextlib
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import psutil
import psycopg
import uvloop

from bench import chart, http1, machine, serving
from bench import queue as bench_queue
from bench.queue import BENCH_RESULTS, CALLS, Recorder, Window, log
from bench.stats import bootstrap_interval, summarise

SIDES = ("on", "off")
APP = "reviewportal.asgi:application"
DEFAULT_CHART = REPO_ROOT / "docs" / "bench-trail-interleaved.svg"
POSTGRES_PORT = 5432
BLOCK_PAIRS = 25  # pairs per resampled block: drift within a block stays in it
RESAMPLES = 2000
SEGMENTS = 10
FAILURES_IN_A_ROW = 20


def parse_args(argv: list[str] | None):
    parser = argparse.ArgumentParser(prog="bench/interleaved.py", description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("-k", "--reviewers", type=int, default=1, help="reviewers, each alternating on its own (%(default)s)")
    add("--duration", type=float, default=60.0, help="measured seconds (%(default)s)")
    add("--warmup", type=float, default=5.0, help="seconds before measuring (%(default)s)")
    add("-n", "--clips", type=int, default=10_000, help="queued clips at the start (%(default)s)")
    add("--workers", type=int, default=2, help="uvicorn workers of each server (%(default)s)")
    add("--database", default="reviewportal_bench", help="benchmark database, truncated (%(default)s)")
    add("--redis-db", type=int, default=13, help="Redis db for cache and sessions (%(default)s)")
    add("--app-dir", type=Path, default=REPO_ROOT, help="checkout to serve, e.g. a scratch copy (this repo)")
    add("--chart", type=Path, default=DEFAULT_CHART, help="SVG path (%(default)s); '' for none")
    add("--label", default="", help="a word added to the result file names")
    add(
        "--core",
        type=int,
        default=0,
        help="one reviewer's two sides talk to the workers pinned to this core (%(default)s); reviewer i to the "
        "core i after it. The cores differ (interrupts land on one): a side on each would measure that",
    )
    add("--off-core", type=int, help="one reviewer only: the trail-off side's core, to see what the core does")
    add("--quiet-percent", type=float, default=30.0, help="wait while the machine is busier than this (%(default)s)")
    args = parser.parse_args(argv)
    if args.reviewers < 1:
        parser.error("--reviewers must be at least 1")
    if args.off_core is not None and args.reviewers != 1:
        parser.error("--off-core is for one reviewer")
    return args


def reviewer_cores(args) -> list[dict[str, int]]:
    """The core each reviewer's two connections are served from."""
    usable = sorted(os.sched_getaffinity(0))
    cores = [usable[(usable.index(args.core) + index) % len(usable)] for index in range(args.reviewers)]
    off = [args.off_core] if args.off_core is not None else cores
    return [{"on": on, "off": other} for on, other in zip(cores, off, strict=True)]


@dataclass
class Pair:
    started: float  # perf_counter() at the first cycle's claim
    first: str  # the side that went first
    on_s: float
    off_s: float


# --- CPU by side ----------------------------------------------------------------------------------


def _backend_pids(server: serving.Server, database) -> set[int]:
    """The PostgreSQL backends serving `server`: those whose client port is one of its workers' own."""
    ports = set()
    for process in server.processes():
        with contextlib.suppress(psutil.NoSuchProcess):
            for connection in process.net_connections(kind="tcp"):
                if connection.raddr and connection.raddr.port == POSTGRES_PORT:
                    ports.add(connection.laddr.port)
    rows = database.execute("SELECT pid FROM pg_stat_activity WHERE client_port = ANY(%s)", [sorted(ports)])
    return {pid for (pid,) in rows}


def _cpu_seconds(pids) -> dict[int, float]:
    seconds = {}
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = psutil.Process(pid).cpu_times()
            seconds[pid] = times.user + times.system
    return seconds


def cpu_snapshot(servers: dict[str, serving.Server], database) -> dict:
    """CPU seconds so far of each side's server processes and PostgreSQL backends, by pid, and of
    the whole machine ("machine")."""
    sides = {
        side: {
            "server": server.cpu_seconds_by_process(),
            "postgres": _cpu_seconds(_backend_pids(server, database)),
        }
        for side, server in servers.items()
    }
    return {**sides, "machine": serving.machine_busy_seconds()}


def cpu_used(before: dict, after: dict) -> dict[str, dict[str, float]]:
    """Seconds each side's server and backends used between two snapshots; a backend opened in
    between counts from its start (it served nothing before)."""
    used = {
        side: {
            part: sum(seconds - before[side][part].get(pid, 0.0) for pid, seconds in after[side][part].items())
            for part in ("server", "postgres")
        }
        for side in SIDES
    }
    machine = after["machine"] - before["machine"]
    # The rest: the load generator, PostgreSQL's own processes, anything else running; a side's
    # cycles cost it alike, so it is split evenly.
    rest = machine - sum(sum(parts.values()) for parts in used.values())
    for side in SIDES:
        used[side]["rest"] = rest / len(SIDES)
    return used


# --- The load -------------------------------------------------------------------------------------


async def connect_on_core(client: http1.Client, server: serving.Server, core: int, *, attempts: int = 50) -> int:
    """Open the client's connection so that the worker pinned to `core` holds it; return that worker's pid.

    The kernel hands a new connection to a worker by a hash of its ports (reviewportal.serve);
    one that lands elsewhere is closed and opened again."""
    pids = serving.worker_pids(server)
    wanted = next((pid for pid in pids if psutil.Process(pid).cpu_affinity() == [core]), None)
    if wanted is not None:
        held = await serving.connect_to_worker(client, server, pids, wanted, attempts=attempts)
        if held == wanted:
            return wanted
    raise RuntimeError(f"no worker pinned to core {core} took a connection in {attempts} attempts")


async def alternate(servers, jars: list[dict[str, str]], window: Window, recorders, database, cores: list[dict]):
    """K reviewers (one per cookie jar), each running cycles against the two servers in turn until
    the window ends: the pairs that started in it (after the warm-up's), the CPU each side used
    from the window's start until the last of them ended, and each side's processes."""
    clients = [
        {side: http1.Client("127.0.0.1", server.port, cookies=jar) for side, server in servers.items()} for jar in jars
    ]
    pairs: list[Pair] = []
    try:
        for own, wanted in zip(clients, cores, strict=True):
            for side, client in own.items():
                await connect_on_core(client, servers[side], wanted[side])
        warm_up: list[Pair] = []
        starts = _starts(clients, jars)
        await asyncio.gather(*(_reviewer(*start, window.measure_start, recorders, warm_up) for start in starts))
        before = cpu_snapshot(servers, database)
        await asyncio.gather(*(_reviewer(*start, window.end, recorders, pairs) for start in starts))
        after = cpu_snapshot(servers, database)
    finally:
        for own in clients:
            for client in own.values():
                await client.close()
    pairs.sort(key=lambda pair: pair.started)
    # Which processes each side was, so a profile taken during the run can be split by side.
    pids = {side: {part: sorted(after[side][part]) for part in ("server", "postgres")} for side in SIDES}
    return pairs, cpu_used(before, after), pids


def _starts(clients, jars):
    """Half the reviewers start on the trail-on side, half on the off side, so that at any moment
    about as many cycles of each are under way."""
    return [(own, jar, index % 2) for index, (own, jar) in enumerate(zip(clients, jars, strict=True))]


async def _reviewer(clients, jar, first: int, until: float, recorders, pairs: list[Pair]) -> None:
    """One reviewer: pairs of cycles, on then off, then off then on, and so on, each added to
    `pairs`, until a pair ends after `until`."""
    headers = {"X-CSRFToken": jar["csrftoken"]}
    index = first
    while time.perf_counter() < until:
        order = SIDES if index % 2 == 0 else SIDES[::-1]
        took, started = {}, time.perf_counter()
        for side in order:
            took[side] = await _one_cycle(clients[side], headers, recorders[side], side)
        pairs.append(Pair(started, order[0], took["on"], took["off"]))
        index += 1


async def _one_cycle(client: http1.Client, headers, recorder: Recorder, side: str) -> float:
    """Seconds of one complete claim → save → submit; a failed attempt is recorded and retried."""
    for _ in range(FAILURES_IN_A_ROW):
        started = time.perf_counter()
        if await bench_queue.http_cycle(client, headers, recorder):
            return time.perf_counter() - started
    raise RuntimeError(f"{FAILURES_IN_A_ROW} cycles in a row failed on the trail-{side} server: {recorder.failures}")


# --- Statistics -----------------------------------------------------------------------------------


def cost(pairs: list[Pair]) -> float:
    """Throughput lost to the trail: 1 - off time / on time (one reviewer's cycles run back to back)."""
    return 1 - sum(pair.off_s for pair in pairs) / sum(pair.on_s for pair in pairs)


def interval(pairs: list[Pair], *, resamples: int = RESAMPLES, block: int = BLOCK_PAIRS) -> tuple[float, float]:
    """A 95 % interval of cost() by a moving-block bootstrap of consecutive pairs, so a slow minute
    stays together in whatever it lands."""
    return bootstrap_interval(pairs, cost, block=block, resamples=resamples)


def segments(pairs: list[Pair], window: Window, count: int = SEGMENTS) -> list[dict]:
    """The window in `count` equal slices of time: each slice's mean cycle on both sides and its cost."""
    length = (window.end - window.measure_start) / count
    slices = [[] for _ in range(count)]
    for pair in pairs:
        slices[min(count - 1, int((pair.started - window.measure_start) / length))].append(pair)
    return [
        {
            "from_s": round(index * length, 1),
            "to_s": round((index + 1) * length, 1),
            "pairs": len(chunk),
            "on_ms": 1000 * sum(pair.on_s for pair in chunk) / len(chunk),
            "off_ms": 1000 * sum(pair.off_s for pair in chunk) / len(chunk),
            "cost": cost(chunk),
        }
        for index, chunk in enumerate(slices)
        if chunk
    ]


def summarise_run(pairs, used, recorders, window, load_before) -> dict:
    if not pairs:
        raise RuntimeError("no pair of cycles finished inside the window")
    low, high = interval(pairs)
    # Each side ran one cycle per pair.
    cpu = {side: {part: 1000 * seconds / len(pairs) for part, seconds in parts.items()} for side, parts in used.items()}
    on_first = [pair for pair in pairs if pair.first == "on"]
    off_first = [pair for pair in pairs if pair.first == "off"]
    return {
        "pairs": len(pairs),
        "cost": cost(pairs),
        "cost_95": [low, high],
        # Who went first should not matter; if these two differ much, something carries over.
        "cost_when_on_first": cost(on_first) if on_first else None,
        "cost_when_off_first": cost(off_first) if off_first else None,
        "cycle_ms": {side: summarise([getattr(pair, f"{side}_s") for pair in pairs]) for side in SIDES},
        "calls": {side: {call: summarise(recorders[side].latencies[call]) for call in CALLS} for side in SIDES},
        "cpu_ms_per_cycle": cpu,
        # The check: the share of a cycle's CPU (its server, its backends, its share of the rest)
        # that the trail adds; on a saturated machine, the throughput lost.
        "cost_from_cpu": 1 - sum(cpu["off"].values()) / sum(cpu["on"].values()),
        "failures": {side: dict(recorders[side].failures) for side in SIDES},
        "segments": segments(pairs, window),
        "machine_busy_before_percent": load_before,
    }


# --- Report ---------------------------------------------------------------------------------------


def report(run: dict) -> str:
    low, high = run["cost_95"]
    cycle, cpu = run["cycle_ms"], run["cpu_ms_per_cycle"]
    lines = [
        f"{_reviewers(run['reviewers'])}, {run['pairs']} pairs of cycles, trail on and off in turn: "
        f"**the trail costs {run['cost']:.1%}** (95 % interval {low:.1%} to {high:.1%}; "
        f"{run['cost_when_on_first']:.1%} when the on cycle went first, {run['cost_when_off_first']:.1%} when second)",
        "",
        "| | trail on | trail off | difference |",
        "| --- | --- | --- | --- |",
        _row("cycle, mean ms", cycle["on"]["mean_ms"], cycle["off"]["mean_ms"]),
        _row("cycle, p50 ms", cycle["on"]["p50_ms"], cycle["off"]["p50_ms"]),
    ]
    for call in CALLS:
        on, off = run["calls"]["on"][call], run["calls"]["off"][call]
        lines.append(_row(f"{call}, p50 ms", on["p50_ms"], off["p50_ms"]))
    for part in ("server", "postgres", "rest"):
        lines.append(_row(f"CPU ms per cycle, {part}", cpu["on"][part], cpu["off"][part]))
    lines.append(f"| CPU the trail adds to a cycle | | | {run['cost_from_cpu']:.1%} |")
    lines += ["", "| seconds | pairs | on ms | off ms | cost |", "| --- | --- | --- | --- | --- |"]
    lines += [
        f"| {s['from_s']:.0f}–{s['to_s']:.0f} | {s['pairs']} | {s['on_ms']:.2f} | {s['off_ms']:.2f} | {s['cost']:.1%} |"
        for s in run["segments"]
    ]
    return "\n".join(lines)


def _reviewers(count: int) -> str:
    return "One reviewer" if count == 1 else f"{count} reviewers"


def _row(name: str, on: float | None, off: float | None) -> str:
    if on is None or off is None:
        return f"| {name} | — | — | — |"
    return f"| {name} | {on:.2f} | {off:.2f} | {on - off:+.2f} |"


def write_chart(run: dict, path: Path) -> None:
    """Mean ms per cycle on both sides in each tenth of the window: the machine moves, the gap stays."""
    panel = f"{_reviewers(run['reviewers'])}: the trail costs {run['cost']:.1%}"
    bars = [
        chart.Bar(panel, f"{s['from_s']:.0f}", f"trail {side}", value)
        for s in run["segments"]
        for side, value in (("on", s["on_ms"]), ("off", s["off_ms"]))
    ]
    svg = chart.bar_chart_svg(bars, title="Trail on and off in turn", y_label="ms per cycle (mean), by second")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(svg)


# --- Main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    serving.exit_on_sigterm()
    queue_args = ["--database", args.database, "--redis-db", str(args.redis_db), "-n", str(args.clips)]
    config = bench_queue.parse_args([*queue_args, "-k", str(args.reviewers), "--no-large", "--modes", "http-keepalive"])
    bench_queue.prepare_django(config)
    from django.db import connections

    users, password = bench_queue.ensure_reviewers(args.reviewers)
    audio = bench_queue.write_bench_audio()
    env = bench_queue.server_environment(config)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    servers: dict[str, serving.Server] = {}
    log(f"signing in {args.reviewers} reviewer(s) through the login form")
    jars = bench_queue.sign_in_apart(
        users, password, env=env, app_dir=args.app_dir, app=APP, log_path=BENCH_RESULTS / f"server-{stamp}-sign-in.log"
    )
    try:
        for side in SIDES:
            log(f"starting a server with the trail {side}")
            servers[side] = serving.start_server(
                env={**env, "AUDIT_ENABLED": "1" if side == "on" else "0"},
                workers=args.workers,
                app_dir=args.app_dir,
                log_path=BENCH_RESULTS / f"server-{stamp}-interleaved-{side}.log",
            )

        bench_queue.reset_queue(args.clips, audio, show_progress=False)
        connections.close_all()
        load_before = serving.wait_for_quiet_machine(threshold_percent=args.quiet_percent, timeout_s=120, log=log)
        cores = reviewer_cores(args)
        log(f"alternating cycles: {args.warmup:.0f} s warm-up, {args.duration:.0f} s measured; cores {cores}")
        window = Window.starting_now(args.warmup, args.duration)
        recorders = {side: Recorder(window) for side in SIDES}
        with (
            psycopg.connect(config.database_url, autocommit=True) as database,
            asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
        ):
            pairs, used, pids = runner.run(alternate(servers, jars, window, recorders, database, cores))
    finally:
        for server in servers.values():
            serving.stop_server(server)
        connections.close_all()
    run = {**summarise_run(pairs, used, recorders, window, load_before), "reviewers": args.reviewers}
    run.update(cores=cores, pids=pids)
    results = {
        "label": args.label,
        "machine": machine.describe(postgres_version=bench_queue.postgres_version()),
        "settings": {**vars(args), "chart": str(args.chart), "app_commit": bench_queue.app_commit(args.app_dir)},
        "run": run,
    }
    BENCH_RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"interleaved-{stamp}" + (f"-{args.label}" if args.label else "")
    (BENCH_RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2, default=str))
    log(f"results: {BENCH_RESULTS / name}.json")
    if str(args.chart) not in {"", "."}:
        write_chart(run, args.chart)
        log(f"chart: {args.chart}")
    print(report(run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
