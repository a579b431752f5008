"""Serve reviewportal in production: N uvicorn processes, each with its own listening socket on one port.

    python -m reviewportal.serve --host 127.0.0.1 --port 8000 --workers 2

`uvicorn --workers N` shares one listening socket between its workers, and the worker whose
event loop wakes first accepts every connection that is waiting. With keep-alive (browsers,
nginx's upstream keep-alive, the benchmark) one worker ends up with all of them, on one core,
while the others idle (docs/benchmarks.md). Here each worker binds its own socket with
SO_REUSEPORT and the kernel spreads new connections across them. A worker that dies is started
again, unless it dies within seconds of starting (a broken configuration: everything stops with
its exit code); SIGTERM or SIGINT stops them all, each finishing the requests it has.

Each worker is pinned to a core of its own (`--cpu-affinity spread`, the default; Linux): worker
i runs on the i-th core this process may use, round the cores again when there are more workers
than cores, and a worker started again takes the core of the one it replaces. Left to the
kernel, the workers shared cores while others sat idle: on the benchmark machine the loop ran a
fifth faster pinned (docs/benchmarks.md, tenth round). PostgreSQL and everything else are not
pinned. `--cpu-affinity none` leaves the workers to the kernel, e.g. where another service must
share the cores the workers would claim.
"""

import argparse
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import time

APP = "reviewportal.asgi:application"
# A worker that exits sooner than this after starting is not restarted: it would only fail again.
MIN_UPTIME_S = 10.0
GRACEFUL_STOP_S = 30.0

log = logging.getLogger("reviewportal.serve")


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def worker_cores(workers: int, affinity: str) -> list[int | None]:
    """The core each worker is pinned to, by the worker's index; None: not pinned."""
    usable = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if affinity == "none" or len(usable) < 2:
        return [None] * workers
    return [usable[index % len(usable)] for index in range(workers)]


def run_worker(host: str, port: int, app: str, core: int | None = None) -> None:
    """One worker process: its own socket, one uvicorn server (uvloop and httptools when installed),
    on `core` alone when given (before any thread starts, so all of them stay there)."""
    import uvicorn

    if core is not None:
        os.sched_setaffinity(0, {core})
    sock = listening_socket(host, port)
    config = uvicorn.Config(app, host=host, port=port, access_log=False, timeout_graceful_shutdown=GRACEFUL_STOP_S)
    uvicorn.Server(config).run(sockets=[sock])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m reviewportal.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2, help="processes; one per core (%(default)s)")
    parser.add_argument("--app", default=APP, help="the ASGI application (%(default)s)")
    parser.add_argument(
        "--min-uptime",
        type=float,
        default=MIN_UPTIME_S,
        help="a worker that dies sooner after starting stops everything instead of being restarted (%(default)s s)",
    )
    parser.add_argument(
        "--cpu-affinity",
        choices=("spread", "none"),
        default="spread",
        help="spread: pin each worker to a core of its own; none: leave them to the kernel (%(default)s)",
    )
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parse_args(argv)
    try:
        # Fail here, with the reason, if the port is taken; closed again at once, since a socket
        # in the group that nobody accepts on would be handed connections that then hang.
        listening_socket(args.host, args.port).close()
    except OSError as error:
        print(f"reviewportal.serve: cannot listen on {args.host}:{args.port}: {error.strerror}", file=sys.stderr)
        return 1
    context = multiprocessing.get_context("spawn")
    cores = worker_cores(args.workers, args.cpu_affinity)

    def start(index: int) -> tuple[multiprocessing.Process, float]:
        process = context.Process(
            target=run_worker, args=(args.host, args.port, args.app, cores[index]), name="reviewportal-web"
        )
        process.start()
        return process, time.monotonic()

    stopping = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda signum, frame: stopping.append(signum))
    workers = [start(index) for index in range(args.workers)]
    log.info(
        "serving on http://%s:%d with %d workers (pids %s; %s)",
        args.host,
        args.port,
        args.workers,
        ", ".join(str(process.pid) for process, _ in workers),
        "cores " + ", ".join(str(core) for core in cores) if cores[0] is not None else "not pinned",
    )
    exit_code = 0
    while not stopping:
        multiprocessing.connection.wait([process.sentinel for process, _ in workers], timeout=1.0)
        for index, (process, started) in enumerate(workers):
            if process.is_alive() or stopping:
                continue
            if time.monotonic() - started < args.min_uptime:
                log.error(
                    "worker %d exited with %s within %.0f s of starting; stopping",
                    process.pid,
                    process.exitcode,
                    args.min_uptime,
                )
                exit_code = process.exitcode or 1
                stopping.append(None)
                break
            log.warning("worker %d exited with %s; starting another", process.pid, process.exitcode)
            workers[index] = start(index)
    for process, _ in workers:
        if process.is_alive():
            process.terminate()  # SIGTERM: uvicorn finishes open requests, then exits
    deadline = time.monotonic() + GRACEFUL_STOP_S + 5
    for process, _ in workers:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
