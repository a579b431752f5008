"""Issue 4: the trail as one chain per server process (reviewportal/audit/lanes.py). These tests try
to fork a lane, pass one lane's rows off as another's, lose a lane's newest rows, and break the
chain when two processes write at once."""

import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, transaction

from reviewportal.audit import chain, high_water, lanes, trail
from reviewportal.audit.models import AccessEvent, Action
from tests.audit.test_tamper_evidence import _tamper, verify

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="lanes are PostgreSQL's; SQLite has the shared lane"),
]

WRITER = """
import sys
import django

django.setup()
from django.db import transaction
from reviewportal.audit import lanes, trail
from reviewportal.audit.models import Action

for n in range(int(sys.argv[1])):
    with transaction.atomic():
        trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id=f"/elsewhere/{n}")
print(lanes.current())
"""


def _record(object_id: str):
    with transaction.atomic():
        return trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id=object_id)


def _raw_connection() -> psycopg.Connection:
    """A connection of its own to the test database, as another process would have."""
    params = connection.get_connection_params()
    for name in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(name, None)
    return psycopg.connect(**params, autocommit=True)


@pytest.fixture
def other_process():
    """Start writers in other processes, on this test database and cache."""
    processes = []

    def start(events: int) -> subprocess.Popen:
        database = connection.settings_dict
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "reviewportal.settings",
            "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        }
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(events)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.kill()
        process.wait()


@pytest.fixture
def second_lane():
    """Move this process to another lane, as a restart would: the lane it had stays taken by a
    connection standing in for another process. Yields that connection."""
    _record("/first lane")
    taken = lanes.current()
    lanes.release()
    holder = _raw_connection()
    holder.execute("SELECT pg_advisory_lock(%s, %s)", [lanes.LANE_LOCK_CLASS, taken])
    yield holder
    holder.close()
    lanes.release()


def test_processes_writing_at_once_each_chain_their_own_lane_and_the_trail_verifies(other_process):
    writers = [other_process(200) for _ in range(2)]
    for n in range(200):
        _record(f"/here/{n}")
    outputs = [writer.communicate(timeout=120)[0] for writer in writers]

    assert all(writer.returncode == 0 for writer in writers)
    theirs = {int(output.split()[-1]) for output in outputs}
    assert len(theirs | {lanes.current()}) == 3  # three processes, three lanes
    assert set(chain.lanes_in_use()) == theirs | {lanes.current()}
    assert AccessEvent.objects.count() == 600
    for lane in theirs | {lanes.current()}:
        assert list(AccessEvent.objects.filter(lane=lane).order_by("sequence").values_list("sequence", flat=True)) == (
            list(range(1, 201))
        )
    assert verify()[0] == 0


def test_threads_appending_at_once_each_borrow_a_lane_and_every_lane_verifies():
    errors = []

    def write(thread: int):
        try:
            for n in range(30):
                _record(f"/thread/{thread}/{n}")
        except Exception as error:  # noqa: BLE001  reported below, where the test can fail on it
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert AccessEvent.objects.count() == 180
    used = set(AccessEvent.objects.values_list("lane", flat=True))
    assert lanes.SHARED not in used and 1 <= len(used) <= 6  # no more lanes than transactions at once
    for lane in used:
        sequences = list(AccessEvent.objects.filter(lane=lane).order_by("sequence").values_list("sequence", flat=True))
        assert sequences == list(range(1, len(sequences) + 1))
    assert verify()[0] == 0


def test_two_transactions_open_at_once_append_without_waiting_for_each_other():
    """One transaction has appended and is still open; another appends and commits meanwhile, in a
    lane of its own. (With one lane per process the second would wait for the first to end.)"""
    appended, second_done, errors = threading.Event(), threading.Event(), []

    def first():
        try:
            with transaction.atomic():
                trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id="/first")
                assert AccessEvent.objects.filter(object_id="/first").exists()  # appended: it holds a lane
                appended.set()
                assert second_done.wait(10), "the second transaction waited for this one"
        except Exception as error:  # noqa: BLE001  reported below
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert appended.wait(10)
    second = _record("/second")
    second_done.set()
    thread.join()

    assert errors == []
    assert AccessEvent.objects.get(object_id="/first").lane != second.lane
    assert verify()[0] == 0


def test_a_process_that_lost_its_lane_cannot_fork_the_chain():
    """Its lane's connection died and another process took the lane and wrote to it: the unique
    (lane, sequence) refuses the next row chained to the stale head, and the process then moves to
    a lane of its own."""
    first = _record("/before")
    lane = lanes.current()
    with _raw_connection() as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks "
            "WHERE locktype = 'advisory' AND classid::bigint = %s AND objid::bigint = %s",
            [lanes.LANE_LOCK_CLASS, lane],
        )
    thief = _raw_connection()
    thief.execute("SELECT pg_advisory_lock(%s, %s)", [lanes.LANE_LOCK_CLASS, lane])
    with transaction.atomic():  # the thief's row, chained properly to the head it read
        row = {**AccessEvent.objects.filter(lane=first.lane, sequence=first.sequence).values().get()}
        row.update(sequence=first.sequence + 1, prev_hash=first.hash, object_id="/thief")
        row["hash"] = trail.seal(row)
        columns = [name for name in row if name != "id"]
        thief.execute(
            f"INSERT INTO audit_accessevent ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",  # noqa: S608  names from the model
            [psycopg.types.json.Jsonb(row[name]) if name == "detail" else row[name] for name in columns],
        )

    with pytest.raises(IntegrityError, match="one_event_per_lane_place"):
        _record("/forked")
    after = _record("/after")

    thief.close()
    assert after.lane != lane
    assert list(AccessEvent.objects.filter(lane=lane).values_list("object_id", flat=True).order_by("sequence")) == [
        "/before",
        "/thief",
    ]
    assert verify()[0] == 0


def test_a_lane_s_rows_moved_to_another_lane_no_longer_verify():
    for n in range(3):
        _record(f"/{n}")
    lane = lanes.current()
    lanes.release()  # as if the process had ended
    _tamper("UPDATE audit_accessevent SET lane = %s WHERE lane = %s", [lane + 1, lane])
    high_water.settle()
    cache.clear()  # whoever moved the rows also emptied Redis: the lane's mark cannot tell

    code, message = verify()

    assert code == 1
    assert f"Broken at sequence 1: the first row does not start from its lane's genesis hash (lane {lane + 1})" in (
        message
    )


def test_one_row_moved_into_another_lane_breaks_both(second_lane):
    moved = AccessEvent.objects.get(object_id="/first lane")
    for n in range(2):
        _record(f"/second lane/{n}")
    # Placed after the lane's head, where the process's own next row would not collide with it.
    _tamper("UPDATE audit_accessevent SET lane = %s, sequence = 99 WHERE id = %s", [lanes.current(), moved.pk])

    code, message = verify()

    assert code == 1
    # The lane it left has lost its only row (its high-water mark says so), and the lane it joined
    # jumps from 2 to 99.
    assert f"Broken at sequence 1: missing: rows 1–1 were recorded but are gone (lane {moved.lane})" in message
    high_water.settle()
    cache.clear()
    code, message = verify()
    # 3 is the first verification's own event, recorded after its walk.
    assert f"Broken at sequence 4: missing: the sequence jumps here (lane {lanes.current()})" in message


def test_deleting_a_whole_lane_is_caught_by_its_high_water_mark(second_lane):
    gone = AccessEvent.objects.get(object_id="/first lane")
    _record("/second lane")
    _tamper("DELETE FROM audit_accessevent WHERE lane = %s", [gone.lane])

    code, message = verify()

    assert code == 1
    assert f"Broken at sequence 1: missing: rows 1–1 were recorded but are gone (lane {gone.lane})" in message


def test_the_purge_anchors_every_lane_it_removed_rows_from(second_lane):
    for n in range(3):
        _record(f"/second lane/{n}")
    first_lane_row = AccessEvent.objects.get(object_id="/first lane")
    first_lane = first_lane_row.lane
    this_lane = lanes.current()
    last_old = AccessEvent.objects.get(object_id="/second lane/0")
    _tamper(
        "UPDATE audit_accessevent SET at = at - interval '7 years' WHERE lane = %s OR id = %s",
        [first_lane, last_old.pk],
    )

    call_command("purge_audit_log", stdout=io.StringIO())

    purge = AccessEvent.objects.get(action=Action.AUDIT_PURGED)
    assert purge.detail["lanes"] == {
        str(first_lane): [1, first_lane_row.hash],
        str(this_lane): [1, last_old.hash],
    }
    assert not AccessEvent.objects.filter(lane=first_lane).exists()
    assert verify()[0] == 0

    _tamper("DELETE FROM audit_accessevent WHERE id = %s", [AccessEvent.objects.get(object_id="/second lane/1").pk])
    code, message = verify()
    assert code == 1 and f"missing: rows 2–2 are gone but the last purge removed rows up to 1 (lane {this_lane})" in (
        message
    )


def test_with_every_lane_taken_a_process_appends_to_the_shared_lane(monkeypatch):
    _record("/own lane")
    lanes.release()
    holder = _raw_connection()
    holder.execute("SELECT pg_advisory_lock(%s, 1)", [lanes.LANE_LOCK_CLASS])
    monkeypatch.setattr(lanes, "MAX_LANES", 2)  # lane 1 only, and it is taken
    try:
        shared = _record("/shared")
        again = _record("/shared again")
    finally:
        holder.close()
        lanes._lanes.full_until = 0.0
        lanes.release()

    assert (shared.lane, again.lane) == (lanes.SHARED, lanes.SHARED)
    assert (again.sequence, again.prev_hash) == (shared.sequence + 1, shared.hash)
    assert verify()[0] == 0


def test_a_rolled_back_transaction_leaves_the_lane_free_and_its_head_unmoved():
    kept = _record("/kept")
    with pytest.raises(DatabaseError), transaction.atomic():  # noqa: PT012  the action fails after its event went in
        trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id="/undone")
        assert AccessEvent.objects.filter(object_id="/undone").exists()  # appended: the lane is taken
        raise DatabaseError("the action failed")

    done = threading.Event()
    threading.Thread(target=lambda: (_record("/other thread"), connection.close(), done.set())).start()
    assert done.wait(10), "the lane stayed taken after the rollback"
    after = AccessEvent.objects.get(object_id="/other thread")
    assert (after.sequence, after.prev_hash) == (kept.sequence + 1, kept.hash)
    assert verify()[0] == 0
