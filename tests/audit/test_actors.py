"""Issue 4: an event names its actor by id, sealed in its HMAC, with no foreign key in the database
(docs/decisions.md). With one, every event's commit locked the actor's row (FOR KEY SHARE): it cost
the trail more than its own row did, and an event waited for anyone holding that row FOR UPDATE.
These tests try to make an event wait for its actor, and to delete an actor who has events."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from reviewportal.audit import trail
from reviewportal.audit.models import AccessEvent, Action
from tests.audit.test_lanes import _raw_connection
from tests.audit.test_tamper_evidence import verify

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_an_event_does_not_wait_for_its_actors_row(reviewer):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite's writers take the whole database")
    holder = _raw_connection()  # another session holding the reviewer's row, as an edit of it would
    try:
        with holder.transaction():
            holder.execute("SELECT 1 FROM accounts_user WHERE id = %s FOR UPDATE", [reviewer.pk])
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '3s'")  # with a foreign key: LockNotAvailable
                event = trail.record(Action.ADMIN_VIEWED, actor=reviewer, object_type="admin", object_id="/users")
    finally:
        holder.close()

    stored = AccessEvent.objects.get(sequence=event.sequence, lane=event.lane)
    assert (stored.actor_user_id, stored.actor_label) == (reviewer.pk, "rita")
    assert verify()[0] == 0


def test_a_person_with_events_cannot_be_deleted(reviewer):
    with transaction.atomic():
        trail.record(Action.ADMIN_VIEWED, actor=reviewer, object_type="admin", object_id="/users")

    with pytest.raises(ProtectedError):
        reviewer.delete()
    assert AccessEvent.objects.filter(actor_user=reviewer).count() == 1


def test_a_person_with_events_cannot_be_deleted_by_hand_either(reviewer, other_reviewer):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's (migration audit.0009)")
    with transaction.atomic():
        trail.record(Action.ADMIN_VIEWED, actor=reviewer, object_type="admin", object_id="/users")

    with pytest.raises(IntegrityError, match="access events name this user"), transaction.atomic():
        _delete_by_hand(reviewer)
    _delete_by_hand(other_reviewer)  # someone no event names goes as before
    assert AccessEvent.objects.filter(actor_user=reviewer).count() == 1


def _delete_by_hand(user) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_user_groups WHERE user_id = %s", [user.pk])
        cursor.execute("DELETE FROM accounts_user WHERE id = %s", [user.pk])
