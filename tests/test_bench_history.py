"""bench/queue.reset_queue: every run starts on a database with a history of reviewed clips, so
PostgreSQL plans the loop's lookups in leases and revisions as index scans, as it would in a
deployment, and not as scans of tables its statistics call empty (docs/benchmarks.md, tenth
round)."""

import pytest
from django.db import connection

from annotations.models import Clip, ClipStatus, Lease, LeaseOutcome, TranscriptRevision
from bench import queue
from reviewportal.audit.models import AccessEvent

pytestmark = [
    pytest.mark.django_db(transaction=True),  # VACUUM cannot run in a transaction
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmark runs on PostgreSQL only"),
]


@pytest.fixture
def reviewers():
    users, _ = queue.ensure_reviewers(3)
    return users


def test_each_reviewed_clip_has_its_ended_lease_final_revision_and_four_events(reviewers):
    queue.reset_queue(40, queue.write_bench_audio(), show_progress=False, history=30)

    assert Clip.objects.filter(status=ClipStatus.QUEUED).count() == 40
    reviewed = Clip.objects.filter(status=ClipStatus.SUBMITTED).select_related("final_revision")
    assert reviewed.count() == 30
    for clip in reviewed:
        (lease,) = Lease.objects.filter(clip=clip)
        assert lease.ended_at == clip.submitted_at and lease.outcome == LeaseOutcome.SUBMITTED
        assert lease.reviewer in reviewers
        assert clip.final_revision.lease == lease and clip.final_revision.author == lease.reviewer
    assert sorted(Lease.objects.values_list("reviewer", flat=True).distinct()) == sorted(r.pk for r in reviewers)
    assert TranscriptRevision.objects.count() == 30
    events = AccessEvent.objects.filter(lane=0).order_by("sequence")
    assert list(events.values_list("sequence", flat=True)) == list(range(1, 121))
    assert {event.object_id for event in events} == {str(clip.public_id) for clip in reviewed}


def test_with_the_history_the_loops_lookups_are_planned_as_index_scans(reviewers):
    """Without it (history=0), ANALYZE records empty tables and these plans are sequential scans."""
    queue.reset_queue(40, queue.write_bench_audio(), show_progress=False)
    reviewer = reviewers[0]

    open_lease = Lease.objects.filter(reviewer=reviewer, ended_at__isnull=True).explain()
    latest = TranscriptRevision.objects.filter(clip_id=1).order_by("-version")[:1].explain()

    assert "Seq Scan" not in open_lease, open_lease
    assert "Seq Scan" not in latest, latest
