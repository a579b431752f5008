"""Issue 4's cost target: on PostgreSQL a transaction's events go in with its COMMIT, one round trip
(reviewportal.audit.postgresql). These tests try to lose an event, or keep one that should go."""

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from annotations.models import Lease
from reviewportal.audit import trail
from reviewportal.audit.models import AccessEvent, Action
from tests.audit.test_tamper_evidence import verify

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if not getattr(connection, "appends_audit_events_at_commit", False):
        pytest.skip("appending at the commit is reviewportal.audit.postgresql's; elsewhere record() inserts at once")


def test_an_event_recorded_last_goes_in_with_the_commit():
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        first = trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id="/first")
        second = trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id="/second")
        assert first.sequence is None  # nothing sent yet

    statements = [query["sql"] for query in captured.captured_queries if query["sql"] != "BEGIN"]
    # One round trip: the BEGIN (nothing else ran in the transaction), the rows and the COMMIT. No
    # lock or head read in the database: the process's lane keeps its head (lanes.py).
    assert len(statements) == 1, statements
    assert statements[0].startswith("BEGIN; SELECT audit_accessevent_append(") and statements[0].endswith("; COMMIT")
    assert list(AccessEvent.objects.order_by("sequence").values_list("object_id", "sequence", "hash")) == [
        ("/first", first.sequence, first.hash),
        ("/second", second.sequence, second.hash),
    ]
    assert trail.high_water()[second.lane] == (second.sequence, second.hash)
    assert verify()[0] == 0


def test_an_event_followed_by_another_statement_is_in_the_table_for_it():
    with transaction.atomic():
        trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id="/seen")
        assert AccessEvent.objects.filter(object_id="/seen").exists()
        trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id="/after")

    assert list(AccessEvent.objects.order_by("sequence").values_list("object_id", flat=True)) == ["/seen", "/after"]
    assert verify()[0] == 0


def test_an_event_in_a_savepoint_whose_statement_failed_goes_with_it():
    """The rollback to the savepoint must not try to append first: the transaction is aborted until it
    runs, and the event belongs to what is being undone."""
    with transaction.atomic():
        kept = trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id="/kept")
        with pytest.raises(IntegrityError), transaction.atomic():  # noqa: PT012  the event is recorded after the failure
            try:
                Lease.objects.create()  # no clip, no reviewer: refused by the database
            finally:
                trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id="/undone")
        after = trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id="/after")

    assert list(AccessEvent.objects.order_by("sequence").values_list("object_id", flat=True)) == ["/kept", "/after"]
    assert (after.sequence, after.prev_hash) == (kept.sequence + 1, kept.hash)
    assert verify()[0] == 0


def test_when_the_events_cannot_go_in_at_the_commit_nothing_commits(monkeypatch):
    monkeypatch.setattr(trail, "_hmac", lambda row: (_ for _ in ()).throw(RuntimeError("HMAC key unavailable")))

    with pytest.raises(DatabaseError, match="could not append"), transaction.atomic():
        trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id="/lost")  # appended at the commit

    monkeypatch.undo()
    assert not AccessEvent.objects.exists()
    # The connection is usable again, and the chain goes on from where it was.
    with transaction.atomic():
        event = trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id="/next")
    assert event.sequence == 1


def test_a_claim_whose_events_cannot_go_in_at_the_commit_leaves_no_lease(reviewer_client, make_clips, monkeypatch):
    make_clips(1)
    monkeypatch.setattr(trail, "_hmac", lambda row: (_ for _ in ()).throw(RuntimeError("HMAC key unavailable")))
    reviewer_client.raise_request_exception = False

    assert reviewer_client.post("/api/v1/queue/claim").status_code == 500

    assert not Lease.objects.exists()
    monkeypatch.undo()
    assert reviewer_client.post("/api/v1/queue/claim").status_code == 200
    assert Lease.objects.count() == 1
    assert verify()[0] == 0
