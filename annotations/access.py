"""The one way views reach a clip or a lease: through the asking user's active lease.

Each helper raises Http404 when the user may not have the object, so a clip's existence never
leaks and no view can forget the check. The audio view and the API's serializers go through here
too.
"""

import uuid

from django.http import Http404
from django.utils import timezone

from annotations.models import Clip, Lease


def _as_uuid(public_id) -> uuid.UUID:
    try:
        return public_id if isinstance(public_id, uuid.UUID) else uuid.UUID(str(public_id))
    except ValueError:
        raise Http404("No such clip") from None


def clip_for_user(user, public_id) -> Clip:
    """The clip with this public id, if `user` holds an active lease on it; else Http404.

    The returned clip carries that lease as `clip.lease`.
    """
    if not user.is_authenticated:
        raise Http404("No such clip")
    lease = (
        Lease.objects.active(timezone.now())
        .filter(reviewer=user, clip__public_id=_as_uuid(public_id))
        .select_related("clip")
        .first()
    )
    if lease is None:
        raise Http404("No such clip")
    clip = lease.clip
    clip.lease = lease
    return clip


def lease_for_user(user, public_id) -> Lease:
    """The user's own active lease with this public id; else Http404."""
    if not user.is_authenticated:
        raise Http404("No such lease")
    lease = (
        Lease.objects.active(timezone.now())
        .filter(reviewer=user, public_id=_as_uuid(public_id))
        .select_related("clip")
        .first()
    )
    if lease is None:
        raise Http404("No such lease")
    return lease
