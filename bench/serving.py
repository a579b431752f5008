"""Serve the app the way `make serve` does, sign people in through the form, watch the server.

Shared by the benchmarks in bench/: start `python -m reviewportal.serve` (uvicorn workers)
against a chosen database and Redis db, wait until /healthz answers, sample the process tree's
memory and CPU while a run goes on, and stop it again (only the processes started here, by their
ids).
"""

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import psycopg

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = REPO_ROOT / ".venv" / "bin"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """A running `python -m reviewportal.serve --workers N`: the master process and the workers it started."""

    process: subprocess.Popen
    port: int
    workers: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def processes(self) -> list[psutil.Process]:
        try:
            master = psutil.Process(self.process.pid)
            return [master, *master.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def rss_bytes(self) -> int:
        """Resident memory of master and workers added up (shared pages are counted in each)."""
        total = 0
        for process in self.processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                total += process.memory_info().rss
        return total

    def cpu_seconds_by_process(self) -> dict[int, float]:
        """CPU seconds so far of the master and of each worker, by pid."""
        seconds = {}
        for process in self.processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                seconds[process.pid] = times.user + times.system
        return seconds


def worker_pids(server: Server) -> list[int]:
    """The worker processes' ids: the master's children that listen on the server's port (not,
    say, multiprocessing's resource tracker)."""
    pids = []
    for process in server.processes()[1:]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            if any(
                held.status == psutil.CONN_LISTEN and held.laddr.port == server.port
                for held in process.net_connections(kind="tcp")
            ):
                pids.append(process.pid)
    return pids


def worker_holding(pids: list[int], server_port: int, client_port: int) -> int | None:
    """The worker whose side of the connection from `client_port` is open, or None if none has
    accepted it yet."""
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            for held in psutil.Process(pid).net_connections(kind="tcp"):
                if held.laddr and held.raddr and held.laddr.port == server_port and held.raddr.port == client_port:
                    return pid
    return None


async def open_balanced(clients, server: Server, *, attempts: int = 50) -> dict[int, int]:
    """Open the clients' keep-alive connections so each worker holds its share, and return how
    many each holds.

    The kernel hands each new connection to one worker's socket by a hash of its ports
    (reviewportal.serve), so 8 long-lived connections often split 5 + 3 or 6 + 2 over two
    workers, and a run measures that split more than the code (docs/benchmarks.md). A proxy in
    front of the app spreads its upstream connections by count (nginx's least_conn); this does
    the same from the client's side: client i goes to worker i modulo the workers, in the order
    of the cores they are pinned to, and a connection that lands elsewhere is closed and opened
    again, up to `attempts` times. So fewer clients than workers always get the same workers:
    one reviewer is served from the first core in every run, not from whichever core the hash
    picked (the cores differ: docs/benchmarks.md, twelfth round).
    """
    pids = sorted(worker_pids(server), key=_first_core)
    held = dict.fromkeys(pids, 0)
    for index, client in enumerate(clients):
        wanted = pids[index % len(pids)] if pids else None
        pid = await connect_to_worker(client, server, pids, wanted, attempts=attempts)
        if pid is not None:
            held[pid] += 1
    return held


async def connect_to_worker(client, server: Server, pids: list[int], wanted: int | None, *, attempts: int):
    """Open the client's connection, opening it again until worker `wanted` holds it, up to
    `attempts` times; return the worker that holds it (the last attempt's is kept whoever holds
    it), or None if no worker accepted it in time."""
    for attempt in range(attempts):
        await client.connect()
        pid = await accepted_by(pids, server.port, client.local_port)
        if pid is None or pid == wanted or attempt == attempts - 1:
            return pid
        await client.close()
    return None


def _first_core(pid: int) -> int:
    with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied, AttributeError):
        return min(psutil.Process(pid).cpu_affinity())
    return 0


async def accepted_by(pids: list[int], server_port: int, client_port: int, timeout_s: float = 2.0) -> int | None:
    deadline = time.monotonic() + timeout_s
    while (pid := worker_holding(pids, server_port, client_port)) is None and time.monotonic() < deadline:
        await asyncio.sleep(0.005)  # accepted by the worker's event loop at its next turn
    return pid


def start_server(
    *,
    env: dict[str, str],
    workers: int,
    app_dir: Path,
    log_path: Path,
    app: str = "reviewportal.asgi:application",
    timeout_s: float = 60,
) -> Server:
    """Start the production command from the Makefile's `serve` target and wait until it answers.

    That is `python -m reviewportal.serve`: `workers` uvicorn processes, each with its own
    listening socket on the port. `app` exists for experiments (another entry point); the
    benchmarks themselves serve what the Makefile serves. Runs in its own session so that, should
    SIGTERM not end it, its process group can be killed without touching anything else.
    """
    port = free_port()
    command = [
        str(VENV_BIN / "python"),
        "-m",
        "reviewportal.serve",
        "--app",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, cwd=app_dir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(process=process, port=port, workers=workers, log_path=log_path)
    try:
        _wait_until_ready(server, timeout_s)
    except BaseException:
        stop_server(server)
        raise
    return server


def _wait_until_ready(server: Server, timeout_s: float) -> None:
    """Wait for every worker to exist and for /healthz (which touches the database) to answer."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited with {server.process.returncode}; see {server.log_path}")
        # The master, its workers and multiprocessing's resource tracker.
        expected = server.workers + 2
        if len(server.processes()) >= expected:
            try:
                if httpx.get(f"{server.base_url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
        time.sleep(0.2)
    raise TimeoutError(f"the server did not answer /healthz within {timeout_s:.0f} s; see {server.log_path}")


def exit_on_sigterm() -> None:
    """Let `kill` end a benchmark as Ctrl-C does: through its finally blocks, which stop the servers
    it started. They run in sessions of their own, so the signal does not reach them, and Python's
    default for SIGTERM ends at once and left them serving (found still running after a kill)."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def stop_server(server: Server, timeout_s: float = 20) -> None:
    """SIGTERM the master (it stops its workers); kill the process group only if that fails."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout_s)


async def sign_in(client: httpx.AsyncClient, username: str, password: str, totp_code=None) -> None:
    """Sign in through the HTML forms as a browser does: the password, then the second factor.

    `totp_code()` returns a current TOTP code for the person's device. Leaves the session and the
    (rotated) csrftoken cookies in the client. Raises if a step does not redirect, which is how the
    forms say a password or code was wrong.
    """
    (await client.get("/login/")).raise_for_status()
    response = await client.post(
        "/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": client.cookies["csrftoken"]},
    )
    if response.status_code != 302 or "sessionid" not in client.cookies:
        raise RuntimeError(f"sign-in of {username} failed with HTTP {response.status_code}")
    if totp_code is None:
        return
    response = await client.post(
        "/login/verify", data={"code": totp_code(), "csrfmiddlewaretoken": client.cookies["csrftoken"]}
    )
    if response.status_code != 302:
        raise RuntimeError(f"second factor of {username} failed with HTTP {response.status_code}")


# pg_stat_database's columns for the benchmark's database, then pg_stat_wal's for the server.
DATABASE_COUNTERS = (
    "sessions",
    "xact_commit",
    "xact_rollback",
    "tup_returned",
    "tup_fetched",
    "tup_inserted",
    "tup_updated",
    "tup_deleted",
    "blks_hit",
    "blks_read",
    "wal_records",
    "wal_fpi",
    "wal_bytes",
)
_COUNTERS_QUERY = (
    "SELECT sessions, xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted, tup_updated,"
    " tup_deleted, blks_hit, blks_read, w.wal_records, w.wal_fpi, w.wal_bytes"
    " FROM pg_stat_database, pg_stat_wal AS w WHERE datname = %s"
)


@dataclass
class ResourceSample:
    """CPU seconds used by each party and wall time, at one instant."""

    wall: float
    client_cpu: float
    server_cpu: dict[int, float]
    postgres_cpu: dict[int, float]
    system_busy: float


class Sampler(threading.Thread):
    """Samples the server's RSS (for its peak) and snapshots CPU use when the window opens and closes.

    Runs beside the load so that the peak is seen while requests are in flight, not after.
    `window_start`/`window_end` are time.perf_counter() values.
    """

    def __init__(
        self,
        *,
        server: Server | None,
        window_start: float,
        window_end: float,
        database_dsn: str,
        database_name: str,
        interval_s: float = 0.2,
    ):
        super().__init__(name="bench-sampler", daemon=True)
        self.server = server
        self.database_dsn = database_dsn
        self.database_name = database_name
        self.peak_database_backends = 0
        self.database_counters: list[dict[str, int]] = []
        self.window_start = window_start
        self.window_end = window_end
        self.interval_s = interval_s
        self.peak_rss = 0
        self.at_start: ResourceSample | None = None
        self.at_end: ResourceSample | None = None
        self._stopping = threading.Event()

    def run(self) -> None:
        this_process = psutil.Process()
        # Its own connection, outside Django, so sampling never shares a connection with the load.
        with psycopg.connect(self.database_dsn, autocommit=True) as database:
            while not self._stopping.is_set():
                now = time.perf_counter()
                if self.server is not None:
                    self.peak_rss = max(self.peak_rss, self.server.rss_bytes())
                self.peak_database_backends = max(self.peak_database_backends, self._backends(database))
                if self.at_start is None and now >= self.window_start:
                    self.at_start = self._snapshot(this_process)
                    self.database_counters.append(self._counters(database))
                if self.at_end is None and now >= self.window_end:
                    self.at_end = self._snapshot(this_process)
                    self.database_counters.append(self._counters(database))
                self._stopping.wait(self._until_next_tick())
            if self.at_end is None:
                # The load stopped right at the window's end, before the next tick.
                self.at_end = self._snapshot(this_process)
                self.database_counters.append(self._counters(database))

    def _until_next_tick(self) -> float:
        """Seconds to sleep: the interval, cut short so that snapshots fall right on the window's edges.

        At the end this matters: the load closes its database connections right after, and a
        backend caught exiting is in neither its own nor its parent's CPU times.
        """
        boundary = self.window_start if self.at_start is None else self.window_end if self.at_end is None else None
        if boundary is None:
            return self.interval_s
        return max(0.0, min(self.interval_s, boundary - time.perf_counter()))

    def _backends(self, database) -> int:
        """Connections to the benchmark database other than this sampler's."""
        query = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
        return database.execute(query, [self.database_name]).fetchone()[0]

    def _counters(self, database) -> dict[str, int]:
        """PostgreSQL's running totals for the benchmark database (sessions: PostgreSQL 14+) and the
        server's WAL. The statistics are flushed by each backend at most once a second, so the
        differences over a window of a few seconds are close, not exact."""
        row = database.execute(_COUNTERS_QUERY, [self.database_name]).fetchone()
        return dict(zip(DATABASE_COUNTERS, (int(value) for value in row), strict=True))

    def database_counters_in_window(self) -> dict[str, int] | None:
        """How much each of DATABASE_COUNTERS grew during the window."""
        if len(self.database_counters) < 2:
            return None
        start, end = self.database_counters[:2]
        return {name: end[name] - start[name] for name in DATABASE_COUNTERS}

    def database_sessions_opened(self) -> int | None:
        """New PostgreSQL sessions during the window: a pooled server opens none."""
        counters = self.database_counters_in_window()
        return None if counters is None else counters["sessions"]

    def _snapshot(self, this_process: psutil.Process) -> ResourceSample:
        own = this_process.cpu_times()
        return ResourceSample(
            wall=time.perf_counter(),
            client_cpu=own.user + own.system,
            server_cpu=self.server.cpu_seconds_by_process() if self.server else {},
            postgres_cpu=_postgres_cpu_seconds(),
            system_busy=machine_busy_seconds(),
        )

    def stop(self) -> None:
        self._stopping.set()
        self.join()

    def cpu_percent(self) -> dict | None:
        """CPU used in the window as % of one core (this machine's ceiling is cores times 100 %)."""
        if self.at_start is None or self.at_end is None:
            return None
        wall = self.at_end.wall - self.at_start.wall
        if wall <= 0:
            return None
        # Per process, so that a worker left idle while another is saturated shows.
        by_process = [
            100 * (self.at_end.server_cpu[pid] - self.at_start.server_cpu[pid]) / wall
            for pid in self.at_start.server_cpu
            if pid in self.at_end.server_cpu
        ]
        # A backend that exited in the window is in its parent's children times (see below).
        postgres = sum(
            seconds - self.at_start.postgres_cpu.get(pid, 0.0) for pid, seconds in self.at_end.postgres_cpu.items()
        )
        return {
            "client": 100 * (self.at_end.client_cpu - self.at_start.client_cpu) / wall,
            "postgres": 100 * postgres / wall,
            "server": sum(by_process),
            "server_processes": sorted(by_process, reverse=True),
            "machine": 100 * (self.at_end.system_busy - self.at_start.system_busy) / wall,
        }


def _postgres_cpu_seconds() -> dict[int, float]:
    """CPU seconds so far of every PostgreSQL process on this machine, by pid.

    Children times are included: the postmaster collects those of each backend it reaps, so a
    backend forked for one request and gone a moment later is still counted. Other databases'
    backends on the same server count too; the machine is shared.
    """
    seconds = {}
    for process in psutil.process_iter(["name", "cpu_times"]):
        times = process.info["cpu_times"]
        if process.info["name"] == "postgres" and times is not None:
            seconds[process.pid] = times.user + times.system + times.children_user + times.children_system
    return seconds


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy so far, all cores (idle and waiting on I/O left out)."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def machine_busy_percent(seconds: float = 1.0) -> float:
    """CPU busy across the machine over `seconds`, as % of one core."""
    before = machine_busy_seconds()
    time.sleep(seconds)
    return 100 * (machine_busy_seconds() - before) / seconds


def wait_for_quiet_machine(*, threshold_percent: float, timeout_s: float, log) -> float:
    """Wait until others' load drops under `threshold_percent` of a core, or `timeout_s` passes.

    The machine is shared: a test suite someone else starts would otherwise land in the numbers.
    Returns the last load seen, which the run records.
    """
    deadline = time.monotonic() + timeout_s
    load = machine_busy_percent()
    while load > threshold_percent and time.monotonic() < deadline:
        log(f"  machine busy ({load:.0f}% of a core) before the run; waiting")
        time.sleep(4)
        load = machine_busy_percent()
    return load
