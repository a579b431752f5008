"""Case workflows: flag, acknowledge, move, refer (two people), close, miss a deadline, break glass.

Each function is one transaction that locks the case row, adds an EscalationEvent (a case is
never edited in place), records the step in the access trail, and tells supervisors' dashboards
after the commit (escalations.notify).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from rest_framework.exceptions import APIException, PermissionDenied

from annotations.grants import grant_group_view, revoke_group_access, revoke_lease_access
from annotations.models import Clip, ClipStatus, Lease, LeaseOutcome, SourceIdentity
from annotations.services import promote_next_lease
from escalations import notify, workflow
from escalations.models import (
    Category,
    Disposition,
    Escalation,
    EscalationEvent,
    EventKind,
    IdentityRequest,
    ReviewerWellbeing,
    State,
    SupervisorDuty,
)
from reviewportal.accounts.roles import ESCALATION_LEADS, ESCALATION_TEAM, SUPERVISORS
from reviewportal.audit import trail
from reviewportal.audit.models import Action

REFERRAL_DISPOSITIONS = {
    Disposition.EMERGENCY_SERVICES_CONTACTED,
    Disposition.CHILD_PROTECTION_REFERRAL,
    Disposition.LAW_ENFORCEMENT_REFERRAL,
}


class CaseConflict(APIException):
    """The step does not fit where the case stands."""

    status_code = 409
    default_code = "conflict"


class NotAllowed(PermissionDenied):
    """This person may not take this step."""


@dataclass(frozen=True)
class Current:
    state: str
    owner_id: int | None
    tier: int
    deadline: datetime | None
    disposition: str


def current(case: Escalation) -> Current:
    latest = case.latest_event()
    return Current(latest.to_state, latest.owner_id, latest.tier, latest.deadline, latest.disposition)


def _locked(case: Escalation) -> Escalation:
    """Re-read the case under a row lock. Call inside transaction.atomic."""
    return Escalation.objects.select_for_update().get(pk=case.pk)


def _add_event(case: Escalation, *, actor, kind: str, before: Current, **changes) -> EscalationEvent:
    values = {
        "to_state": before.state,
        "owner_id": before.owner_id,
        "tier": before.tier,
        "deadline": before.deadline,
        "disposition": before.disposition,
    }
    values.update(changes)
    event = EscalationEvent.objects.create(
        escalation=case, actor=actor, kind=kind, from_state=before.state if kind != EventKind.OPENED else "", **values
    )
    detail = {"kind": kind, "from": event.from_state, "to": event.to_state, "tier": event.tier}
    if event.disposition:
        detail["disposition"] = event.disposition
    action = {EventKind.OPENED: Action.ESCALATION_OPENED, EventKind.COMMENT: Action.ESCALATION_COMMENTED}.get(
        kind, Action.ESCALATION_TRANSITION
    )
    trail.record(action, actor=actor, object_type="escalation", object_id=case.public_id, detail=detail)
    notify.case_changed_on_commit(case, event)
    return event


# --- Owners ----------------------------------------------------------------------------------


def _people_in(role: str):
    return get_user_model().objects.filter(groups__name=role, is_active=True)


def _least_loaded(candidates) -> int | None:
    """The candidate owning the fewest open cases (ties: lowest id), so cases spread out."""
    open_cases = Escalation.objects.with_current().filter(current_state__in=workflow.OPEN_STATES)
    owned = {
        row["current_owner_id"]: row["n"]
        for row in open_cases.values("current_owner_id").annotate(n=Count("id")).order_by()
    }
    ids = list(candidates.values_list("id", flat=True).order_by("id"))
    return min(ids, key=lambda person: (owned.get(person, 0), person)) if ids else None


def _owner_for(tier: int) -> tuple[int | None, int]:
    """(owner id, tier): an on-duty supervisor at tier 1, else a lead (on duty first) at tier 2+."""
    if tier <= 1:
        on_duty = _people_in(SUPERVISORS).filter(duty__on_duty=True)
        if (owner := _least_loaded(on_duty)) is not None:
            return owner, 1
        tier = 2
    leads = _people_in(ESCALATION_LEADS)
    owner = _least_loaded(leads.filter(duty__on_duty=True)) or _least_loaded(leads)
    return owner, tier


def duty_set(*, supervisor, on_duty: bool) -> SupervisorDuty:
    with transaction.atomic():
        duty, _ = SupervisorDuty.objects.select_for_update().get_or_create(supervisor=supervisor)
        duty.on_duty = on_duty
        duty.changed_at = timezone.now()
        duty.save(update_fields=["on_duty", "changed_at"])
        trail.record(Action.DUTY_CHANGED, actor=supervisor, detail={"on_duty": on_duty})
    notify.duty_changed_on_commit(supervisor, on_duty)
    return duty


# --- Flag ------------------------------------------------------------------------------------


def escalation_open(
    *, clip: Clip, lease: Lease | None, raised_by, category: str, start_ms: int, end_ms: int, note: str = ""
) -> Escalation:
    """A reviewer heard distress: open a case, all at once.

    The clip leaves every queue (status escalated), the reviewer's lease and grants end, the
    escalation team gets view access to this clip only, and the clip is on legal hold while the
    case is open (escalations.holds). The case goes to an on-duty supervisor with a deadline.
    """
    if category not in Category.values:
        raise ValidationError({"category": f"must be one of {', '.join(Category.values)}"})
    if not 0 <= start_ms < end_ms <= clip.duration_ms:
        raise ValidationError({"end_ms": f"the flagged stretch must lie inside the clip (0–{clip.duration_ms} ms)"})
    now = timezone.now()
    severity = workflow.severity_for(category)
    with transaction.atomic():
        Clip.objects.filter(pk=clip.pk).update(status=ClipStatus.ESCALATED)
        if lease is not None:
            locked_lease = Lease.objects.select_for_update().get(pk=lease.pk)
            if locked_lease.ended_at is None:
                locked_lease.end(outcome=LeaseOutcome.ESCALATED, now=now)
                revoke_lease_access(locked_lease)
                # The clip claimed ahead becomes current, as after a submit: the editor moves on to it.
                promote_next_lease(locked_lease.reviewer_id, now)
        _grant_team(clip)
        case = Escalation.objects.create(
            clip=clip,
            raised_by=raised_by,
            category=category,
            severity=severity,
            start_ms=start_ms,
            end_ms=end_ms,
            note=note,
            created_at=now,
        )
        owner_id, tier = _owner_for(1)
        opened = Current(State.OPEN, owner_id, tier, now + workflow.ack_window(severity), "")
        _add_event(case, actor=raised_by, kind=EventKind.OPENED, before=opened)
        notify.reviewer_on_commit(raised_by.pk, case, "received")
    return case


def _grant_team(clip: Clip) -> None:
    team, _ = Group.objects.get_or_create(name=ESCALATION_TEAM)
    grant_group_view(clip, team)


def _revoke_team(case: Escalation) -> None:
    """The team's grant on the clip ends with the last open case on it. Call inside the case's transaction.

    The clip stays on legal hold after the close (escalations.holds); holding it is not hearing it.
    """
    still_open = (
        Escalation.objects.with_current()
        .filter(clip_id=case.clip_id, current_state__in=workflow.OPEN_STATES)
        .exclude(pk=case.pk)
        .exists()
    )
    team = Group.objects.filter(name=ESCALATION_TEAM).first()
    if team is not None and not still_open:
        revoke_group_access(case.clip, team)


# --- Steps -----------------------------------------------------------------------------------


def _require_handler(person) -> None:
    if not person.has_perm("escalations.handle_escalation"):
        raise NotAllowed("Only supervisors and escalation leads handle cases")


def escalation_acknowledge(*, case: Escalation, by) -> EscalationEvent:
    """The person acknowledging owns the case from now on; its deadline is met."""
    _require_handler(by)
    with transaction.atomic():
        case = _locked(case)
        before = current(case)
        if not workflow.allowed(before.state, State.ACKNOWLEDGED):
            raise CaseConflict(f"A case that is {before.state} cannot be acknowledged")
        event = _add_event(
            case,
            actor=by,
            kind=EventKind.TRANSITION,
            before=before,
            to_state=State.ACKNOWLEDGED,
            owner_id=by.pk,
            deadline=None,
        )
        notify.reviewer_on_commit(case.raised_by_id, case, "acknowledged")
    return event


def escalation_transition(
    *, case: Escalation, by, to_state: str, note: str = "", disposition: str = ""
) -> EscalationEvent:
    """Move the case along TRANSITIONS; closing needs a disposition. Refused moves raise CaseConflict."""
    _require_handler(by)
    if to_state == State.ACKNOWLEDGED:
        return escalation_acknowledge(case=case, by=by)
    if to_state == State.REFERRED:
        raise CaseConflict("A referral outside the company needs a proposal and a second supervisor's approval")
    with transaction.atomic():
        case = _locked(case)
        before = current(case)
        if not workflow.allowed(before.state, to_state):
            raise CaseConflict(f"A case that is {before.state} cannot move to {to_state}")
        changes = {"to_state": to_state, "note": note}
        if to_state == State.CLOSED:
            if disposition not in Disposition.values:
                raise ValidationError({"disposition": f"closing needs one of {', '.join(Disposition.values)}"})
            changes["disposition"] = disposition
        event = _add_event(case, actor=by, kind=EventKind.TRANSITION, before=before, **changes)
        if to_state == State.CLOSED:
            _revoke_team(case)
            notify.reviewer_on_commit(case.raised_by_id, case, "closed")
    return event


def escalation_comment(*, case: Escalation, by, note: str) -> EscalationEvent:
    _require_handler(by)
    if not note.strip():
        raise ValidationError({"note": "a comment needs some text"})
    with transaction.atomic():
        case = _locked(case)
        return _add_event(case, actor=by, kind=EventKind.COMMENT, before=current(case), note=note)


def referral_propose(*, case: Escalation, by, disposition: str, note: str) -> EscalationEvent:
    """First half of a referral outside the company: proposed by one supervisor, under review."""
    _require_handler(by)
    if disposition not in REFERRAL_DISPOSITIONS:
        raise ValidationError({"disposition": f"a referral is one of {', '.join(sorted(REFERRAL_DISPOSITIONS))}"})
    if not note.strip():
        raise ValidationError({"note": "say who to refer to and why"})
    with transaction.atomic():
        case = _locked(case)
        before = current(case)
        if before.state != State.UNDER_REVIEW:
            raise CaseConflict(f"Only a case under review can be proposed for referral; this one is {before.state}")
        if pending_referral(case) is not None:
            raise CaseConflict("A referral is already proposed and waiting for approval")
        return _add_event(
            case, actor=by, kind=EventKind.REFERRAL_PROPOSED, before=before, note=note, disposition=disposition
        )


def referral_approve(*, case: Escalation, by, note: str = "") -> EscalationEvent:
    """Second half: a different supervisor approves, and the case is referred."""
    _require_handler(by)
    with transaction.atomic():
        case = _locked(case)
        before = current(case)
        proposal = pending_referral(case)
        if before.state != State.UNDER_REVIEW or proposal is None:
            raise CaseConflict("There is no referral proposal waiting for approval")
        if proposal.actor_id == by.pk:
            raise CaseConflict("The supervisor who proposed a referral cannot approve it; a second supervisor must")
        return _add_event(
            case,
            actor=by,
            kind=EventKind.REFERRAL_APPROVED,
            before=before,
            to_state=State.REFERRED,
            disposition=proposal.disposition,
            note=note,
        )


def pending_referral(case: Escalation) -> EscalationEvent | None:
    """The referral proposal still waiting for a second supervisor, if any."""
    latest_decision = (
        case.events.filter(kind__in=[EventKind.REFERRAL_PROPOSED, EventKind.REFERRAL_APPROVED]).order_by("-id").first()
    )
    return latest_decision if latest_decision and latest_decision.kind == EventKind.REFERRAL_PROPOSED else None


# --- Deadlines -------------------------------------------------------------------------------


def enforce_deadlines(*, now: datetime | None = None) -> int:
    """Re-assign every case not acknowledged by its deadline to the next tier, with a new deadline.

    The same function runs in a Celery worker (production, every ESCALATION_DEADLINE_CHECK_SECONDS),
    on a timer thread in the embedded default, and directly in tests with `now` under control.
    Safe to run from several processes at once: each case is re-read under its row lock.
    """
    now = now or timezone.now()
    overdue = Escalation.objects.with_current().filter(current_state=State.OPEN, current_deadline__lte=now)
    moved = 0
    for case in overdue:
        with transaction.atomic():
            case = _locked(case)
            before = current(case)
            if before.state != State.OPEN or before.deadline is None or before.deadline > now:
                continue  # acknowledged or already moved by another worker meanwhile
            owner_id, tier = _owner_for(before.tier + 1)
            missed_by = get_user_model().objects.filter(pk=before.owner_id).values_list("username", flat=True).first()
            with trail.as_system():
                _add_event(
                    case,
                    actor=None,
                    kind=EventKind.ASSIGNED,
                    before=before,
                    owner_id=owner_id,
                    tier=tier,
                    deadline=now + workflow.ack_window(case.severity),
                    note=f"not acknowledged in time{f' by {missed_by}' if missed_by else ''}",
                )
            moved += 1
    return moved


# --- Identity, break-glass -------------------------------------------------------------------


def identity_request(*, case: Escalation, by, justification: str) -> IdentityRequest:
    _require_handler(by)
    if len(justification.strip()) < 20:
        raise ValidationError(
            {"justification": "say, in at least 20 characters, why the referral needs who was recorded"}
        )
    with transaction.atomic():
        request = IdentityRequest.objects.create(escalation=case, requested_by=by, justification=justification)
        trail.record(
            Action.IDENTITY_REQUESTED,
            actor=by,
            object_type="escalation",
            object_id=case.public_id,
            detail={"request": request.public_id.hex},
        )
    notify.identity_requested_on_commit(case, request)
    return request


def identity_approve(*, request: IdentityRequest, by) -> IdentityRequest:
    _require_handler(by)
    with transaction.atomic():
        request = IdentityRequest.objects.select_for_update().get(pk=request.pk)
        if request.approved_at is not None:
            raise CaseConflict("This request is already approved")
        if request.requested_by_id == by.pk:
            raise CaseConflict("The supervisor who asked cannot approve; a second supervisor must")
        request.approve(by=by, now=timezone.now())
        trail.record(
            Action.IDENTITY_APPROVED,
            actor=by,
            object_type="escalation",
            object_id=request.escalation.public_id,
            detail={"request": request.public_id.hex, "requested_by": request.requested_by_id},
        )
    return request


def identity_reveal(*, request: IdentityRequest, by) -> dict:
    """Who was recorded, for the requester alone, within the reveal window. Every reveal is recorded."""
    now = timezone.now()
    if request.requested_by_id != by.pk:
        raise NotAllowed("Only the supervisor who asked may see this identity")
    if request.approved_at is None:
        raise CaseConflict("A second supervisor has not approved this request yet")
    if request.reveal_until is None or request.reveal_until <= now:
        raise CaseConflict("The reveal window has closed; ask again")
    identity = SourceIdentity.objects.get(clip_id=request.escalation.clip_id)
    with transaction.atomic():
        trail.record(
            Action.IDENTITY_REVEALED,
            actor=by,
            object_type="escalation",
            object_id=request.escalation.public_id,
            detail={"request": request.public_id.hex},
        )
    return {
        "account_id": identity.account_id,
        "first_name": identity.first_name,
        "device_serial": identity.device_serial,
        "visible_until": request.reveal_until,
    }


# --- Reviewer wellbeing ----------------------------------------------------------------------


def wellbeing_for(reviewer) -> ReviewerWellbeing:
    wellbeing, _ = ReviewerWellbeing.objects.get_or_create(reviewer=reviewer)
    return wellbeing


def wellbeing_take_break(*, reviewer) -> ReviewerWellbeing:
    """Pause the reviewer's queue for WELLBEING_BREAK_SECONDS; claims wait until it ends."""
    with transaction.atomic():
        wellbeing, _ = ReviewerWellbeing.objects.select_for_update().get_or_create(reviewer=reviewer)
        wellbeing.paused_until = timezone.now() + timedelta(seconds=settings.WELLBEING_BREAK_SECONDS)
        wellbeing.save(update_fields=["paused_until"])
    return wellbeing


def wellbeing_end_break(*, reviewer) -> ReviewerWellbeing:
    with transaction.atomic():
        wellbeing, _ = ReviewerWellbeing.objects.select_for_update().get_or_create(reviewer=reviewer)
        wellbeing.paused_until = None
        wellbeing.save(update_fields=["paused_until"])
    return wellbeing


def wellbeing_set_avoid_distress(*, reviewer, avoid: bool) -> ReviewerWellbeing:
    with transaction.atomic():
        wellbeing, _ = ReviewerWellbeing.objects.select_for_update().get_or_create(reviewer=reviewer)
        wellbeing.avoid_possible_distress = avoid
        wellbeing.save(update_fields=["avoid_possible_distress"])
    return wellbeing


def distressing_clips_this_shift(reviewer, now: datetime | None = None) -> int:
    since = (now or timezone.now()) - timedelta(hours=settings.SHIFT_HOURS)
    return Lease.objects.filter(reviewer=reviewer, started_at__gte=since, clip__possible_distress=True).count()


def wellbeing_summary() -> dict:
    """What supervisors see: counts only, never who chose what."""
    now = timezone.now()
    rows = ReviewerWellbeing.objects.aggregate(
        avoiding=Count("pk", filter=Q(avoid_possible_distress=True)),
        on_break=Count("pk", filter=Q(paused_until__gt=now)),
    )
    return {**rows, "reviewers": _people_in("reviewers").count()}
