"""Queue benchmark: how many claim → save → submit cycles a second, and how long each call takes.

K reviewers work the review loop flat out (no think time) on a queue of exactly N clips, in three modes:

  http-fresh       HTTP to the app served as the README serves it for production (`make serve`:
                   uvicorn with workers, PostgreSQL, Redis), a new TCP connection for every request
  http-keepalive   the same, one persistent connection per reviewer
  in-process       annotations.services called directly from K threads, each with its own
                   database connection: the database's share of a cycle, without HTTP and views

Each reviewer signs in through the login form once; every API write carries X-CSRFToken. Each
(mode, K, N) run starts from exactly N queued clips: the annotations tables are truncated, N
rows are inserted by one SQL statement per batch (all pointing at one real 2 s WAV written once,
with its real 400-byte peaks), after a history of 20,000 clips already reviewed (their leases,
revisions and events: seed_history), then VACUUM ANALYZE and CHECKPOINT so plans and disk state
are those of a settled database. A run is a warm-up, whose calls are dropped, then a fixed
wall-clock window: cycles/s counts submits that finished inside it; p50/p95/p99 are over every
call that started inside it. Alongside: peak RSS of the uvicorn master plus workers, CPU of
client, server, PostgreSQL and the whole machine, PostgreSQL connections opened and what PostgreSQL
did per cycle (commits, rows read, buffers, WAL: pg_stat_database, pg_stat_wal), queries per call, and
EXPLAIN (ANALYZE, BUFFERS) of the exact claim query before and after a run.

Everything happens in a dedicated database (default reviewportal_bench, created if missing and
migrated) and a dedicated Redis db (default 13). Results: a table on stdout, progress on
stderr, JSON and Markdown under bench/results/, the chart in docs/bench-queue.svg.

    .venv/bin/python bench/queue.py --quick        # a minute or two: K = 1, 8 at N = 10k
    .venv/bin/python bench/queue.py                # the full table in docs/benchmarks.md
    .venv/bin/python bench/queue.py --help
"""

import sys
from pathlib import Path

# Run as `python bench/queue.py`, Python puts bench/ first on sys.path, where this file would
# shadow the standard library's `queue` (which concurrent.futures and logging import). Put the
# repository root there instead, before anything else is imported.
REPO_ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == REPO_ROOT / "bench":
    sys.path[0] = str(REPO_ROOT)

# ruff: noqa: E402
import argparse
import asyncio
import json
import logging
import os
import re
import secrets
import shutil
import statistics
import subprocess
import threading
import time
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime

import django
import httpx
import psycopg
import uvloop
from tqdm import tqdm

from bench import chart, http1, machine, serving
from bench.stats import mean_interval, summarise

BENCH_RESULTS = REPO_ROOT / "bench" / "results"
DEFAULT_CHART = REPO_ROOT / "docs" / "bench-queue.svg"
MODES = ("http-fresh", "http-keepalive", "in-process")
CALLS = ("claim", "save", "submit")
REVIEWER_PREFIX = "bench-reviewer-"
AUDIO_NAME = "bench/queue-2s.wav"
BENCH_POOL = "bench"
SEED_BATCH = 50_000
# Clips already reviewed before every run, each with its ended lease, its revision and its four
# events: the database of a deployment that has been working for a while (see seed_history()).
HISTORY_CLIPS = 20_000
# What a reviewer types. Never logged: only its length would ever matter here.
TRANSCRIPT_TEXT = "set a timer for ten minutes and turn the kitchen lights off"
TRANSCRIPT_SEGMENTS = [{"start_ms": 0, "end_ms": 1900, "text": TRANSCRIPT_TEXT, "speaker": "A", "tags": []}]


def log(message: str) -> None:
    """Progress goes to stderr, so stdout holds only the results table."""
    print(message, file=sys.stderr, flush=True)


def human_count(n: int) -> str:
    """10000 → 10k, 1000000 → 1M: how the issue names backlog sizes."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= size and n % size == 0:
            return f"{n // size}{suffix}"
    return str(n)


# --- Configuration -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSpec:
    mode: str
    reviewers: int
    clips: int
    workers: int | None  # None for in-process: there is no server
    audit: bool = True  # the access trail on (production) or off (to measure what it costs)
    repeat: int = 1  # which of --repeat runs of the same (mode, K, N, workers, trail) this is


@dataclass(frozen=True)
class Config:
    postgres: str
    database: str
    redis_db: int
    runs: tuple[RunSpec, ...]
    warmup_s: float
    duration_s: float
    app_dir: Path
    app: str
    chart_path: Path | None
    label: str
    quiet_percent: float
    quiet_timeout_s: float
    from_json: list[Path]
    fresh_servers: bool = False

    @property
    def database_url(self) -> str:
        return f"{self.postgres.rstrip('/')}/{self.database}"

    @property
    def max_reviewers(self) -> int:
        return max(spec.reviewers for spec in self.runs)


def _int_list(text: str) -> list[int]:
    return [int(float(item)) for item in text.split(",") if item.strip()]


def _mode_list(text: str) -> list[str]:
    modes = [item.strip() for item in text.split(",") if item.strip()]
    unknown = set(modes) - set(MODES)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown mode(s) {', '.join(sorted(unknown))}; choose from {', '.join(MODES)}"
        )
    return modes


def parse_args(argv: list[str] | None) -> Config:
    parser = argparse.ArgumentParser(
        prog="bench/queue.py",
        description="Queue benchmark: claim → save → submit cycles by K reviewers on N queued clips, over HTTP "
        "(fresh connection per request, keep-alive) and in-process. See the module docstring for the method.",
    )
    add = parser.add_argument
    add("--quick", action="store_true", help="a short run: K = 1,8 at N = 10k, no large backlog, 1 s + 5 s windows")
    add("--modes", type=_mode_list, default=",".join(MODES), help=f"comma-separated, from {', '.join(MODES)} (all)")
    add("-k", "--reviewers", type=_int_list, help="K values (default 1,8,32; --quick 1,8)")
    add("-n", "--clips", type=_int_list, help="N values (default 10000,100000; --quick 10000)")
    add("--large-clips", type=_int_list, default="1000000", help="N of the large-backlog runs (%(default)s)")
    add("--large-reviewers", type=_int_list, default="1,8", help="K of the large-backlog runs (%(default)s)")
    add("--large-modes", type=_mode_list, default="http-keepalive,in-process", help="their modes (%(default)s)")
    add("--no-large", action="store_true", help="skip the large-backlog runs")
    add("--workers", type=_int_list, default="2", help="uvicorn --workers values for the HTTP modes (%(default)s)")
    add("--duration", type=float, help="measured seconds per run (default 15; --quick 5)")
    add("--warmup", type=float, help="seconds per run before measuring (default 3; --quick 1)")
    add("--postgres", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL (%(default)s)")
    add("--database", default="reviewportal_bench", help="benchmark database, created if missing (%(default)s)")
    add("--redis-db", type=int, default=13, help="Redis db number for cache and sessions (%(default)s)")
    add("--app-dir", type=Path, default=REPO_ROOT, help="checkout to serve, e.g. a scratch copy (this repo)")
    add("--app", default="reviewportal.asgi:application", help="what the server serves, for experiments (%(default)s)")
    add("--chart", type=Path, help="SVG path (default docs/bench-queue.svg; --quick: bench/results/); '' for none")
    add("--label", default="", help="a word added to the result file names")
    add(
        "--from-json",
        type=Path,
        nargs="+",
        default=[],
        help="run nothing: print the tables (and write the chart) of earlier JSON results; "
        "a run in a later file replaces the same (mode, K, N, workers) in an earlier one",
    )
    add(
        "--quiet-percent",
        type=float,
        default=30.0,
        help="before each run, wait while the machine is busier than this %% of a core (%(default)s)",
    )
    add("--quiet-timeout", type=float, default=120.0, help="longest such wait in seconds (%(default)s)")
    add(
        "--fresh-servers",
        action="store_true",
        help="start a new server for every run instead of keeping one per (workers, trail): two runs of the "
        "same code gave the trail 0 %% and 16 %% at K = 8, each with its pairs agreeing, so a pair of kept "
        "servers measures their own luck",
    )
    add(
        "--audit",
        choices=["on", "off", "both"],
        default="on",
        help="the access trail on (production), off, or both to measure its cost as a ratio in one run (%(default)s)",
    )
    add(
        "--repeat",
        type=int,
        default=1,
        help="run each (mode, K, N) this many times; with --audit both, trail on and off alternate "
        "(on/off, off/on, ...) against two servers kept running, and the cost is the median of the pairs",
    )
    args = parser.parse_args(argv)
    if "bench" not in args.database:
        parser.error("--database must name a benchmark database (containing 'bench'): its tables are truncated")
    quick = args.quick
    args.reviewers = args.reviewers or ([1, 8] if quick else [1, 8, 32])
    args.clips = args.clips or ([10_000] if quick else [10_000, 100_000])
    args.no_large = args.no_large or quick
    args.duration = args.duration or (5.0 if quick else 15.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if quick else 3.0)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    runs = _plan(args)
    if args.chart is None:
        args.chart = BENCH_RESULTS / "queue-quick.svg" if quick else DEFAULT_CHART
    return Config(
        postgres=args.postgres,
        database=args.database,
        redis_db=args.redis_db,
        runs=tuple(runs),
        warmup_s=args.warmup,
        duration_s=args.duration,
        app_dir=args.app_dir.resolve(),
        app=args.app,
        chart_path=args.chart if str(args.chart) not in {"", "."} else None,
        label=args.label,
        quiet_percent=args.quiet_percent,
        quiet_timeout_s=args.quiet_timeout,
        fresh_servers=args.fresh_servers,
        from_json=args.from_json,
    )


def _plan(args) -> list[RunSpec]:
    """HTTP runs grouped by worker count, then in-process runs; each (mode, K, N) --repeat times in a row.

    With --audit both, trail on and off alternate within each (mode, K, N): on, off, then off, on,
    and so on, so a drift in the machine's load during the runs falls on both sides alike.
    """
    audits = {"on": [True], "off": [False], "both": [True, False]}[args.audit]
    runs = []
    for spec in _plan_one(args):
        for repeat in range(1, args.repeat + 1):
            order = audits if repeat % 2 else audits[::-1]
            runs += [replace(spec, audit=audit, repeat=repeat) for audit in order]
    return runs


def _plan_one(args) -> list[RunSpec]:
    selections = [(args.modes, args.reviewers, args.clips)]
    if not args.no_large:
        selections.append((args.large_modes, args.large_reviewers, args.large_clips))
    runs: list[RunSpec] = []
    for workers in args.workers:
        for modes, reviewer_counts, clip_counts in selections:
            for clips in clip_counts:
                for mode in (mode for mode in modes if mode != "in-process"):
                    runs += [RunSpec(mode, k, clips, workers) for k in reviewer_counts]
    for modes, reviewer_counts, clip_counts in selections:
        if "in-process" in modes:
            runs += [RunSpec("in-process", k, clips, None) for clips in clip_counts for k in reviewer_counts]
    return runs


# --- Environment, database, people ---------------------------------------------------------------


def server_environment(config: Config) -> dict[str, str]:
    """The environment `make serve` would run with in production, pointed at the benchmark stores."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "reviewportal.settings",
        "DATABASE_URL": config.database_url,
        "REDIS_URL": f"redis://127.0.0.1:6379/{config.redis_db}",
        "CACHE_KEY_PREFIX": "reviewportal-bench",
        "CHANNEL_PREFIX": "reviewportal-bench",
        # Plain http on loopback; production's TLS terminates in nginx, which is not measured here.
        "SECURE_COOKIES": "0",
        "DEBUG": "0",
        # Volume limits protect against people listening to too much; the benchmark's reviewers
        # are machines doing hundreds of clips a second on purpose.
        "VOLUME_CLAIMS_PER_MINUTE": "0",
        "VOLUME_AUDIO_LINKS_PER_MINUTE": "0",
        # Reviewers signed in at the start may wait idle through earlier runs; a real shift would
        # not leave a session unused for 15 minutes and then expect it to work.
        "SESSION_IDLE_SECONDS": "86400",
    }
    return env


def prepare_django(config: Config) -> None:
    """Write missing keys, create and migrate the benchmark database, then load Django in this process."""
    subprocess.run([sys.executable, "-m", "reviewportal.keys"], cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL)
    os.environ.update(server_environment(config))
    # This process is the in-process mode's app: K reviewer threads hold a connection each at
    # once, and a pool sized for one server worker would make them queue for it. (The server gets
    # the environment from before this line.)
    os.environ["DATABASE_POOL_MAX"] = str(max(config.max_reviewers + 2, 20))
    with psycopg.connect(f"{config.postgres.rstrip('/')}/postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config.database]).fetchone()
        if not exists:
            log(f"creating database {config.database}")
            admin.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(config.database)))
    # Serving the API needs no collected static files; WhiteNoise would only say they are missing.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    django.setup()
    # The settings log INFO to the console; a line per client request would cost client CPU.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from django.core.management import call_command

    log(f"migrating {config.database}")
    call_command("migrate", interactive=False, verbosity=0)


def ensure_reviewers(count: int) -> tuple[list, str]:
    """`count` users in the reviewers group, all with one fresh password (hashed once, not per user),
    each with a confirmed TOTP device (they sign in with both factors, as people must), and all
    allowed to draw from the benchmark's pool."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from guardian.shortcuts import assign_perm

    from annotations.models import ClipPool
    from reviewportal.accounts.roles import REVIEWERS

    user_model = get_user_model()
    password = secrets.token_urlsafe(18)
    hashed = make_password(password)
    names = [f"{REVIEWER_PREFIX}{index:02d}" for index in range(1, count + 1)]
    existing = set(user_model.objects.filter(username__in=names).values_list("username", flat=True))
    user_model.objects.bulk_create([user_model(username=name) for name in names if name not in existing])
    user_model.objects.filter(username__in=names).update(password=hashed, is_active=True)
    users = list(user_model.objects.filter(username__in=names).order_by("username"))
    reviewers = Group.objects.get(name=REVIEWERS)
    reviewers.user_set.add(*users)
    for user in users:
        if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    # Sign-ins reuse codes across runs; let each device accept the current step again.
    TOTPDevice.objects.filter(user__in=users).update(last_t=-1, throttling_failure_count=0)
    pool, _ = ClipPool.objects.get_or_create(slug=BENCH_POOL, defaults={"name": "benchmark clips"})
    assign_perm("annotations.review_pool", reviewers, pool)
    return users, password


def app_commit(app_dir: Path) -> str:
    """The served checkout's commit, with "+changes" if its tracked files differ: numbers go with code."""
    git = shutil.which("git")
    if git is None:
        return "unknown (no git)"
    head = subprocess.run([git, "rev-parse", "--short", "HEAD"], cwd=app_dir, capture_output=True, text=True)
    if head.returncode != 0:
        return "unknown (not a git checkout)"
    changed = subprocess.run([git, "diff", "--quiet", "HEAD"], cwd=app_dir, capture_output=True).returncode != 0
    return head.stdout.strip() + ("+changes" if changed else "")


def postgres_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


# --- The queue: one real audio file, N rows pointing at it ----------------------------------------


def write_bench_audio():
    """Write one real 2 s, 16 kHz mono WAV into the audio storage and return what ingest reads from it."""
    import numpy as np
    import soundfile

    from annotations.ingest import inspect_audio
    from annotations.models import audio_storage

    storage = audio_storage()
    path = Path(storage.path(AUDIO_NAME))
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        t = np.arange(2 * 16000) / 16000
        # A voiced tone with a syllable rhythm, so the peaks rise and fall like speech.
        samples = (0.4 * np.sin(2 * np.pi * 140 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2).astype(np.float32)
        soundfile.write(path, samples, 16000, format="WAV", subtype="PCM_16")
    return inspect_audio(path, name=path.name)


def reset_queue(clips: int, audio, *, show_progress: bool, history: int = HISTORY_CLIPS) -> float:
    """Empty the annotations tables and queue exactly `clips` clips after `history` clips already
    reviewed (seed_history); return the seconds it took.

    Rows are built by PostgreSQL (generate_series) in batches rather than by the ingest path:
    decoding a million files would measure ingest, not the queue. Priorities and arrival times
    vary as in a real backlog: most clips at priority 0, a fifth at 1 to 100, arrivals over 3 days.
    """
    from django.db import connection

    from annotations.models import (
        Clip,
        ClipPool,
        ClipUserObjectPermission,
        Lease,
        SourceIdentity,
        TranscriptRevision,
    )
    from reviewportal.audit.models import AccessEvent, ReviewerHour

    started = time.perf_counter()
    # The trail is append-only for the app; a benchmark database may start each run from empty.
    truncated = (Clip, Lease, TranscriptRevision, SourceIdentity, ClipUserObjectPermission, AccessEvent, ReviewerHour)
    tables = ", ".join(model._meta.db_table for model in truncated)
    insert = f"""
        INSERT INTO {Clip._meta.db_table} (public_id, pool_id, audio_name, audio_format, audio_codec, audio_bytes,
            duration_ms, sample_rate, channels, peaks, peaks_per_second, locale, asr_text, priority, status,
            recorded_at, received_at, possible_distress, distress_reason, purge_reason)
        SELECT gen_random_uuid(), %(pool_id)s, %(audio_name)s, %(format)s, %(codec)s, %(size)s, %(duration_ms)s,
            %(sample_rate)s, %(channels)s, %(peaks)s, %(peaks_per_second)s,
            (ARRAY['en-US', 'en-GB', 'de-DE', 'fr-FR', 'es-ES'])[1 + floor(random() * 5)::int],
            'set a timer for ten minutes',
            CASE WHEN random() < 0.8 THEN 0 ELSE 1 + floor(random() * 100)::int END, 'queued',
            received_at - random() * interval '5 seconds', received_at, false, '', ''
        FROM (SELECT now() - random() * interval '3 days' AS received_at FROM generate_series(1, %(count)s)) AS arrivals
    """  # noqa: S608  table names come from the models, values are parameters
    params = {
        "pool_id": ClipPool.objects.get(slug=BENCH_POOL).pk,
        "audio_name": AUDIO_NAME,
        "format": audio.format,
        "codec": audio.codec,
        "size": audio.size_bytes,
        "duration_ms": audio.duration_ms,
        "sample_rate": audio.sample_rate,
        "channels": audio.channels,
        "peaks": audio.peaks,
        "peaks_per_second": audio.peaks_per_second,
    }
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        cursor.execute("SELECT setseed(0.42)")  # the same backlog shape on every run
        with tqdm(
            total=clips, desc=f"queueing {human_count(clips)} clips", unit=" clips", disable=not show_progress
        ) as progress:
            for offset in range(0, clips, SEED_BATCH):
                batch = min(SEED_BATCH, clips - offset)
                cursor.execute(insert, {**params, "count": batch})
                progress.update(batch)
        seed_history(cursor, history, params)
        for model in (Clip, Lease, TranscriptRevision, ClipUserObjectPermission, AccessEvent):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
        # Flush the seeding's dirty pages now, not in a checkpoint halfway through the window.
        cursor.execute("CHECKPOINT")
    return time.perf_counter() - started


def seed_history(cursor, clips: int, params: dict) -> None:
    """Add `clips` clips reviewed before the run: submitted, each with its ended lease (the bench's
    reviewers in turn), one revision as its final one, and the four events a cycle records.

    Without a history the leases, revisions and events tables start every run empty, and the
    statistics VACUUM ANALYZE gives them say so. PostgreSQL then plans the loop's lookups in them
    as sequential scans, each server connection keeps those plans (prepared statements) while the
    tables grow through the window, and every call reads every lease and revision written since
    the run began: thousands of rows a cycle by the window's end. A deployment's tables are never
    empty, and autovacuum's ANALYZE would re-plan them within a minute; a run is too short for it.
    The events are not a valid chain (their hashes are placeholders): the benchmark never verifies
    its trail.
    """
    from django.contrib.auth import get_user_model

    from annotations.models import Clip, Lease, TranscriptRevision
    from reviewportal.audit.models import AccessEvent

    clip, lease, revision = Clip._meta.db_table, Lease._meta.db_table, TranscriptRevision._meta.db_table
    event, user = AccessEvent._meta.db_table, get_user_model()._meta.db_table
    reviewers = f"(SELECT array_agg(id ORDER BY id) FROM {user} WHERE username LIKE '{REVIEWER_PREFIX}%%')"  # noqa: S608  names from the models
    segments = json.dumps(TRANSCRIPT_SEGMENTS)
    statements = [
        f"""INSERT INTO {clip} (public_id, pool_id, audio_name, audio_format, audio_codec, audio_bytes,
            duration_ms, sample_rate, channels, peaks, peaks_per_second, locale, asr_text, priority, status,
            recorded_at, received_at, submitted_at, possible_distress, distress_reason, purge_reason)
        SELECT gen_random_uuid(), %(pool_id)s, %(audio_name)s, %(format)s, %(codec)s, %(size)s, %(duration_ms)s,
            %(sample_rate)s, %(channels)s, %(peaks)s, %(peaks_per_second)s, 'en-US', 'set a timer for ten minutes',
            0, 'submitted', done - interval '1 day', done - interval '1 hour', done, false, '', ''
        FROM (SELECT now() - interval '4 days' + n * interval '10 seconds' AS done
              FROM generate_series(1, %(count)s) AS n) AS history""",  # noqa: S608
        f"""INSERT INTO {lease} (public_id, started_at, expires_at, ended_at, outcome, release_reason, clip_id,
            reviewer_id, is_next)
        SELECT gen_random_uuid(), c.submitted_at - interval '30 seconds', c.submitted_at + interval '10 minutes',
            c.submitted_at, 'submitted', '', c.id, r.ids[1 + c.id %% cardinality(r.ids)], false
        FROM {clip} AS c, {reviewers} AS r(ids) WHERE c.status = 'submitted'""",  # noqa: S608
        f"""INSERT INTO {revision} (clip_id, version, author_id, lease_id, text, segments, tags, created_at)
        SELECT clip_id, 1, reviewer_id, id, %(text)s, %(segments)s::jsonb, '[]'::jsonb, ended_at FROM {lease}""",  # noqa: S608
        f"UPDATE {clip} AS c SET final_revision_id = r.id FROM {revision} AS r WHERE r.clip_id = c.id",  # noqa: S608
        f"""INSERT INTO {event} (lane, sequence, at, actor_user_id, actor_label, action, object_type, object_id,
            outcome, ip, user_agent, session_hash, request_id, detail, prev_hash, hash)
        SELECT 0, row_number() OVER (ORDER BY l.id, a.step), l.ended_at, l.reviewer_id, u.username, a.action,
            'clip', c.public_id::text, 'allowed', '127.0.0.1', 'bench', '', md5(l.id::text), '{{}}'::jsonb,
            repeat('0', 64), repeat('0', 64)
        FROM {lease} AS l JOIN {clip} AS c ON c.id = l.clip_id JOIN {user} AS u ON u.id = l.reviewer_id,
            (VALUES (1, 'clip_claimed'), (2, 'audio_token_issued'), (3, 'transcript_saved'),
                    (4, 'clip_submitted')) AS a(step, action)""",  # noqa: S608
    ]
    for statement in statements:
        cursor.execute(statement, {**params, "count": clips, "text": TRANSCRIPT_TEXT, "segments": segments})


# --- Recording a run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A run's timeline in time.perf_counter() seconds: warm-up from `start`, measured in [measure_start, end)."""

    start: float
    measure_start: float
    end: float

    @classmethod
    def starting_now(cls, warmup_s: float, duration_s: float) -> "Window":
        start = time.perf_counter()
        return cls(start, start + warmup_s, start + warmup_s + duration_s)

    def measures(self, instant: float) -> bool:
        return self.measure_start <= instant < self.end


@dataclass
class Recorder:
    """Per-call latencies, finished cycles and failures of one run; appended to from threads or tasks."""

    window: Window
    latencies: dict[str, list[float]] = field(default_factory=lambda: {call: [] for call in CALLS})
    cycles: int = 0
    requests: int = 0
    connections_opened: int = 0
    empty_claims: int = 0
    failures: Counter = field(default_factory=Counter)
    # `+=` is not atomic across threads; the in-process mode counts from K of them.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def call(self, name: str, started: float, finished: float) -> None:
        with self._lock:
            self.requests += 1
            if self.window.measures(started):
                self.latencies[name].append(finished - started)

    def cycle(self, finished: float) -> None:
        if self.window.measures(finished):
            with self._lock:
                self.cycles += 1

    def empty_claim(self) -> None:
        with self._lock:
            self.empty_claims += 1

    def failure(self, call: str, what: str) -> None:
        with self._lock:
            self.failures[f"{call}: {what}"] += 1


# --- Load over HTTP -----------------------------------------------------------------------------


def sign_in_apart(users: list, password: str, *, env: dict[str, str], app_dir: Path, app: str, log_path: Path):
    """Sign the reviewers in through a server of its own, stopped before any run: each reviewer's
    cookies (sessionid, csrftoken), valid on every server of the same database and cache.

    Signing in through one of the measured servers grew its workers' pools of database connections
    (sign-ins run four at a time; 6 backends against 3), and a pool hands out its connections in
    turn, so that server's requests went to more PostgreSQL backends, each less warm. In an A/A
    check it ran 12 % slower at K = 8 than an identical server started next to it, and -1 % once
    the sign-in went elsewhere (docs/benchmarks.md, twelfth round; how much of the 12 % was the
    pools and how much each process's own luck, see --fresh-servers, was not separated)."""
    server = serving.start_server(env=env, workers=1, app_dir=app_dir, log_path=log_path, app=app)
    try:
        return sign_in_reviewers(server.base_url, users, password)
    finally:
        serving.stop_server(server)


def sign_in_reviewers(base_url: str, users: list, password: str) -> list[dict[str, str]]:
    """Sign every reviewer in through the forms (password, then a real TOTP code from their device);
    return each one's cookies (sessionid, csrftoken)."""
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    keys = {device.user_id: device.bin_key for device in TOTPDevice.objects.filter(user__in=users, confirmed=True)}
    codes = {user.pk: (lambda key=keys[user.pk]: f"{totp(key):06d}") for user in users}

    async def sign_in_all() -> list[dict[str, str]]:
        # Few at a time: each sign-in is a deliberately slow password hash on the server.
        limit = asyncio.Semaphore(4)

        async def one(user) -> dict[str, str]:
            async with limit, httpx.AsyncClient(base_url=base_url, timeout=60) as client:
                await serving.sign_in(client, user.username, password, totp_code=codes[user.pk])
                return dict(client.cookies)

        return await asyncio.gather(*(one(user) for user in users))

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(sign_in_all())


def run_http(
    server: serving.Server,
    cookies: list[dict[str, str]],
    *,
    fresh: bool,
    warmup_s: float,
    duration_s: float,
    sampler_factory,
):
    """K reviewers (one per cookie set) as asyncio tasks in this process, each with its own connection.

    The load is sent with bench/http1.py, not httpx: on these 2 cores every millisecond of client
    CPU is one the server does not get (httpx took 30-35 % of a core at K = 8). Keep-alive
    connections are opened before the run, spread evenly over the workers
    (serving.open_balanced); the split is logged.
    """

    async def load() -> tuple[Recorder, object]:
        clients = [http1.Client("127.0.0.1", server.port, cookies=jar, fresh=fresh) for jar in cookies]
        if not fresh:
            held = await serving.open_balanced(clients, server)
            log(f"  keep-alive connections per worker: {' + '.join(str(count) for count in held.values())}")
        window = Window.starting_now(warmup_s, duration_s)
        # Counted from here: the K kept connections, not the ones opened again to balance them.
        recorder = Recorder(window, connections_opened=0 if fresh else len(clients))

        def opened() -> None:
            recorder.connections_opened += 1

        for client in clients:
            client.on_connect = opened
        sampler = sampler_factory(window)
        sampler.start()
        try:
            await asyncio.gather(
                *(
                    _http_reviewer(client, jar["csrftoken"], recorder)
                    for client, jar in zip(clients, cookies, strict=True)
                )
            )
        finally:
            sampler.stop()
            for client in clients:
                await client.close()
        return recorder, sampler

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(load())


async def _http_reviewer(client: http1.Client, csrf_token: str, recorder: Recorder) -> None:
    """One reviewer's loop: claim, save a transcript on top of the clip's version, submit it."""
    headers = {"X-CSRFToken": csrf_token}
    while time.perf_counter() < recorder.window.end:
        if await http_cycle(client, headers, recorder):
            recorder.cycle(time.perf_counter())


async def http_cycle(client: http1.Client, headers: dict[str, str], recorder: Recorder) -> bool:
    """One claim → save → submit, each call's latency recorded; False (a failure or an empty queue
    recorded, after a short pause) if it did not get to the submit."""

    async def timed(call: str, method: str, url: str, *, ok: set[int], json=None) -> http1.Response | None:
        """Send one request and record its latency; None (and a recorded failure) unless its status is in `ok`."""
        started = time.perf_counter()
        try:
            response = await client.request(method, url, headers=headers, json_body=json)
        except http1.TransportError as error:
            recorder.failure(call, str(error))
            await asyncio.sleep(0.05)
            return None
        recorder.call(call, started, time.perf_counter())
        if response.status_code not in ok:
            recorder.failure(call, f"HTTP {response.status_code}")
            return None
        return response

    claim = await timed("claim", "POST", "/api/v1/queue/claim", ok={200, 204})
    if claim is None:
        return False
    if claim.status_code == 204:
        recorder.empty_claim()
        await asyncio.sleep(0.05)
        return False
    clip = claim.json()["clip"]
    transcript = {
        "text": TRANSCRIPT_TEXT,
        "segments": TRANSCRIPT_SEGMENTS,
        "tags": [],
        "base_version": clip["version"],
    }
    save = await timed("save", "PUT", f"/api/v1/clips/{clip['id']}/transcript", ok={200}, json=transcript)
    if save is None:
        return False
    submit = await timed(
        "submit", "POST", f"/api/v1/clips/{clip['id']}/submit", ok={200}, json={**save.json(), "played": True}
    )
    return submit is not None


# --- Load in-process ----------------------------------------------------------------------------


def run_in_process(users: list, *, warmup_s: float, duration_s: float, sampler_factory) -> tuple[Recorder, object]:
    """K threads, one per reviewer, calling the services as the API views do, minus HTTP and the views."""
    window = Window.starting_now(warmup_s, duration_s)
    recorder = Recorder(window)
    sampler = sampler_factory(window)
    sampler.start()
    threads = [threading.Thread(target=_in_process_reviewer, args=(user, recorder), daemon=True) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sampler.stop()
    return recorder, sampler


def _in_process_reviewer(reviewer, recorder: Recorder) -> None:
    from django.core.exceptions import ValidationError
    from django.db import DatabaseError, connections

    from annotations import services
    from annotations.errors import LeaseEnded, TranscriptConflict

    base_version = 0
    try:
        while time.perf_counter() < recorder.window.end:
            started = time.perf_counter()
            try:
                lease = services.lease_claim(reviewer=reviewer)
                recorder.call("claim", started, time.perf_counter())
                if lease is None:
                    recorder.empty_claim()
                    time.sleep(0.05)
                    continue
                started = time.perf_counter()
                revision = services.transcript_save(
                    lease=lease, text=TRANSCRIPT_TEXT, segments=TRANSCRIPT_SEGMENTS, tags=[], base_version=base_version
                )
                recorder.call("save", started, time.perf_counter())
                started = time.perf_counter()
                services.clip_submit(lease=lease, version=revision.version, played=True)
                finished = time.perf_counter()
                recorder.call("submit", started, finished)
                recorder.cycle(finished)
                base_version = 0
            except TranscriptConflict as conflict:
                # Only after an earlier failure left a saved revision on the held lease: catch up.
                base_version = conflict.current.version if conflict.current else 0
                recorder.failure("save", "conflict")
            except (LeaseEnded, ValidationError, DatabaseError) as error:
                # The message's first line says which (deadlock, pool timeout…); never a transcript.
                recorder.failure("cycle", f"{type(error).__name__}: {str(error).splitlines()[0][:120]}")
    finally:
        connections.close_all()


# --- What a claim costs: its plan and the queries per call ----------------------------------------


def capture_claim_sql(reviewer) -> str:
    """The exact SQL the claim's queue step runs (FOR UPDATE SKIP LOCKED included), from a rolled-back claim."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from annotations import services

    with transaction.atomic():
        with CaptureQueriesContext(connection) as captured:
            services.lease_claim(reviewer=reviewer)
        transaction.set_rollback(True)
    for query in captured.captured_queries:
        if 'FROM "annotations_clip"' in query["sql"] and "SKIP LOCKED" in query["sql"]:
            return query["sql"]
    raise RuntimeError("the claim ran no FOR UPDATE SKIP LOCKED query on annotations_clip")


def explain(sql: str, *, repeats: int = 3) -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) of `sql`, repeated so the last plan is the warm one; rows locked are rolled back."""
    from django.db import connection, transaction

    execution_ms = []
    plan = ""
    for _ in range(repeats):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            transaction.set_rollback(True)
        match = re.search(r"Execution Time: ([\d.]+) ms", plan)
        execution_ms.append(float(match.group(1)) if match else None)
    return {
        "plan": plan,
        "execution_ms": execution_ms,
        "uses_queue_index": "Index Scan using clip_queue_order on annotations_clip" in plan,
    }


def query_shape(sql: str) -> str:
    """A query reduced to its verb, tables and locking: enough to count round trips, no literal values."""
    verb = sql.split(None, 1)[0].upper()
    tables = list(dict.fromkeys(re.findall(r'(?:FROM|INTO|UPDATE|JOIN)\s+"(\w+)"', sql)))
    tables += re.findall(r"(?:^|; )SELECT (audit_accessevent_append)\(", sql)  # the trail's INSERT, in a function
    locking = " FOR UPDATE" if "FOR UPDATE" in sql else ""
    locking += " SKIP LOCKED" if "SKIP LOCKED" in sql else ""
    if verb in {"SAVEPOINT", "RELEASE", "ROLLBACK"}:
        return verb
    return f"{verb} {', '.join(tables)}{locking}".strip()


def count_queries(reviewer) -> dict[str, dict]:
    """Queries per call: through the whole Django stack (test client, same middleware) and services alone.

    The second cycle of each is reported, so first-request caches do not count. Served requests
    also run a `SELECT 1` connection health check that the cursor wrapper does not see.
    """
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from annotations import services

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(reviewer)
    session = client.session  # what the two sign-in steps leave behind: a session verified by the device
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=reviewer, confirmed=True).persistent_id
    session.save()
    through_views: dict[str, list[str]] = {}
    for _ in range(2):
        with CaptureQueriesContext(connection) as claim_queries:
            clip = client.post("/api/v1/queue/claim").json()["clip"]
        with CaptureQueriesContext(connection) as save_queries:
            body = {
                "text": TRANSCRIPT_TEXT,
                "segments": TRANSCRIPT_SEGMENTS,
                "tags": [],
                "base_version": clip["version"],
            }
            saved = client.put(f"/api/v1/clips/{clip['id']}/transcript", body, content_type="application/json").json()
        with CaptureQueriesContext(connection) as submit_queries:
            client.post(
                f"/api/v1/clips/{clip['id']}/submit", {**saved, "played": True}, content_type="application/json"
            )
        through_views = {
            "claim": [query_shape(q["sql"]) for q in claim_queries.captured_queries],
            "save": [query_shape(q["sql"]) for q in save_queries.captured_queries],
            "submit": [query_shape(q["sql"]) for q in submit_queries.captured_queries],
        }
    services_only: dict[str, list[str]] = {}
    for _ in range(2):
        with CaptureQueriesContext(connection) as claim_queries:
            lease = services.lease_claim(reviewer=reviewer)
        with CaptureQueriesContext(connection) as save_queries:
            revision = services.transcript_save(
                lease=lease, text=TRANSCRIPT_TEXT, segments=TRANSCRIPT_SEGMENTS, tags=[], base_version=0
            )
        with CaptureQueriesContext(connection) as submit_queries:
            services.clip_submit(lease=lease, version=revision.version, played=True)
        services_only = {
            "claim": [query_shape(q["sql"]) for q in claim_queries.captured_queries],
            "save": [query_shape(q["sql"]) for q in save_queries.captured_queries],
            "submit": [query_shape(q["sql"]) for q in submit_queries.captured_queries],
        }
    return {"http_view": through_views, "services": services_only}


# --- One run and the whole plan -----------------------------------------------------------------


def summarise_run(spec: RunSpec, recorder: Recorder, sampler, duration_s: float, seed_s: float) -> dict:
    cpu = sampler.cpu_percent()
    sessions = sampler.database_sessions_opened()
    counters = sampler.database_counters_in_window()
    measured_requests = sum(len(values) for values in recorder.latencies.values())
    return {
        **asdict(spec),
        "cycles": recorder.cycles,
        "cycles_per_s": recorder.cycles / duration_s,
        "calls": {call: summarise(recorder.latencies[call]) for call in CALLS},
        "server_peak_rss_mb": sampler.peak_rss / 2**20 if spec.mode != "in-process" else None,
        "cpu_percent_of_one_core": cpu,
        "requests": recorder.requests,
        "connections_opened": recorder.connections_opened if spec.mode != "in-process" else None,
        "database_sessions_opened": sessions,
        "database_sessions_per_measured_call": sessions / measured_requests if sessions and measured_requests else 0,
        "peak_database_backends": sampler.peak_database_backends,
        # What PostgreSQL did per cycle in the window (pg_stat_database, pg_stat_wal): where its
        # CPU went, e.g. the trail's extra WAL or index scans, compared between two runs.
        "database_per_cycle": (
            {name: value / recorder.cycles for name, value in counters.items()}
            if counters and recorder.cycles
            else None
        ),
        "empty_claims": recorder.empty_claims,
        "failures": dict(recorder.failures),
        "seed_seconds": seed_s,
    }


def run_all(config: Config) -> dict:
    env = server_environment(config)
    prepare_django(config)
    from django.db import connections

    users, password = ensure_reviewers(config.max_reviewers)
    audio = write_bench_audio()
    results: dict = {
        "label": config.label,
        "machine": machine.describe(postgres_version=postgres_version()),
        "settings": {
            "warmup_s": config.warmup_s,
            "duration_s": config.duration_s,
            "database": config.database,
            "redis_db": config.redis_db,
            "app_dir": str(config.app_dir),
            "app_commit": app_commit(config.app_dir),
            "app": config.app,
            "audio": {"duration_ms": audio.duration_ms, "peaks_bytes": len(audio.peaks), "format": audio.format},
        },
        "runs": [],
        "explain": {},
    }
    smallest = min(spec.clips for spec in config.runs)
    reset_queue(smallest, audio, show_progress=False)
    log("counting queries per call")
    results["queries"] = count_queries(users[0])
    reset_queue(smallest, audio, show_progress=False)
    claim_sql = capture_claim_sql(users[0])
    results["claim_sql"] = claim_sql

    # Servers by (workers, trail on): kept running while runs alternate between them, since they
    # share the database and the sessions; an idle one costs no CPU.
    servers: dict[tuple[int, bool], serving.Server] = {}
    cookies: list[dict[str, str]] = []
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    if any(spec.workers is not None for spec in config.runs):
        log(f"signing in {config.max_reviewers} reviewers through the login form")
        cookies = sign_in_apart(
            users,
            password,
            env=env,
            app_dir=config.app_dir,
            app=config.app,
            log_path=BENCH_RESULTS / f"server-{stamp}-sign-in.log",
        )
    try:
        for index, spec in enumerate(config.runs, start=1):
            for key in [key for key in servers if key[0] != spec.workers]:
                serving.stop_server(servers.pop(key))  # in-process runs get the machine to themselves
            server = None
            if spec.workers is not None:
                server = servers.get((spec.workers, spec.audit))
            if spec.workers is not None and server is None:
                log(f"starting uvicorn with {spec.workers} workers from {config.app_dir}, trail {_on(spec.audit)}")
                server = servers[(spec.workers, spec.audit)] = serving.start_server(
                    env={**env, "AUDIT_ENABLED": "1" if spec.audit else "0"},
                    workers=spec.workers,
                    app_dir=config.app_dir,
                    log_path=BENCH_RESULTS / f"server-{stamp}-{'on' if spec.audit else 'off'}.log",
                    app=config.app,
                )
            title = f"[{index}/{len(config.runs)}] {spec.mode} K={spec.reviewers} N={human_count(spec.clips)}"
            title += f" trail {_on(spec.audit)}"
            if spec.workers:
                title += f" workers={spec.workers}"
            if spec.repeat > 1 or any(other.repeat > 1 for other in config.runs):
                title += f" repeat {spec.repeat}"
            log(title)
            seed_s = reset_queue(spec.clips, audio, show_progress=spec.clips >= 200_000)
            explain_now = str(spec.clips) not in results["explain"]
            if explain_now:
                results["explain"][str(spec.clips)] = {"before": explain(claim_sql)}
            load_before = serving.wait_for_quiet_machine(
                threshold_percent=config.quiet_percent, timeout_s=config.quiet_timeout_s, log=log
            )

            def sampler_factory(window, server=server):
                return serving.Sampler(
                    server=server,
                    window_start=window.measure_start,
                    window_end=window.end,
                    database_dsn=config.database_url,
                    database_name=config.database,
                )

            if spec.mode == "in-process":
                from django.conf import settings as django_settings

                django_settings.AUDIT_ENABLED = spec.audit  # record() reads it on every call
                recorder, sampler = run_in_process(
                    users[: spec.reviewers],
                    warmup_s=config.warmup_s,
                    duration_s=config.duration_s,
                    sampler_factory=sampler_factory,
                )
            else:
                recorder, sampler = run_http(
                    server,
                    cookies[: spec.reviewers],
                    fresh=spec.mode == "http-fresh",
                    warmup_s=config.warmup_s,
                    duration_s=config.duration_s,
                    sampler_factory=sampler_factory,
                )
            if explain_now:
                after = explain(claim_sql)
                after["leases_taken"] = _leases_taken()
                results["explain"][str(spec.clips)]["after"] = after
            run = summarise_run(spec, recorder, sampler, config.duration_s, seed_s)
            run["machine_busy_before_percent"] = load_before
            if config.fresh_servers and server is not None:
                serving.stop_server(servers.pop((spec.workers, spec.audit)))
            results["runs"].append(run)
            log("  " + one_line(run))
            if recorder.failures:
                log(f"  failures: {dict(recorder.failures)}")
            if recorder.empty_claims:
                log(f"  WARNING: the queue ran dry ({recorder.empty_claims} empty claims); use a larger N")
    finally:
        for server in servers.values():
            serving.stop_server(server)
        connections.close_all()
    if app_commit(config.app_dir) != results["settings"]["app_commit"]:
        log("WARNING: the served checkout changed during the benchmark; the server kept the code it started with")
    return results


def _on(flag: bool) -> str:
    return "on" if flag else "off"


def _leases_taken() -> int:
    """Leases taken so far in this run's database: how far the queue's head has moved."""
    from annotations.models import Lease

    return Lease.objects.count()


# --- Reporting ----------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _percentiles(call: dict) -> str:
    return f"{_ms(call['p50_ms'])} / {_ms(call['p95_ms'])} / {_ms(call['p99_ms'])}"


def one_line(run: dict) -> str:
    cpu = run["cpu_percent_of_one_core"] or {}
    return (
        f"{run['cycles_per_s']:.1f} cycles/s; claim p50/p95/p99 {_percentiles(run['calls']['claim'])} ms; "
        f"CPU client {cpu.get('client', 0):.0f}% server {cpu.get('server', 0):.0f}% "
        f"({' + '.join(f'{share:.0f}' for share in cpu.get('server_processes', []))}) "
        f"postgres {cpu.get('postgres', 0):.0f}% machine {cpu.get('machine', 0):.0f}%; "
        f"PG sessions/call {run['database_sessions_per_measured_call']:.2f}"
        + _database_line(run.get("database_per_cycle"))
    )


def _database_line(per_cycle: dict | None) -> str:
    if not per_cycle:
        return ""
    shown = ("xact_commit", "tup_returned", "tup_fetched", "tup_inserted", "blks_hit", "wal_records", "wal_bytes")
    return "\n  PostgreSQL per cycle: " + ", ".join(f"{name} {per_cycle[name]:.1f}" for name in shown)


def results_table(runs: list[dict]) -> str:
    """Markdown: readable on a terminal, pasteable into docs/benchmarks.md."""
    header = (
        "| mode | trail | workers | K | N | cycles/s | claim p50 / p95 / p99 ms | save p50 / p95 / p99 ms "
        "| submit p50 / p95 / p99 ms | server peak RSS MB | CPU % client / server / PG / machine "
        "| PG sessions per call | failed calls |"
    )
    lines = [header, "| " + " | ".join(["---"] * (header.count("|") - 1)) + " |"]
    for run in runs:
        cpu = run["cpu_percent_of_one_core"] or {}
        rss = run["server_peak_rss_mb"]
        lines.append(
            f"| {run['mode']} | {_on(run.get('audit', True))} | {run['workers'] or '—'} | {run['reviewers']} "
            f"| {human_count(run['clips'])} "
            f"| {run['cycles_per_s']:.1f} | {_percentiles(run['calls']['claim'])} "
            f"| {_percentiles(run['calls']['save'])} | {_percentiles(run['calls']['submit'])} "
            f"| {'—' if rss is None else f'{rss:.0f}'} "
            f"| {cpu.get('client', 0):.0f} / {cpu.get('server', 0):.0f} / {cpu.get('postgres', 0):.0f} "
            f"/ {cpu.get('machine', 0):.0f} "
            f"| {run['database_sessions_per_measured_call']:.2f} | {sum(run['failures'].values())} |"
        )
    return "\n".join(lines)


def audit_cost_table(runs: list[dict]) -> str:
    """For each (mode, K, N, workers) measured with the trail on and off: what the trail costs.

    Runs pair up by repeat (on and off of repeat r ran next to each other); each pair gives a
    cost, 1 - on / off, and the table shows the median over the pairs and their range, and the
    mean with its 95 % interval: a single pair scatters by about 11 points on a shared VM
    (docs/benchmarks.md, twelfth round), so whether the cost is under a target is the interval's
    question, not one pair's.
    """
    pairs: dict[tuple, list[tuple[dict, dict]]] = {}
    by_key = {(*_run_key(run), run.get("repeat", 1)): run for run in runs}
    for (mode, k, n, workers, audit, repeat), on in by_key.items():
        off = by_key.get((mode, k, n, workers, False, repeat))
        if audit and off is not None:
            pairs.setdefault((mode, k, n, workers), []).append((on, off))
    lines = [
        "| mode | workers | K | N | pairs | cycles/s trail on (median) | cycles/s trail off (median) "
        "| cost of the trail (median of pairs) | cost range | mean cost (95 % interval) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (mode, k, n, workers), measured in pairs.items():
        costs = [1 - on["cycles_per_s"] / off["cycles_per_s"] for on, off in measured if off["cycles_per_s"]]
        lines.append(
            f"| {mode} | {workers or '—'} | {k} | {human_count(n)} | {len(measured)} "
            f"| {statistics.median(on['cycles_per_s'] for on, _ in measured):.1f} "
            f"| {statistics.median(off['cycles_per_s'] for _, off in measured):.1f} "
            f"| {statistics.median(costs):.0%} | {min(costs):.0%} to {max(costs):.0%} | {_mean_and_interval(costs)} |"
        )
    return "\n".join(lines) if len(lines) > 2 else ""


def _mean_and_interval(costs: list[float]) -> str:
    mean = statistics.fmean(costs)
    if len(costs) < 2:
        return f"{mean:.1%}"
    low, high = mean_interval(costs)
    return f"{mean:.1%} ({low:.1%} to {high:.1%})"


def queries_table(queries: dict) -> str:
    lines = ["| call | queries through the API view | queries in the service alone |", "| --- | --- | --- |"]
    for call in CALLS:
        lines.append(f"| {call} | {len(queries['http_view'][call])} | {len(queries['services'][call])} |")
    return "\n".join(lines)


def markdown_report(results: dict) -> str:
    parts = [
        "## Runs",
        "",
        results_table(results["runs"]),
        "",
        "## What the access trail costs",
        "",
        audit_cost_table(results["runs"]) or "(run with --audit both to measure it)",
        "",
        "## Queries per call",
        "",
        queries_table(results["queries"]),
    ]
    for call in CALLS:
        parts += ["", f"### {call} through the API view", "", "```"]
        parts += [f"{number:2d}. {shape}" for number, shape in enumerate(results["queries"]["http_view"][call], 1)]
        parts.append("```")
    parts += ["", "## Claim query", "", "```sql", results["claim_sql"], "```"]
    for clips, plans in results["explain"].items():
        for moment, plan in plans.items():
            heading = f"### N = {human_count(int(clips))}, {moment} the run"
            if "leases_taken" in plan:
                heading += f" ({plan['leases_taken']} leases taken)"
            parts += ["", heading, "", "```", plan["plan"], "```"]
    return "\n".join(parts) + "\n"


def write_chart(results: dict, path: Path) -> None:
    several_worker_counts = len({run["workers"] for run in results["runs"] if run["workers"]}) > 1
    # One bar per (mode, K, N, workers): the trail on, as in production; the median of any repeats.
    measured: dict[tuple, list[float]] = {}
    for run in results["runs"]:
        if run.get("audit", True):
            measured.setdefault(_run_key(run)[:4], []).append(run["cycles_per_s"])
    bars = [
        chart.Bar(
            panel=f"N = {human_count(clips)}",
            group=f"K = {reviewers}",
            series=mode + (f" ×{workers}w" if several_worker_counts and workers else ""),
            value=statistics.median(values),
        )
        for (mode, reviewers, clips, workers), values in measured.items()
    ]
    svg = chart.bar_chart_svg(
        bars,
        title="reviewportal queue: claim → save → submit cycles per second (higher is better)",
        y_label="cycles/s",
        references=[
            chart.ReferenceLine(100, "target at K = 8"),
            chart.ReferenceLine(10, "Label Studio 1.23.2, as quoted (not measured here)"),
        ],
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(svg)


def merged_results(paths: list[Path]) -> dict:
    """The first file's results with its runs overlaid, in order, by the runs of the later files."""
    results = json.loads(paths[0].read_text())
    runs = {_merge_key(run): run for run in results["runs"]}
    for path in paths[1:]:
        runs.update({_merge_key(run): run for run in json.loads(path.read_text())["runs"]})
    results["runs"] = list(runs.values())
    return results


def _run_key(run: dict) -> tuple:
    return run["mode"], run["reviewers"], run["clips"], run["workers"], run.get("audit", True)


def _merge_key(run: dict) -> tuple:
    return (*_run_key(run), run.get("repeat", 1))


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    serving.exit_on_sigterm()
    if config.from_json:
        results = merged_results(config.from_json)
    else:
        results = run_all(config)
        BENCH_RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        name = f"queue-{stamp}" + (f"-{config.label}" if config.label else "")
        (BENCH_RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2, default=str))
        (BENCH_RESULTS / f"{name}.md").write_text(markdown_report(results))
        log(f"results: {BENCH_RESULTS / name}.json and .md")
    if config.chart_path:
        write_chart(results, config.chart_path)
        log(f"chart: {config.chart_path}")
    print(results_table(results["runs"]))
    if cost := audit_cost_table(results["runs"]):
        print()
        print(cost)
    print()
    print(queries_table(results["queries"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
