"""The one way views reach a clip or a lease, through django-guardian grants.

A reviewer's grant on a clip exists while their lease does (annotations.grants), and the lease
must still be active by the clock: an expired lease loses access at once, even before the sweep
removes its grant. Group grants (the escalation team's, later) need no lease.

Each helper raises Http404 when the user may not have the object, so a clip's existence never
leaks and no view can forget the check. The one refinement: a reviewer whose own lease on the
clip was withdrawn gets ClipWithdrawn (an Http404; 410 in the API), so their page can say why;
what they learn is about their own lease only. Superusers get no exception: guardian's per-object
tables are read directly, not has_perm(), which would let a superuser through.
"""

import uuid
from datetime import datetime

from django.db.models import Exists, OuterRef
from django.http import Http404
from django.utils import timezone
from guardian.core import ObjectPermissionChecker

from annotations.errors import ClipWithdrawn
from annotations.models import Clip, ClipUserObjectPermission, Lease, LeaseOutcome
from reviewportal.accounts.permissions import permission_id
from reviewportal.audit import trail
from reviewportal.audit.models import Action, Outcome
from reviewportal.precompiled import precompiled

VIEW = "view_clip"
TRANSCRIBE = "transcribe_clip"


def _as_uuid(public_id) -> uuid.UUID:
    try:
        return public_id if isinstance(public_id, uuid.UUID) else uuid.UUID(str(public_id))
    except ValueError:
        raise _denied("clip", str(public_id)[:64], "malformed id") from None


def _denied(object_type: str, object_id, perm: str, *, withdrawn: bool = False):
    """Record the refusal, then answer it as if the object did not exist (or, to the holder of a
    withdrawn lease, that it was withdrawn)."""
    detail = {"perm": perm, "withdrawn": True} if withdrawn else {"perm": perm}
    trail.record(
        Action.PERMISSION_DENIED,
        outcome=Outcome.DENIED,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
    )
    return ClipWithdrawn() if withdrawn else Http404(f"No such {object_type}")


def _last_lease_withdrawn(leases) -> bool:
    """Did the latest of these leases (all the caller's own) end because its clip was withdrawn?"""
    outcome = leases.order_by("-started_at", "-id").values_list("outcome", flat=True).first()
    return outcome == LeaseOutcome.WITHDRAWN


def refusal_for_ended(lease: Lease, message: str = "No such clip") -> Http404:
    """What to raise when a service found `lease` (the caller's own) ended under its lock: the
    withdrawal, if that is why, else the plain 404."""
    if _last_lease_withdrawn(Lease.objects.filter(pk=lease.pk)):
        return _denied("clip", lease.clip.public_id, "lease", withdrawn=True)
    return Http404(message)


def clip_for_user(user, public_id, perm: str = VIEW) -> Clip:
    """The clip with this public id if `user` holds `perm` on it; else Http404 (and a recorded denial).

    The returned clip carries the user's active lease as `clip.lease` (None for a group grant).
    A reviewer's path is one query: their active lease on the clip, joined to the clip, with their
    grant in guardian's table. Group grants (the escalation team's) are looked up only after that.
    """
    if not user.is_authenticated:
        raise _denied("clip", public_id, perm)
    clip_uuid = _as_uuid(public_id)
    lease = _granted_lease.first(
        reviewer_id=user.pk, clip_uuid=clip_uuid, now=timezone.now(), perm_id=permission_id(Clip, perm)
    )
    if lease is not None:
        clip = lease.clip
        clip.lease = lease
        return clip
    clip = Clip.objects.filter(public_id=clip_uuid).first()
    if clip is not None and perm in ObjectPermissionChecker(user).get_group_perms(clip):
        clip.lease = None
        return clip
    withdrawn = clip is not None and _last_lease_withdrawn(Lease.objects.filter(reviewer=user, clip=clip))
    raise _denied("clip", public_id, perm, withdrawn=withdrawn)


@precompiled
def _granted_lease(reviewer_id: int, clip_uuid: uuid.UUID, now: datetime, perm_id: int):
    """The reviewer's active lease on the clip, with the clip, if they hold the permission on it.

    Every save and submit runs it (clip_for_user): kept compiled, see reviewportal.precompiled.
    """
    granted = ClipUserObjectPermission.objects.filter(
        user_id=reviewer_id, content_object=OuterRef("clip"), permission_id=perm_id
    )
    leases = Lease.objects.active(now).filter(reviewer_id=reviewer_id, clip__public_id=clip_uuid)
    return leases.filter(Exists(granted)).select_related("clip").order_by("pk")[:1]


def lease_for_user(user, public_id) -> Lease:
    """The user's own active lease with this public id; else Http404 (and a recorded denial)."""
    if not user.is_authenticated:
        raise _denied("lease", public_id, "hold")
    lease = (
        Lease.objects.active(timezone.now())
        .filter(reviewer=user, public_id=_as_uuid(public_id))
        .select_related("clip")
        .first()
    )
    if lease is None:
        withdrawn = _last_lease_withdrawn(Lease.objects.filter(reviewer=user, public_id=_as_uuid(public_id)))
        raise _denied("lease", public_id, "hold", withdrawn=withdrawn)
    return lease
