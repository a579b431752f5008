"""Escalation alerts: from a reviewer's flag POST to every supervisor's dashboard hearing of it.

S supervisors (default 50) sign in with both factors and open the live dashboard's websocket
(/ws/supervise/escalations/) on the app served as `make serve` serves it (uvicorn with workers,
PostgreSQL, the Redis channel layer). Reviewers then flag F clips (default 100), one at a time,
each from a clip they hold. For each flag the clock starts just before the POST is sent and stops,
per socket, when that socket receives the new case (matched by its clip id). Reported: p50/p95/p99
of those S x F latencies, and of the POST itself.

Everything happens in the benchmark database (reviewportal_bench) and Redis db 13; the
annotations and escalations tables are emptied first.

    .venv/bin/python bench/alerts.py              # 50 sockets, 100 flags
    .venv/bin/python bench/alerts.py --help
"""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == REPO_ROOT / "bench":
    sys.path[0] = str(REPO_ROOT)

# ruff: noqa: E402
import argparse
import asyncio
import json
import os
import subprocess
import time
from datetime import UTC, datetime

import httpx
import psycopg
import websockets

from bench import machine, serving
from bench.stats import summarise

BENCH_RESULTS = REPO_ROOT / "bench" / "results"
SUPERVISOR_PREFIX = "bench-supervisor-"
REVIEWER_PREFIX = "bench-flagger-"
TARGET_P99_MS = 100.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="bench/alerts.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--supervisors", type=int, default=50, help="dashboards connected (%(default)s)")
    parser.add_argument("--flags", type=int, default=100, help="flags sent, one at a time (%(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn --workers (%(default)s)")
    parser.add_argument("--database", default="reviewportal_bench")
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    return parser.parse_args(argv)


def environment(args) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "reviewportal.settings",
        "DATABASE_URL": f"{args.postgres}/{args.database}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
        "CACHE_KEY_PREFIX": "reviewportal-bench",
        "CHANNEL_PREFIX": "reviewportal-bench",
        "SECURE_COOKIES": "0",
        "DEBUG": "0",
        "VOLUME_CLAIMS_PER_MINUTE": "0",
        "VOLUME_AUDIO_LINKS_PER_MINUTE": "0",
    }


def prepare(args, flags: int):
    """Migrate, empty the tables, make people, queue a clip per flag: (supervisors, reviewers, password)."""
    subprocess.run([sys.executable, "-m", "reviewportal.keys"], cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL)
    os.environ.update(environment(args))
    with psycopg.connect(f"{args.postgres}/postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.database]).fetchone():
            admin.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(args.database)))
    import logging

    import django

    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request would cost client CPU
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from guardian.shortcuts import assign_perm

    from annotations.models import Clip, ClipPool
    from bench.queue import write_bench_audio
    from escalations import services

    call_command("migrate", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE annotations_clip, annotations_lease, annotations_transcriptrevision, "
            "annotations_sourceidentity, escalations_escalation, escalations_escalationevent, "
            "audit_accessevent, audit_reviewerhour RESTART IDENTITY CASCADE"
        )
    password = "bench-" + os.urandom(9).hex()
    hashed = make_password(password)
    users = get_user_model()

    def people(prefix: str, count: int, *roles: str) -> list:
        names = [f"{prefix}{n:03d}" for n in range(1, count + 1)]
        existing = set(users.objects.filter(username__in=names).values_list("username", flat=True))
        users.objects.bulk_create([users(username=name) for name in names if name not in existing])
        users.objects.filter(username__in=names).update(password=hashed, is_active=True)
        found = list(users.objects.filter(username__in=names).order_by("username"))
        for role in roles:
            Group.objects.get_or_create(name=role)[0].user_set.add(*found)
        for person in found:
            if not TOTPDevice.objects.filter(user=person, confirmed=True).exists():
                TOTPDevice.objects.create(user=person, name="bench", confirmed=True)
        TOTPDevice.objects.filter(user__in=found).update(last_t=-1, throttling_failure_count=0)
        return found

    supervisors = people(SUPERVISOR_PREFIX, args.supervisors, "supervisors", "escalation_team")
    reviewers = people(REVIEWER_PREFIX, 4, "reviewers")
    services.duty_set(supervisor=supervisors[0], on_duty=True)
    pool, _ = ClipPool.objects.get_or_create(slug="bench-alerts", defaults={"name": "alert benchmark"})
    assign_perm("annotations.review_pool", Group.objects.get(name="reviewers"), pool)
    audio = write_bench_audio()
    Clip.objects.bulk_create(
        Clip(
            pool=pool,
            audio_name="bench/queue-2s.wav",
            audio_format=audio.format,
            audio_codec=audio.codec,
            audio_bytes=audio.size_bytes,
            duration_ms=audio.duration_ms,
            sample_rate=audio.sample_rate,
            channels=audio.channels,
            peaks=audio.peaks,
            peaks_per_second=audio.peaks_per_second,
            locale="en-US",
            asr_text="",
            recorded_at=datetime.now(UTC),
        )
        for _ in range(flags + 10)
    )
    return supervisors, reviewers, password


def codes_for(people: list):
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    keys = {d.user_id: d.bin_key for d in TOTPDevice.objects.filter(user__in=people, confirmed=True)}
    return {person.pk: (lambda key=keys[person.pk]: f"{totp(key):06d}") for person in people}


async def measure(base_url: str, supervisors: list, reviewers: list, password: str, flags: int, codes) -> dict:
    limit = asyncio.Semaphore(4)

    async def signed_in(person) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=base_url, timeout=30)
        async with limit:
            await serving.sign_in(client, person.username, password, totp_code=codes[person.pk])
        return client

    log(f"signing in {len(supervisors)} supervisors and {len(reviewers)} reviewers")
    supervisor_clients = await asyncio.gather(*(signed_in(person) for person in supervisors))
    reviewer_clients = await asyncio.gather(*(signed_in(person) for person in reviewers))
    arrivals: dict[str, list[float]] = {}
    ready = asyncio.Event()
    connected = 0
    host = base_url.removeprefix("http://")

    async def dashboard(client: httpx.AsyncClient) -> None:
        nonlocal connected
        cookie = f"sessionid={client.cookies['sessionid']}"
        async with websockets.connect(
            f"ws://{host}/ws/supervise/escalations/", additional_headers={"Cookie": cookie}, origin=base_url
        ) as socket:
            json.loads(await socket.recv())  # hello, with the open cases
            connected += 1
            if connected == len(supervisor_clients):
                ready.set()
            async for raw in socket:
                received = time.perf_counter()
                message = json.loads(raw)
                if message.get("type") == "case" and message.get("event") == "opened":
                    arrivals.setdefault(message["clip"], []).append(received)

    log(f"opening {len(supervisor_clients)} dashboards")
    listeners = [asyncio.create_task(dashboard(client)) for client in supervisor_clients]
    await asyncio.wait_for(ready.wait(), 60)
    latencies: list[float] = []
    posts: list[float] = []
    missing = 0
    for index in range(flags):
        client = reviewer_clients[index % len(reviewer_clients)]
        claim = await client.post("/api/v1/queue/claim", headers={"X-CSRFToken": client.cookies["csrftoken"]})
        clip = claim.json()["clip"]["id"]
        body = {"category": "imminent_danger", "start_ms": 0, "end_ms": 500}
        started = time.perf_counter()
        response = await client.post(
            f"/api/v1/clips/{clip}/escalations", json=body, headers={"X-CSRFToken": client.cookies["csrftoken"]}
        )
        posts.append(time.perf_counter() - started)
        if response.status_code != 201:
            raise RuntimeError(f"flag answered {response.status_code}: {response.text[:200]}")
        deadline = time.perf_counter() + 5
        while len(arrivals.get(clip, [])) < len(supervisor_clients) and time.perf_counter() < deadline:
            await asyncio.sleep(0.002)
        got = arrivals.get(clip, [])
        missing += len(supervisor_clients) - len(got)
        latencies += [arrival - started for arrival in got]
        if (index + 1) % 20 == 0:
            log(f"  {index + 1}/{flags} flags")
    for task in listeners:
        task.cancel()
    for client in supervisor_clients + reviewer_clients:
        await client.aclose()
    return {"delivery": summarise(latencies), "flag_post": summarise(posts), "missing_deliveries": missing}


def main(argv=None) -> int:
    args = parse_args(argv)
    serving.exit_on_sigterm()
    supervisors, reviewers, password = prepare(args, args.flags)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    BENCH_RESULTS.mkdir(parents=True, exist_ok=True)
    serving.wait_for_quiet_machine(threshold_percent=30, timeout_s=120, log=log)
    server = serving.start_server(
        env=environment(args),
        workers=args.workers,
        app_dir=REPO_ROOT,
        log_path=BENCH_RESULTS / f"alerts-server-{stamp}.log",
    )
    try:
        from django.db import connections

        codes = codes_for(supervisors + reviewers)
        connections.close_all()
        result = asyncio.run(measure(server.base_url, supervisors, reviewers, password, args.flags, codes))
    finally:
        serving.stop_server(server)
    result.update(
        supervisors=args.supervisors,
        flags=args.flags,
        workers=args.workers,
        machine=machine.describe(postgres_version=""),
    )
    path = BENCH_RESULTS / f"alerts-{stamp}.json"
    path.write_text(json.dumps(result, indent=2, default=str))
    delivery, post = result["delivery"], result["flag_post"]
    verdict = "met" if delivery["p99_ms"] < TARGET_P99_MS else "not met"
    print("| sockets | flags | deliveries | p50 ms | p95 ms | p99 ms | max ms | flag POST p50 / p99 ms | p99 < 100 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"| {args.supervisors} | {args.flags} | {delivery['count']} (missing {result['missing_deliveries']}) "
        f"| {delivery['p50_ms']:.1f} | {delivery['p95_ms']:.1f} | {delivery['p99_ms']:.1f} "
        f"| {delivery['max_ms']:.1f} | {post['p50_ms']:.1f} / {post['p99_ms']:.1f} | {verdict} |"
    )
    log(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
