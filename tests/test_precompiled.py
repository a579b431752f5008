"""reviewportal.precompiled: a queryset built once per thread answers exactly as the ORM does.

The review loop's reads run through it on every claim, save and submit, so a slot filled with the
wrong value, a converter skipped (SQLite keeps UUIDs as hex and times as text) or a build that
quietly baked in the first call's clock would hand out the wrong lease. Runs on SQLite and, in CI,
on PostgreSQL.
"""

import threading
import uuid
from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, OuterRef
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from annotations import services
from annotations.models import Clip, ClipUserObjectPermission, Lease, TranscriptRevision
from reviewportal import precompiled as precompiled_module
from reviewportal.accounts.permissions import permission_id
from reviewportal.precompiled import insert, insert_all, precompiled, precompiled_delete, precompiled_update

pytestmark = pytest.mark.django_db


@precompiled
def granted_leases(reviewer_id: int, clip_uuid: uuid.UUID, now: datetime, perm_id: int):
    granted = ClipUserObjectPermission.objects.filter(
        user_id=reviewer_id, content_object=OuterRef("clip"), permission_id=perm_id
    )
    leases = Lease.objects.active(now).filter(reviewer_id=reviewer_id, clip__public_id=clip_uuid)
    return leases.filter(Exists(granted)).select_related("clip").annotate(grants=Count("clip__revisions"))


def _orm_granted_leases(reviewer_id, clip_uuid, now, perm_id):
    return list(granted_leases.build(reviewer_id, clip_uuid, now, perm_id))


@pytest.fixture
def two_leases(make_clips, reviewer, other_reviewer):
    first, second = make_clips(2)
    mine = services.lease_claim(reviewer=reviewer)
    theirs = services.lease_claim(reviewer=other_reviewer)
    assert {mine.clip_id, theirs.clip_id} == {first.pk, second.pk}
    return mine, theirs


def test_a_precompiled_read_returns_what_the_orm_returns(two_leases, reviewer):
    mine, theirs = two_leases
    view = permission_id(Clip, "view_clip")
    now = timezone.now()
    for clip_uuid in (mine.clip.public_id, theirs.clip.public_id, uuid.uuid4()):
        expected = _orm_granted_leases(reviewer.pk, clip_uuid, now, view)
        found = granted_leases.all(reviewer_id=reviewer.pk, clip_uuid=clip_uuid, now=now, perm_id=view)
        assert [lease.pk for lease in found] == [lease.pk for lease in expected]
        for got, want in zip(found, expected, strict=True):
            # Every column, converted as the ORM converts it (UUIDs, times, JSON), the joined clip
            # included without another query, and the annotation.
            assert [getattr(got, f.attname) for f in Lease._meta.concrete_fields] == [
                getattr(want, f.attname) for f in Lease._meta.concrete_fields
            ]
            assert Lease.clip.is_cached(got)
            assert got.clip.public_id == want.clip.public_id and got.clip.peaks == want.clip.peaks
            assert got.grants == want.grants
            assert got._state.adding is False and got._state.db == "default"


def test_each_call_uses_its_own_values_not_the_first_calls(two_leases, reviewer, other_reviewer):
    mine, theirs = two_leases
    view = permission_id(Clip, "view_clip")
    now = timezone.now()
    assert granted_leases.first(reviewer_id=reviewer.pk, clip_uuid=mine.clip.public_id, now=now, perm_id=view) == mine
    assert (
        granted_leases.first(reviewer_id=other_reviewer.pk, clip_uuid=theirs.clip.public_id, now=now, perm_id=view)
        == theirs
    )
    # Someone else's clip, a time after the lease's end, or a permission not held: nothing.
    assert not granted_leases.all(reviewer_id=reviewer.pk, clip_uuid=theirs.clip.public_id, now=now, perm_id=view)
    later = mine.expires_at + timedelta(seconds=1)
    assert not granted_leases.all(reviewer_id=reviewer.pk, clip_uuid=mine.clip.public_id, now=later, perm_id=view)
    not_held = permission_id(Clip, "add_clip")
    assert not granted_leases.all(reviewer_id=reviewer.pk, clip_uuid=mine.clip.public_id, now=now, perm_id=not_held)


def test_a_build_that_reads_the_clock_is_refused():
    @precompiled
    def live_leases(reviewer_id: int):
        return Lease.objects.active(timezone.now()).filter(reviewer_id=reviewer_id)

    with pytest.raises(ImproperlyConfigured, match="live_leases builds a different query"):
        live_leases.all(reviewer_id=1)


def test_an_argument_that_does_not_reach_the_sql_as_a_parameter_is_refused():
    @precompiled
    def first_few(limit: int):
        return Lease.objects.order_by("pk")[:limit]  # LIMIT is written into the SQL

    with pytest.raises(ImproperlyConfigured, match="argument\\(s\\) limit did not reach the SQL"):
        first_few.all(limit=3)


def test_an_argument_without_a_supported_type_is_refused():
    with pytest.raises(ImproperlyConfigured, match="argument clip needs a type"):

        @precompiled
        def leases_of(clip):
            return Lease.objects.filter(clip=clip)


@pytest.mark.django_db(transaction=True)  # outside the test's own transaction
def test_a_row_lock_still_needs_a_transaction():
    @precompiled
    def locked(lease_id: int):
        return Lease.objects.select_for_update().filter(pk=lease_id)

    with pytest.raises(TransactionManagementError):
        locked.all(lease_id=1)
    with transaction.atomic():
        assert locked.all(lease_id=1) == []


def test_the_sql_is_built_once_per_thread_and_again_after_a_migrate(reviewer):
    builds = []

    @precompiled
    def by_pk(lease_id: int):
        builds.append(threading.get_ident())
        return Lease.objects.filter(pk=lease_id)

    by_pk.all(lease_id=1)
    by_pk.all(lease_id=2)
    assert len(builds) == 2  # twice on first use: the two builds are compared

    # Another thread has its own database connection, so its own build.
    other = threading.Thread(target=lambda: (by_pk.all(lease_id=3), connection.close()))
    other.start()
    other.join()
    assert len(builds) == 4 and builds[-1] != builds[0]

    precompiled_module.forget_all()  # what post_migrate (and a test's flush) triggers
    by_pk.all(lease_id=4)
    assert len(builds) == 6


# --- Writes: UPDATE and DELETE built once per thread -------------------------------------------


@precompiled_update
def end_lease(lease_id: int, ended_at: datetime, outcome: str):
    return Lease.objects.filter(pk=lease_id, ended_at__isnull=True), {"ended_at": ended_at, "outcome": outcome}


@precompiled_delete
def grants_of(reviewer_id: int, clip_id: int):
    return ClipUserObjectPermission.objects.filter(user_id=reviewer_id, content_object_id=clip_id)


def _ending(lease: Lease) -> list:
    lease.refresh_from_db()
    return [lease.ended_at, lease.outcome, lease.release_reason, lease.is_next]


def test_a_precompiled_update_changes_what_the_orms_update_changes_and_counts_it(two_leases):
    mine, theirs = two_leases
    ended_at = timezone.now() + timedelta(seconds=7)

    assert end_lease.run(lease_id=mine.pk, ended_at=ended_at, outcome="released") == 1
    Lease.objects.filter(pk=theirs.pk, ended_at__isnull=True).update(ended_at=ended_at, outcome="released")

    assert _ending(mine) == _ending(theirs) == [ended_at, "released", "", False]
    # Its own values each call, and the filter still applies: an ended lease is not ended again.
    assert end_lease.run(lease_id=mine.pk, ended_at=timezone.now(), outcome="expired") == 0
    assert _ending(mine) == _ending(theirs)


def test_a_precompiled_delete_removes_only_the_rows_its_values_pick(two_leases, reviewer):
    mine, theirs = two_leases

    assert grants_of.run(reviewer_id=reviewer.pk, clip_id=theirs.clip_id) == 0  # not this reviewer's clip
    assert grants_of.run(reviewer_id=reviewer.pk, clip_id=mine.clip_id) == 2  # view and transcribe

    assert not ClipUserObjectPermission.objects.filter(content_object_id=mine.clip_id).exists()
    assert ClipUserObjectPermission.objects.filter(content_object_id=theirs.clip_id).count() == 2


def test_a_write_that_reads_the_clock_or_spans_two_tables_is_refused():
    @precompiled_update
    def expire_now(lease_id: int):
        return Lease.objects.filter(pk=lease_id), {"ended_at": timezone.now()}

    @precompiled_delete
    def grants_of_clip(clip_uuid: uuid.UUID):
        return ClipUserObjectPermission.objects.filter(content_object__public_id=clip_uuid)

    with pytest.raises(ImproperlyConfigured, match="expire_now builds a different query"):
        expire_now.run(lease_id=1)
    with pytest.raises(ImproperlyConfigured, match="grants_of_clip: only statements on one table"):
        grants_of_clip.run(clip_uuid=uuid.uuid4())
    with pytest.raises(TypeError, match="writes: call run"):
        grants_of.all(reviewer_id=1, clip_id=1)


def test_insert_adds_the_row_save_would_add(make_clips, reviewer, other_reviewer):
    first, second = make_clips(2)
    now = timezone.now()
    fields = dict(started_at=now, expires_at=now + timedelta(minutes=5), is_next=True)

    inserted = insert(Lease(clip=first, reviewer=reviewer, **fields))
    saved = Lease.objects.create(clip=second, reviewer=other_reviewer, **fields)

    assert inserted.pk is not None and inserted._state.adding is False
    got, want = Lease.objects.get(pk=inserted.pk), Lease.objects.get(pk=saved.pk)
    skip = {"id", "public_id", "clip", "reviewer"}
    columns = [field.attname for field in Lease._meta.concrete_fields if field.name not in skip]
    assert [getattr(got, name) for name in columns] == [getattr(want, name) for name in columns]
    assert (got.public_id, got.clip_id, got.reviewer_id) == (inserted.public_id, first.pk, reviewer.pk)
    # JSON and text columns, as the revision a save adds.
    segments = [{"start_ms": 0, "end_ms": 900, "text": "lights off", "speaker": "A", "tags": ["noise"]}]
    revision = insert(
        TranscriptRevision(clip=first, version=1, author=reviewer, text="lights off", segments=segments, tags=["x"])
    )
    stored = TranscriptRevision.objects.get(pk=revision.pk)
    assert (stored.text, stored.segments, stored.tags, stored.created_at) == (
        "lights off",
        segments,
        ["x"],
        revision.created_at,
    )


def test_insert_adds_new_rows_only(make_clips, reviewer):
    [clip] = make_clips(1)
    lease = Lease.objects.create(clip=clip, reviewer=reviewer, expires_at=timezone.now())

    with pytest.raises(ValueError, match="already has a primary key"):
        insert(lease)
    assert Lease.objects.count() == 1


def test_insert_all_leaves_out_rows_that_are_already_there_when_asked(make_clips, reviewer):
    [clip] = make_clips(1)
    view, change = permission_id(Clip, "view_clip"), permission_id(Clip, "transcribe_clip")

    def grants(*perm_ids):
        return [ClipUserObjectPermission(user=reviewer, content_object=clip, permission_id=p) for p in perm_ids]

    insert_all(grants(view), ignore_conflicts=True)
    insert_all(grants(view, change), ignore_conflicts=True)  # view is there already: only change goes in
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_all(grants(view))

    rows = ClipUserObjectPermission.objects.filter(user=reviewer, content_object=clip)
    assert sorted(rows.values_list("permission_id", flat=True)) == sorted([view, change])
