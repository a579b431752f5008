"""Per-clip guardian grants that follow a lease: given when it starts, taken when it ends.

The grant rows live in ClipUserObjectPermission (a direct foreign key to Clip), so the table
holds only the grants of open leases: two rows for a current lease, one (view) for a lease
claimed ahead.
"""

from annotations.models import Clip, ClipGroupObjectPermission, ClipUserObjectPermission, Lease
from reviewportal.accounts.permissions import permission_id
from reviewportal.precompiled import insert_all, precompiled_delete

LEASE_PERMISSIONS = ("view_clip", "transcribe_clip")
# A clip claimed ahead may be fetched (peaks, audio) but not transcribed until it becomes current.
NEXT_LEASE_PERMISSIONS = ("view_clip",)


def grant_lease_access(lease: Lease) -> None:
    """Let the lease holder view the clip and, once the lease is current, change its transcript.

    Call inside the lease's transaction; calling it again after a promotion adds what is missing.
    """
    codenames = NEXT_LEASE_PERMISSIONS if lease.is_next else LEASE_PERMISSIONS
    insert_all(
        [
            ClipUserObjectPermission(
                user_id=lease.reviewer_id, content_object_id=lease.clip_id, permission_id=permission_id(Clip, codename)
            )
            for codename in codenames
        ],
        ignore_conflicts=True,
    )


def revoke_lease_access(lease: Lease) -> None:
    """Take the holder's grants on the clip away. Call inside the transaction that ends the lease."""
    _lease_grants.run(reviewer_id=lease.reviewer_id, clip_id=lease.clip_id)


@precompiled_delete
def _lease_grants(reviewer_id: int, clip_id: int):
    """Every lease's end takes its grants: built once per thread (reviewportal.precompiled)."""
    return ClipUserObjectPermission.objects.filter(user_id=reviewer_id, content_object_id=clip_id)


def grant_group_view(clip: Clip, group) -> None:
    """Let a group (the escalation team) hear this one clip, without a lease. Call inside a transaction."""
    view = permission_id(Clip, "view_clip")
    ClipGroupObjectPermission.objects.get_or_create(group=group, content_object=clip, permission_id=view)


def revoke_group_access(clip: Clip, group=None) -> int:
    """Take group grants on this clip away (one group's, or every group's); returns how many went.

    Called when the case that gave them closes, and when the clip is purged, so the table holds
    only live grants, as it does for leases.
    """
    grants = ClipGroupObjectPermission.objects.filter(content_object=clip)
    if group is not None:
        grants = grants.filter(group=group)
    removed, _ = grants.delete()
    return removed


def revoke_every_grant(clip: Clip) -> None:
    """Nobody keeps any grant on this clip (a purged clip). Call inside the clip's transaction."""
    ClipUserObjectPermission.objects.filter(content_object=clip).delete()
    revoke_group_access(clip)
