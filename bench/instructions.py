"""Instruction benchmark: the app's own CPU instructions per claim → save → submit, counted by callgrind.

The same loop as bench/cycle.py (one reviewer, the whole request path through Django's test
client, on PostgreSQL and Redis), run under `valgrind --tool=callgrind`, which counts the
instructions this process executes instead of timing them. The count does not move with what
else the machine runs, so two versions of the code, or the access trail on and off, compare to
a fraction of a percent on a shared machine where seconds move by 15 % (docs/benchmarks.md).
PostgreSQL's own work is not in it (another process), nor uvicorn's (no sockets here).

Each setting runs twice, with WARMUP and with WARMUP + CYCLES cycles after the same start-up, and
the difference divided by CYCLES is the count per cycle: start-up and warm-up cancel out. The two
runs of a setting go at once, one per core; under valgrind a run takes a few minutes.

    .venv/bin/python bench/instructions.py                      # trail on and off, 50 cycles
    .venv/bin/python bench/instructions.py --app-dir /tmp/before   # another checkout's code (bench/cycle.py in it)

Needs valgrind (Debian package `valgrind`).
"""

import sys
from pathlib import Path

# As in bench/queue.py: keep bench/ off the front of sys.path.
REPO_ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == REPO_ROOT / "bench":
    sys.path[0] = str(REPO_ROOT)

# ruff: noqa: E402
import argparse
import os
import re
import shutil
import subprocess
import tempfile

TOTALS = re.compile(r"^(?:summary|totals): (\d+)", re.MULTILINE)
SETTINGS = {"on": ["1"], "off": ["0"], "both": ["1", "0"]}


def parse_args(argv: list[str] | None):
    parser = argparse.ArgumentParser(prog="bench/instructions.py", description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=50, help="cycles counted (%(default)s)")
    parser.add_argument("--warmup", type=int, default=10, help="cycles run before, in both runs (%(default)s)")
    parser.add_argument("--audit", choices=sorted(SETTINGS), default="both", help="the access trail (%(default)s)")
    parser.add_argument("--app-dir", type=Path, default=REPO_ROOT, help="checkout whose code runs (this repo)")
    parser.add_argument("--inner", nargs=3, metavar=("DATABASE", "REDIS_DB", "CYCLES"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def inner(app_dir: Path, database: str, redis_db: str, cycles: int) -> None:
    """Under valgrind: set up as bench/cycle.py does, then run `cycles` cycles of app_dir's code."""
    sys.path[0] = str(app_dir)
    from bench.cycle import CALLS, one_cycle, signed_in_client
    from bench.queue import ensure_reviewers, prepare_django, reset_queue, write_bench_audio
    from bench.queue import parse_args as queue_config

    prepare_django(queue_config(["--database", database, "--redis-db", redis_db]))
    users, _ = ensure_reviewers(1)
    reset_queue(cycles + 50, write_bench_audio(), show_progress=False)
    client = signed_in_client(users[0])
    for _ in range(cycles):
        one_cycle(client, dict.fromkeys(CALLS, 0.0))


def counted(app_dir: Path, audit: str, cycles: int, database: str, redis_db: int, out: Path) -> subprocess.Popen:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--separate-threads=yes",  # counted: the thread that runs the loop (see main_thread_total)
        f"--callgrind-out-file={out}",
        sys.executable,
        str(Path(__file__).resolve()),
        "--app-dir",
        str(app_dir),
        "--inner",
        database,
        str(redis_db),
        str(cycles),
    ]
    with out.with_suffix(".log").open("w") as log:  # the child keeps its own copy of the descriptor
        # A fixed hash seed: with a random one, dict and set layouts, and so the count, vary by run.
        environment = {**os.environ, "AUDIT_ENABLED": audit, "PYTHONHASHSEED": "0"}
        return subprocess.Popen(command, cwd=app_dir, env=environment, stdout=log, stderr=log)


def main_thread_total(out: Path) -> int | None:
    """Instructions of the main thread, which runs the loop: callgrind writes one file per thread
    (`out-01` is the first). Background threads (the connection pool's, the trail's high-water
    writer) wake on timers, so how much they run per cycle depends on how slow valgrind makes the
    loop, and counting them made the result move by 2 % between runs of the same code."""
    path = out.with_name(f"{out.name}-01")
    if not path.exists():
        return None
    found = TOTALS.search(path.read_text())
    return int(found.group(1)) if found else None


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.inner:
        inner(args.app_dir.resolve(), args.inner[0], args.inner[1], int(args.inner[2]))
        return
    if shutil.which("valgrind") is None:
        sys.exit("bench/instructions.py: valgrind is not installed (apt-get install valgrind)")
    app_dir = args.app_dir.resolve()
    per_cycle = {}
    with tempfile.TemporaryDirectory(prefix="instructions-") as scratch:
        for audit in SETTINGS[args.audit]:
            label = "on" if audit == "1" else "off"
            print(f"trail {label}: {args.warmup} and {args.warmup + args.cycles} cycles under callgrind", flush=True)
            runs = {
                cycles: counted(
                    app_dir,
                    audit,
                    cycles,
                    f"reviewportal_bench_instructions_{label}_{index}",
                    10 + index,
                    Path(scratch) / f"{label}-{cycles}.out",
                )
                for index, cycles in enumerate((args.warmup, args.warmup + args.cycles))
            }
            totals = {}
            for cycles, process in runs.items():
                process.wait()
                log = (Path(scratch) / f"{label}-{cycles}.log").read_text()
                total = main_thread_total(Path(scratch) / f"{label}-{cycles}.out")
                if process.returncode != 0 or total is None:
                    tail = "\n".join(log.splitlines()[-15:])
                    sys.exit(f"bench/instructions.py: the run of {cycles} cycles (trail {label}) failed:\n{tail}")
                totals[cycles] = total
            per_cycle[label] = (totals[args.warmup + args.cycles] - totals[args.warmup]) / args.cycles
    print(f"# app instructions per claim → save → submit cycle, callgrind, {args.cycles} cycles, {app_dir}")
    print("| trail | instructions per cycle (millions) |")
    print("| --- | --- |")
    for label, count in per_cycle.items():
        print(f"| {label} | {count / 1e6:.2f} |")
    if len(per_cycle) == 2:
        added = (per_cycle["on"] / per_cycle["off"] - 1) * 100
        print(f"\nthe trail adds {added:.1f} % to the app's instructions per cycle")


if __name__ == "__main__":
    main()
