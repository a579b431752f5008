"""Per-clip guardian grants that follow a lease: given when it starts, taken when it ends.

The grant rows live in ClipUserObjectPermission (a direct foreign key to Clip), so the table
holds only the grants of open leases: two rows for a current lease, one (view) for a lease
claimed ahead.
"""

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType

from annotations.models import Clip, ClipUserObjectPermission, Lease

LEASE_PERMISSIONS = ("view_clip", "transcribe_clip")
# A clip claimed ahead may be fetched (peaks, audio) but not transcribed until it becomes current.
NEXT_LEASE_PERMISSIONS = ("view_clip",)


def grant_lease_access(lease: Lease) -> None:
    """Let the lease holder view the clip and, once the lease is current, change its transcript.

    Call inside the lease's transaction; calling it again after a promotion adds what is missing.
    """
    codenames = NEXT_LEASE_PERMISSIONS if lease.is_next else LEASE_PERMISSIONS
    permissions = Permission.objects.filter(
        content_type=ContentType.objects.get_for_model(Clip), codename__in=codenames
    )
    ClipUserObjectPermission.objects.bulk_create(
        [
            ClipUserObjectPermission(user_id=lease.reviewer_id, content_object_id=lease.clip_id, permission=permission)
            for permission in permissions
        ],
        ignore_conflicts=True,
    )


def revoke_lease_access(lease: Lease) -> None:
    """Take the holder's grants on the clip away. Call inside the transaction that ends the lease."""
    ClipUserObjectPermission.objects.filter(user_id=lease.reviewer_id, content_object_id=lease.clip_id).delete()
