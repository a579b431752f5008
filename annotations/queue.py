"""Taking the next clip off the queue without ever handing one clip to two reviewers."""

import functools
from collections.abc import Callable

from django.db import connection
from django.db.models import Exists, OuterRef

from annotations.models import (
    Clip,
    ClipPool,
    ClipPoolGroupObjectPermission,
    ClipPoolUserObjectPermission,
    ClipStatus,
    Lease,
    LeaseOutcome,
    move_clip,
)
from reviewportal.accounts.permissions import grant_sql, permission_id
from reviewportal.precompiled import precompiled


def reviewable_pool_ids(reviewer) -> list[int]:
    """Pools the reviewer may draw from, by a guardian grant to them or to one of their groups.

    A superuser gets no pool for being one: the grant is the only way in. The same answer as
    guardian's get_objects_for_user(accept_global_perms=False, with_superuser=False), read from
    its two pool grant tables with the statement below.
    """
    review_pool = permission_id(ClipPool, "review_pool")
    with connection.cursor() as cursor:
        cursor.execute(_pool_ids_statement(), [reviewer.pk, review_pool, reviewer.pk, review_pool])
        return sorted(pool_id for (pool_id,) in cursor.fetchall())


@functools.cache
def _pool_ids_statement() -> str:
    """The reviewer's pool grants, own and through their groups, written once per process.

    Every claim runs it; built through the ORM (a UNION of two filtered querysets) it cost more
    CPU than the rest of the claim's reads together.
    """
    return grant_sql(ClipPoolUserObjectPermission, ClipPoolGroupObjectPermission, column="content_object")


def claimable_for(reviewer_id: int, *, avoid_distress: bool = False):
    """Queued clips in queue order, minus those this reviewer skipped before.

    With avoid_distress, "possible distress" clips are left for others (the reviewer opted out,
    or has had their shift's share of them).
    """
    skipped = Lease.objects.filter(clip=OuterRef("pk"), reviewer_id=reviewer_id, outcome=LeaseOutcome.RELEASED)
    clips = Clip.objects.queued().filter(~Exists(skipped))
    return clips.filter(possible_distress=False) if avoid_distress else clips


def _pool_head(reviewer_id: int, pool_id: int, *, avoid_distress: bool):
    head = claimable_for(reviewer_id, avoid_distress=avoid_distress).filter(pool_id=pool_id)
    if connection.features.has_select_for_update_skip_locked:
        head = head.select_for_update(no_key=True, skip_locked=True, of=("self",))
    return head[:1]


# A pool's head, locked where the database can skip locked rows: every claim reads one per pool,
# so the statement is kept compiled (reviewportal.precompiled), one for each avoid_distress.
@precompiled
def _any_head(reviewer_id: int, pool_id: int):
    return _pool_head(reviewer_id, pool_id, avoid_distress=False)


@precompiled
def _calm_head(reviewer_id: int, pool_id: int):
    return _pool_head(reviewer_id, pool_id, avoid_distress=True)


def take_next_clip(
    reviewer,
    pool_ids: list[int],
    *,
    avoid_distress: bool = False,
    may_take_distress: Callable[[], bool] | None = None,
) -> Clip | None:
    """Mark the first claimable clip of the reviewer's pools leased and return it, or None.

    Call inside transaction.atomic; the caller creates the Lease in the same transaction.
    Each pool's head is one index scan of clip_queue_order, whatever the backlog; the best head
    across pools wins. On PostgreSQL (and any backend with SKIP LOCKED) each head is locked with
    FOR UPDATE SKIP LOCKED, so concurrent claimers walk past each other's rows instead of queueing
    behind them; heads not chosen stay locked only until this short transaction commits.
    Elsewhere (SQLite) a conditional UPDATE takes the clip only if it is still queued, and the
    loop looks again if another claim won it first.

    With avoid_distress, "possible distress" clips are left for others from the start. Otherwise
    `may_take_distress`, if given, is asked (once) only when the clip about to be taken is one:
    answering it costs a count, and most clips are not. If it says no, the heads are looked up
    again without such clips. The returned clip is the whole row, read under the lock.
    """
    distress_allowed = None if may_take_distress is not None else True
    while True:
        pool_head = _calm_head if avoid_distress else _any_head
        heads = [clip for pool_id in pool_ids if (clip := pool_head.first(reviewer_id=reviewer.pk, pool_id=pool_id))]
        if not heads:
            return None
        heads.sort(key=lambda clip: (-clip.priority, clip.received_at, clip.pk))
        for clip in heads:
            if clip.possible_distress and not avoid_distress:
                if distress_allowed is None:
                    distress_allowed = may_take_distress()
                if not distress_allowed:
                    avoid_distress = True
                    break  # look again, without "possible distress" clips
            if move_clip.run(clip_id=clip.pk, from_status=ClipStatus.QUEUED, to_status=ClipStatus.LEASED):
                clip.status = ClipStatus.LEASED
                return clip
