"""Case workflows: flag, acknowledge, move, refer (two people), close, miss a deadline, break glass.

Each function is one transaction that locks the case row, adds an EscalationEvent (a case is
never edited in place), records the step in the access trail, and tells case handlers' dashboards
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
from annotations.services import leases_return_for_break, promote_next_lease
from escalations import notify, workflow
from escalations.access import may_handle_cases
from escalations.models import (
    Category,
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
from reviewportal.audit.models import Action, Outcome


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
    return Escalation.objects.select_for_update(no_key=True).get(pk=case.pk)


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
        duty, _ = SupervisorDuty.objects.select_for_update(no_key=True).get_or_create(supervisor=supervisor)
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
        # Under the clip's row lock, which a purge, an opt-out or a deletion also takes: a clip
        # withdrawn between the reviewer's access check and this flag is not brought back.
        locked = Clip.objects.select_for_update(no_key=True).get(pk=clip.pk)
        if locked.status == ClipStatus.PURGED:
            raise CaseConflict("This clip was withdrawn (the person recorded opted out or asked for deletion)")
        Clip.objects.filter(pk=clip.pk).update(status=ClipStatus.ESCALATED)
        if lease is not None:
            locked_lease = Lease.objects.select_for_update(no_key=True).get(pk=lease.pk)
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
    if not may_handle_cases(person):
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
    """Move the case along TRANSITIONS by one person's decision. Refused moves raise CaseConflict (409).

    Two-person moves (a referral outside) are refused here: they go through referral_propose and
    referral_approve. Closing needs a disposition, and a disposition naming an outside referral is
    accepted only for a referred case, as the referral that was approved; anything else is a
    ValidationError on `disposition` (400), so one person can never record an outside referral.
    """
    _require_handler(by)
    if to_state == State.ACKNOWLEDGED:
        return escalation_acknowledge(case=case, by=by)
    with transaction.atomic():
        case = _locked(case)
        before = current(case)
        if workflow.needs_two_people(before.state, to_state):
            raise CaseConflict("A referral outside the company needs a proposal and a second supervisor's approval")
        if not workflow.allowed(before.state, to_state):
            raise CaseConflict(f"A case that is {before.state} cannot move to {to_state}")
        # A proposal that was never approved leaves no disposition behind on a plain move.
        changes = {"to_state": to_state, "note": note, "disposition": ""}
        if to_state == State.CLOSED:
            changes["disposition"] = _closing_disposition(before, disposition)
        event = _add_event(case, actor=by, kind=EventKind.TRANSITION, before=before, **changes)
        if to_state == State.CLOSED:
            _revoke_team(case)
            notify.reviewer_on_commit(case.raised_by_id, case, "closed")
    return event


def _closing_disposition(before: Current, disposition: str) -> str:
    """The disposition a close records, or ValidationError on `disposition` saying what is allowed."""
    approved = before.disposition if before.state == State.REFERRED else ""
    if approved and not disposition:
        return approved  # a referred case closes as what two people approved
    allowed = workflow.closing_dispositions(approved)
    if disposition in allowed:
        return disposition
    if approved:
        message = f"this case was referred as {approved} (approved by two people); it closes as {approved}"
    elif disposition in workflow.REFERRAL_DISPOSITIONS:
        message = (
            f"{disposition} records a referral outside the company: propose it while the case is under review "
            "and have a second supervisor approve it (referral/propose, referral/approve)"
        )
    else:
        message = f"closing needs one of {', '.join(allowed)}"
    raise ValidationError({"disposition": message})


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
    if disposition not in workflow.REFERRAL_DISPOSITIONS:
        referrals = ", ".join(sorted(workflow.REFERRAL_DISPOSITIONS))
        raise ValidationError({"disposition": f"a referral is one of {referrals}"})
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
        if not workflow.allowed(before.state, State.REFERRED) or proposal is None:
            raise CaseConflict(f"There is no referral proposal waiting for approval on this {before.state} case")
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
        request = IdentityRequest.objects.select_for_update(no_key=True).get(pk=request.pk)
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
    refusal = None
    if request.requested_by_id != by.pk:
        refusal = NotAllowed("Only the supervisor who asked may see this identity")
    elif request.approved_at is None:
        refusal = CaseConflict("A second supervisor has not approved this request yet")
    elif request.reveal_until is None or request.reveal_until <= now:
        refusal = CaseConflict("The reveal window has closed; ask again")
    identity = None
    if refusal is None:
        identity = SourceIdentity.objects.filter(clip_id=request.escalation.clip_id).first()
        if identity is None:
            # The clip's legal hold ended and retention, an opt-out or a deletion request removed it.
            refusal = CaseConflict(
                "Who was recorded is no longer stored: the clip was purged after its legal hold ended"
            )
    if refusal is not None:
        # Recorded on every door (page and API), committed before the refusal is raised.
        trail.record(
            Action.IDENTITY_REVEALED,
            outcome=Outcome.DENIED,
            actor=by,
            object_type="escalation",
            object_id=request.escalation.public_id,
            detail={"request": request.public_id.hex, "reason": str(refusal.detail)},
        )
        raise refusal
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
    """Pause the reviewer's queue for WELLBEING_BREAK_SECONDS; claims answer OnBreak until it ends.

    Every clip they hold goes back to the queue at once, including the one claimed ahead that a
    flag has just made current (annotations.services.leases_return_for_break): a break hands
    them nothing, not even a clip they already had.
    """
    now = timezone.now()
    with transaction.atomic():
        leases_return_for_break(reviewer=reviewer, now=now)
        wellbeing, _ = ReviewerWellbeing.objects.select_for_update(no_key=True).get_or_create(reviewer=reviewer)
        wellbeing.paused_until = now + timedelta(seconds=settings.WELLBEING_BREAK_SECONDS)
        wellbeing.save(update_fields=["paused_until"])
    return wellbeing


def wellbeing_end_break(*, reviewer) -> ReviewerWellbeing:
    with transaction.atomic():
        wellbeing, _ = ReviewerWellbeing.objects.select_for_update(no_key=True).get_or_create(reviewer=reviewer)
        wellbeing.paused_until = None
        wellbeing.save(update_fields=["paused_until"])
    return wellbeing


def wellbeing_set_avoid_distress(*, reviewer, avoid: bool) -> ReviewerWellbeing:
    with transaction.atomic():
        wellbeing, _ = ReviewerWellbeing.objects.select_for_update(no_key=True).get_or_create(reviewer=reviewer)
        wellbeing.avoid_possible_distress = avoid
        wellbeing.save(update_fields=["avoid_possible_distress"])
    return wellbeing


def wellbeing_summary() -> dict:
    """What supervisors see: counts only, never who chose what."""
    now = timezone.now()
    rows = ReviewerWellbeing.objects.aggregate(
        avoiding=Count("pk", filter=Q(avoid_possible_distress=True)),
        on_break=Count("pk", filter=Q(paused_until__gt=now)),
    )
    return {**rows, "reviewers": _people_in("reviewers").count()}
