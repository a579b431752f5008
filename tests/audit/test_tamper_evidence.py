"""Promise 6: the trail cannot be changed without it showing, and is never changed through the app."""

import io
import itertools

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from reviewportal.audit import trail
from reviewportal.audit.lanes import genesis
from reviewportal.audit.models import AccessEvent, Action

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain():
    """Five events, chained."""
    with transaction.atomic():
        for n in range(5):
            trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id=f"/admin/{n}", detail={"n": n})
    return list(AccessEvent.objects.order_by("sequence"))


def verify() -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit_log", stdout=out, stderr=err)
    except CommandError as error:
        return error.returncode, str(error)
    return 0, out.getvalue()


def test_events_are_chained_from_the_genesis_hash(chain):
    assert [event.sequence for event in chain] == [1, 2, 3, 4, 5]
    assert chain[0].prev_hash == genesis(chain[0].lane)
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(chain))
    assert len({event.hash for event in chain}) == 5


def test_an_intact_chain_verifies(chain):
    code, output = verify()
    assert code == 0
    assert "Intact: 5 events in 1 lane(s)." in output


def test_awkward_values_go_in_exactly_as_sealed():
    """Quotes, backslashes, SQL, non-ASCII and IPv6 reach the table unchanged, or the HMAC over
    them would not verify (on PostgreSQL the rows go in as one JSON parameter: trail._insert)."""
    awkward = "it's \\ \"quoted\" '); DROP TABLE audit_accessevent; -- ünïcødé ✓ 🎧"
    with (
        trail.context(ip="2001:db8::1", user_agent=awkward, request_id="req-1"),
        transaction.atomic(),
    ):
        trail.record(
            Action.ADMIN_VIEWED,
            object_type="admin",
            object_id=awkward[:64],
            detail={"query": awkward, "n": -7, "ok": True, "none": None, "nested": {"list": [1, "two"]}},
        )

    event = AccessEvent.objects.get()
    assert (event.user_agent, event.ip, event.object_id) == (awkward, "2001:db8::1", awkward[:64])
    assert event.detail == {"query": awkward, "n": -7, "ok": True, "none": None, "nested": {"list": [1, "two"]}}
    assert verify()[0] == 0


def test_the_model_refuses_update_and_delete(chain):
    event = chain[2]
    event.detail = {"n": 99}
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AccessEvent.objects.filter(pk=event.pk).update(detail={"n": 99})
    with pytest.raises(PermissionError):
        AccessEvent.objects.filter(pk=event.pk).delete()


def _tamper(sql: str, params: list):
    """Change the table behind the app's back, the way someone with database access would."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The trigger (tested below) stops exactly this; a database superuser can switch
            # triggers off for a session, which is why the chain, not the trigger, is the evidence.
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


def test_a_detail_changed_in_the_database_is_caught_with_its_sequence(chain):
    _tamper("UPDATE audit_accessevent SET detail = %s WHERE sequence = 3", ['{"n": 42}'])

    code, message = verify()

    assert code == 1
    assert "Broken at sequence 3: its content does not match its HMAC" in message


def test_a_deleted_row_is_caught(chain):
    _tamper("DELETE FROM audit_accessevent WHERE sequence = 4", [])

    code, message = verify()

    assert code == 1
    assert "Broken at sequence 4: missing" in message


def test_a_row_resealed_without_the_key_is_caught(chain, settings):
    """Rewriting a row and its hash needs AUDIT_HMAC_KEY; a guessed key shows."""
    real_key = settings.AUDIT_HMAC_KEY
    settings.AUDIT_HMAC_KEY = "a-guessed-key"
    row = AccessEvent.objects.filter(sequence=2).values().get()
    row["detail"] = {"n": 7}
    forged = trail.seal(row)
    _tamper("UPDATE audit_accessevent SET detail = %s, hash = %s WHERE sequence = 2", ['{"n": 7}', forged])
    settings.AUDIT_HMAC_KEY = real_key

    code, message = verify()

    assert code == 1
    assert "Broken at sequence 2: its content does not match its HMAC" in message


def test_a_row_resealed_with_a_stolen_key_still_breaks_the_next_link(chain):
    row = AccessEvent.objects.filter(sequence=2).values().get()
    row["detail"] = {"n": 7}
    resealed = trail.seal(row)
    _tamper("UPDATE audit_accessevent SET detail = %s, hash = %s WHERE sequence = 2", ['{"n": 7}', resealed])

    code, message = verify()

    assert code == 1
    assert "Broken at sequence 3: its prev_hash is not the previous row's hash" in message


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
@pytest.mark.parametrize(
    "statement", ["UPDATE audit_accessevent SET action = 'login'", "DELETE FROM audit_accessevent"]
)
def test_postgresql_refuses_raw_update_and_delete(chain, statement):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AccessEvent.objects.count() == 5


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the append function exists on PostgreSQL only")
def test_the_append_function_inserts_what_the_model_says():
    """Migration audit.0008's function holds its own copy of the INSERT: a column added to
    AccessEvent (or a sealed field moved) without a new version of it must fail here."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = 'audit_accessevent_append'")
        (body,) = cursor.fetchone()
    expected = trail._statements().insert_sealed.replace("%s::jsonb", "rows")

    assert " ".join(expected.split()) in " ".join(body.replace("(\n", "(").split())


class Terminal(io.StringIO):
    """stderr as a terminal, where the commands draw their progress bars."""

    def isatty(self) -> bool:
        return True


def _age(through: int):
    """Make rows older than the retention, as if they had been recorded six years and a day ago."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    old = timezone.now() - timedelta(days=settings.AUDIT_RETENTION_DAYS + 1)
    _tamper("UPDATE audit_accessevent SET at = %s WHERE sequence <= %s", [old, through])


def test_the_purge_deletes_only_rows_older_than_the_retention(chain):
    """Runs on SQLite too: the purge is plain SQL; on PostgreSQL it also passes the trigger."""
    _age(2)
    out, err = io.StringIO(), Terminal()

    call_command("purge_audit_log", "--chunk-size", "1", stdout=out, stderr=err)

    remaining = list(AccessEvent.objects.order_by("sequence").values_list("sequence", "action"))
    assert remaining[:3] == [(3, "admin_viewed"), (4, "admin_viewed"), (5, "admin_viewed")]
    assert remaining[3:] == [(6, "audit_purged")]
    assert "removed 2 event(s)" in out.getvalue()
    purge = AccessEvent.objects.get(action=Action.AUDIT_PURGED)
    assert purge.detail["lanes"] == {str(chain[1].lane): [2, chain[1].hash]}
    assert purge.detail["removed"] == 2 and purge.actor_label.startswith("manage.py purge_audit_log by ")
    assert "purging" in err.getvalue() and "2/2" in err.getvalue() and "100%" in err.getvalue()
    assert verify()[0] == 0  # the purge anchors the new start


def test_the_purge_refuses_a_retention_shorter_than_six_years(settings):
    settings.AUDIT_RETENTION_DAYS = 365
    with pytest.raises(CommandError, match="at least"):
        call_command("purge_audit_log")


def test_verify_follows_the_chain_across_chunk_boundaries(chain):
    out = io.StringIO()
    call_command("verify_audit_log", "--chunk-size", "2", stdout=out, stderr=io.StringIO())
    assert "Intact: 5 events" in out.getvalue()


def test_verify_catches_a_break_that_falls_on_a_chunk_boundary(chain):
    _tamper("UPDATE audit_accessevent SET object_id = %s WHERE sequence = 3", ["/admin/elsewhere"])
    with pytest.raises(CommandError, match="sequence 3"):
        call_command("verify_audit_log", "--chunk-size", "2", stdout=io.StringIO(), stderr=io.StringIO())


def test_a_second_event_in_one_transaction_needs_no_lock_or_head_read_of_its_own():
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        first = trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id="/first")
        second = trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id="/second")

    statements = [query["sql"] for query in captured.captured_queries]
    head_reads = [sql for sql in statements if 'ORDER BY "sequence" DESC' in sql]
    inserts = [sql for sql in statements if sql.startswith("INSERT") or "SELECT audit_accessevent_append(" in sql]
    # On PostgreSQL the process's lane keeps its head in memory: no read at all (lanes.py).
    assert len(head_reads) == (0 if connection.vendor == "postgresql" else 1), statements
    # On PostgreSQL both rows wait for the end of the transaction and go in together.
    assert len(inserts) == (1 if connection.vendor == "postgresql" else 2), statements
    assert (second.sequence, second.prev_hash) == (first.sequence + 1, first.hash)
    assert verify()[0] == 0


def test_an_event_rolled_back_with_its_savepoint_is_not_taken_for_the_head():
    """The head a transaction remembers must go when a savepoint takes its row away; the next event
    chains to the row before it, or verify_audit_log would find a hole."""
    with transaction.atomic():
        kept = trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id="/kept")
        try:
            with transaction.atomic():
                trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id="/undone")
                raise RuntimeError("the action failed")
        except RuntimeError:
            pass
        after = trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id="/after")

    assert (after.sequence, after.prev_hash) == (kept.sequence + 1, kept.hash)
    assert not AccessEvent.objects.filter(object_id="/undone").exists()
    assert verify()[0] == 0


@pytest.mark.django_db(transaction=True)
def test_writers_at_once_leave_one_unbroken_chain():
    """On PostgreSQL, eight threads with connections of their own record at once: the advisory lock
    and the head read after it must give every event the next sequence and its predecessor's hash."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers in IMMEDIATE transactions: there is no race to test")
    import threading

    from django.db import connections

    from reviewportal.audit.chain import verify as walk

    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def write(worker: int) -> None:
        try:
            start.wait()
            for n in range(30):
                with transaction.atomic():
                    trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id=f"/w{worker}/{n}")
                    if n % 3 == 0:  # now and then two events in one transaction, as a claim records
                        trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id=f"/w{worker}/{n}b")
        except BaseException as error:  # noqa: BLE001  reported by the main thread below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    checked, broken = walk()
    assert broken is None
    assert checked == AccessEvent.objects.count() == 8 * 40
