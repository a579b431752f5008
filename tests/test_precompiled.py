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
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from annotations import services
from annotations.models import Clip, ClipUserObjectPermission, Lease
from reviewportal import precompiled as precompiled_module
from reviewportal.accounts.permissions import permission_id
from reviewportal.precompiled import precompiled

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
