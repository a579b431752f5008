"""Who handles cases, and the one way views reach a case or an identity request.

`may_handle_cases` is the one check every door makes (API, pages, services, the dashboard's
websocket): whoever holds escalations.handle_escalation, which accounts.roles gives to
supervisors and escalation leads. Anyone else gets Http404 (and a recorded denial) for a case.
"""

import uuid

from django.http import Http404

from annotations.access import clip_for_user
from escalations.models import Escalation, IdentityRequest
from reviewportal.audit import trail
from reviewportal.audit.models import Action, Outcome

HANDLE_CASES = "escalations.handle_escalation"


def may_handle_cases(user) -> bool:
    """Whether this person acknowledges, reviews, refers and closes cases (and sees the dashboard)."""
    return bool(user.is_authenticated and user.is_active and user.has_perm(HANDLE_CASES))


def _denied(object_type: str, object_id) -> Http404:
    trail.record(
        Action.PERMISSION_DENIED,
        outcome=Outcome.DENIED,
        object_type=object_type,
        object_id=str(object_id)[:64],
        detail={"perm": HANDLE_CASES.split(".")[1]},
    )
    return Http404(f"No such {object_type.replace('_', ' ')}")


def _uuid(value, object_type: str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise _denied(object_type, value) from None


def case_for_user(user, public_id) -> Escalation:
    """The case, for supervisors and escalation leads; anyone else gets 404."""
    if not may_handle_cases(user):
        raise _denied("escalation", public_id)
    case = (
        Escalation.objects.with_current()
        .select_related("clip", "raised_by")
        .filter(public_id=_uuid(public_id, "escalation"))
        .first()
    )
    if case is None:
        raise _denied("escalation", public_id)
    return case


def identity_request_for_user(user, public_id) -> IdentityRequest:
    if not may_handle_cases(user):
        raise _denied("identity_request", public_id)
    found = (
        IdentityRequest.objects.select_related("escalation")
        .filter(public_id=_uuid(public_id, "identity_request"))
        .first()
    )
    if found is None:
        raise _denied("identity_request", public_id)
    return found


def case_clip_for_user(user, case: Escalation):
    """The case's clip if `user` may hear and read it (the escalation team's grant), else None.

    Cases and their recordings are separate doors: a supervisor or lead outside the escalation
    team handles the case but never gets the clip's audio or its machine transcript. The clip
    goes through annotations.access like every other door, so a refusal is recorded there and a
    grant taken away at the case's close (escalations.services) ends access at once.
    """
    try:
        return clip_for_user(user, case.clip.public_id)
    except Http404:
        return None
