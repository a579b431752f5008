"""Trail benchmark: the client CPU one access-trail event adds to a transaction, on PostgreSQL.

Runs the same small transaction (one UPDATE) with no event, one event and two events (a claim
records two) in this process, on the benchmark database, and prints the CPU time per
transaction of each. Rounds alternate between the three and the best round of each is kept:
CPU time moves with whatever else the machine runs, but not below what the code needs. The
difference to the transaction without an event is what the trail costs the app's process
(its share of the database's CPU is in bench/queue.py --audit both).

    .venv/bin/python bench/trail.py                 # 8 rounds of 800 transactions each
    .venv/bin/python bench/trail.py --rounds 4 --transactions 400
"""

import sys
from pathlib import Path

# As in bench/queue.py: keep bench/ off the front of sys.path.
REPO_ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == REPO_ROOT / "bench":
    sys.path[0] = str(REPO_ROOT)

# ruff: noqa: E402
import argparse
import time

from bench.queue import log, prepare_django
from bench.queue import parse_args as queue_config


def parse_args(argv: list[str] | None):
    parser = argparse.ArgumentParser(prog="bench/trail.py", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8, help="rounds of each kind (%(default)s)")
    parser.add_argument("--transactions", type=int, default=800, help="transactions per round (%(default)s)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    prepare_django(queue_config([]))
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from reviewportal.audit import trail
    from reviewportal.audit.models import Action

    user, _ = get_user_model().objects.get_or_create(username="bench-trail")
    update = "UPDATE accounts_user SET last_login = last_login WHERE id = %s"

    def transaction_with(events: int):
        def run():
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(update, [user.pk])
                for n in range(events):
                    trail.record(Action.CLIP_VIEWED, object_type="clip", object_id=f"bench-{n}", detail={"n": n})

        return run

    kinds = {"no event": transaction_with(0), "one event": transaction_with(1), "two events": transaction_with(2)}
    best = dict.fromkeys(kinds, float("inf"))
    for run in kinds.values():  # warm the connection, the statements and the caches
        for _ in range(100):
            run()
    for round_ in range(args.rounds):
        log(f"round {round_ + 1}/{args.rounds}")
        for kind, run in kinds.items():
            started = time.process_time()
            for _ in range(args.transactions):
                run()
            best[kind] = min(best[kind], (time.process_time() - started) / args.transactions)
    print(f"# client CPU per transaction, best of {args.rounds} rounds of {args.transactions}, {connection.vendor}")
    print("| transaction | CPU ms | added by the trail, ms |")
    print("| --- | --- | --- |")
    for kind, seconds in best.items():
        print(f"| {kind} | {seconds * 1e3:.3f} | {(seconds - best['no event']) * 1e3:.3f} |")


if __name__ == "__main__":
    main()
