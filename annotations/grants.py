"""Per-clip guardian grants that follow a lease: given when it starts, taken when it ends.

The grant rows live in ClipUserObjectPermission (a direct foreign key to Clip), so the table
holds only the grants of open leases: two rows for a current lease, one (view) for a lease
claimed ahead.
"""

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import models

from annotations.models import Clip, ClipGroupObjectPermission, ClipUserObjectPermission, Lease

LEASE_PERMISSIONS = ("view_clip", "transcribe_clip")
# A clip claimed ahead may be fetched (peaks, audio) but not transcribed until it becomes current.
NEXT_LEASE_PERMISSIONS = ("view_clip",)

# (model label, codename) -> auth_permission id. See permission_id().
_permission_ids: dict[tuple[str, str], int] = {}


def permission_id(model: type[models.Model], codename: str) -> int:
    """The id of one of `model`'s permissions, read from the database once per process.

    The review loop grants and checks permissions on every claim, save and submit; looking the
    same row up each time cost a query (or a join) per call. auth_permission rows are written by
    migrate and never change while the app runs; forget_permission_ids() empties this after every
    migrate or flush (tests), which is when they can be recreated with other ids.
    """
    key = (model._meta.label_lower, codename)
    if key not in _permission_ids:
        content_type = ContentType.objects.get_for_model(model)
        for pk, name in Permission.objects.filter(content_type=content_type).values_list("pk", "codename"):
            _permission_ids[(key[0], name)] = pk
    return _permission_ids[key]


def forget_permission_ids(**kwargs) -> None:
    """post_migrate receiver: permissions may have been recreated under new ids."""
    _permission_ids.clear()


def grant_lease_access(lease: Lease) -> None:
    """Let the lease holder view the clip and, once the lease is current, change its transcript.

    Call inside the lease's transaction; calling it again after a promotion adds what is missing.
    """
    codenames = NEXT_LEASE_PERMISSIONS if lease.is_next else LEASE_PERMISSIONS
    ClipUserObjectPermission.objects.bulk_create(
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
    ClipUserObjectPermission.objects.filter(user_id=lease.reviewer_id, content_object_id=lease.clip_id).delete()


def grant_group_view(clip: Clip, group) -> None:
    """Let a group (the escalation team) hear this one clip, without a lease. Call inside a transaction."""
    permission = Permission.objects.get(content_type=ContentType.objects.get_for_model(Clip), codename="view_clip")
    ClipGroupObjectPermission.objects.get_or_create(group=group, content_object=clip, permission=permission)


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
