"""Cycle benchmark: the app's own CPU per claim → save → submit, through the whole request path.

One reviewer, signed in with both factors, runs the review loop through Django's request handler
in this process (Django's test client: every middleware, DRF, the services, the access trail, the
JSON in and out; no sockets, no HTTP parsing, no event loop) on PostgreSQL and Redis, on the
benchmark database. It prints the CPU time per call, best of alternating rounds: CPU time moves
with whatever else the machine runs, but not below what the code needs, so two checkouts can be
compared on a noisy machine by running this from each, back to back. PostgreSQL's own CPU is not
in it; bench/queue.py measures that with the served app.

    .venv/bin/python bench/cycle.py                  # 8 rounds of 200 cycles
    .venv/bin/python bench/cycle.py --rounds 4 --cycles 100
"""

import sys
from pathlib import Path

# As in bench/queue.py: keep bench/ off the front of sys.path.
REPO_ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == REPO_ROOT / "bench":
    sys.path[0] = str(REPO_ROOT)

# ruff: noqa: E402
import argparse
import secrets
import time

from bench.queue import (
    TRANSCRIPT_SEGMENTS,
    TRANSCRIPT_TEXT,
    ensure_reviewers,
    log,
    prepare_django,
    reset_queue,
    write_bench_audio,
)
from bench.queue import parse_args as queue_config

CALLS = ("claim", "save", "submit")


def parse_args(argv: list[str] | None):
    parser = argparse.ArgumentParser(prog="bench/cycle.py", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8, help="rounds (%(default)s)")
    parser.add_argument("--cycles", type=int, default=200, help="cycles per round (%(default)s)")
    return parser.parse_args(argv)


def signed_in_client(user):
    """Django's test client with the reviewer's session verified by their TOTP device, sending
    the CSRF token as the editor does (checks enforced)."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    token = secrets.token_hex(16)  # a CSRF secret: 32 alphanumerics
    client = Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1", HTTP_X_CSRFTOKEN=token)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=user, confirmed=True).persistent_id
    session.save()
    client.cookies["csrftoken"] = token
    return client


def one_cycle(client, spent: dict[str, float]) -> None:
    started = time.process_time()
    claimed = client.post("/api/v1/queue/claim", content_type="application/json")
    claim_done = time.process_time()
    assert claimed.status_code == 200, claimed.status_code
    clip = claimed.json()["clip"]
    body = {"text": TRANSCRIPT_TEXT, "segments": TRANSCRIPT_SEGMENTS, "tags": [], "base_version": clip["version"]}
    saved = client.put(f"/api/v1/clips/{clip['id']}/transcript", body, content_type="application/json")
    save_done = time.process_time()
    assert saved.status_code == 200, saved.status_code
    submit = {"version": saved.json()["version"], "played": True}
    submitted = client.post(f"/api/v1/clips/{clip['id']}/submit", submit, content_type="application/json")
    submit_done = time.process_time()
    assert submitted.status_code == 200, submitted.status_code
    spent["claim"] += claim_done - started
    spent["save"] += save_done - claim_done
    spent["submit"] += submit_done - save_done


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    prepare_django(queue_config([]))
    from django.db import connection

    users, _ = ensure_reviewers(1)
    reset_queue((args.rounds + 1) * args.cycles + 100, write_bench_audio(), show_progress=False)
    client = signed_in_client(users[0])
    for _ in range(args.cycles):  # warm the connection, the prepared statements and the caches
        one_cycle(client, dict.fromkeys(CALLS, 0.0))
    best = dict.fromkeys([*CALLS, "cycle"], float("inf"))
    for round_ in range(args.rounds):
        log(f"round {round_ + 1}/{args.rounds}")
        spent = dict.fromkeys(CALLS, 0.0)
        for _ in range(args.cycles):
            one_cycle(client, spent)
        for call in CALLS:
            best[call] = min(best[call], spent[call] / args.cycles)
        best["cycle"] = min(best["cycle"], sum(spent.values()) / args.cycles)
    print(f"# app CPU per call, best of {args.rounds} rounds of {args.cycles} cycles, {connection.vendor}")
    print("| call | CPU ms |")
    print("| --- | --- |")
    for call, seconds in best.items():
        print(f"| {call} | {seconds * 1e3:.3f} |")


if __name__ == "__main__":
    main()
