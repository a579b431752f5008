"""Taking the next clip off the queue without ever handing one clip to two reviewers."""

from django.db import connection
from django.db.models import Exists, OuterRef

from annotations.models import Clip, ClipStatus, Lease, LeaseOutcome


def claimable_for(reviewer):
    """Queued clips in queue order, minus those this reviewer skipped before."""
    skipped = Lease.objects.filter(clip=OuterRef("pk"), reviewer=reviewer, outcome=LeaseOutcome.RELEASED)
    return Clip.objects.queued().filter(~Exists(skipped))


def take_next_clip_id(reviewer) -> int | None:
    """Mark the first claimable clip leased and return its id, or None if the queue is empty.

    Call inside transaction.atomic; the caller creates the Lease in the same transaction.
    On PostgreSQL (and any backend with SKIP LOCKED) the candidate row is locked with
    FOR UPDATE SKIP LOCKED, so concurrent claimers walk past each other's rows instead of queueing
    behind them. Elsewhere (SQLite) a conditional UPDATE takes the clip only if it is still
    queued, and the loop moves on if another claim won it first.
    """
    candidates = claimable_for(reviewer).values_list("id", flat=True)
    if connection.features.has_select_for_update_skip_locked:
        clip_id = candidates.select_for_update(skip_locked=True, of=("self",)).first()
        if clip_id is None:
            return None
        Clip.objects.filter(pk=clip_id).update(status=ClipStatus.LEASED)
        return clip_id
    while (clip_id := candidates.first()) is not None:
        if Clip.objects.filter(pk=clip_id, status=ClipStatus.QUEUED).update(status=ClipStatus.LEASED):
            return clip_id
    return None
