"""The case workflow: every legal and illegal transition, two-person referrals, deadlines, break-glass."""

from datetime import timedelta

import pytest
from django.utils import timezone

from escalations import notify, services, workflow
from escalations.models import Escalation, EscalationEvent, EventKind, State
from reviewportal.audit.models import AccessEvent, Action
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db
ALL_STATES = [State.OPEN, State.ACKNOWLEDGED, State.UNDER_REVIEW, State.REFERRED, State.NO_ACTION, State.CLOSED]


def move(client, case, to_state, **extra):
    return client.post(
        f"/api/v1/escalations/{case.public_id}/transitions", {"to_state": to_state, **extra}, format="json"
    )


def bring_to(case, state, by, second=None):
    """Walk a case to `state` through the allowed steps."""
    path = {
        State.OPEN: [],
        State.ACKNOWLEDGED: [State.ACKNOWLEDGED],
        State.UNDER_REVIEW: [State.ACKNOWLEDGED, State.UNDER_REVIEW],
        State.NO_ACTION: [State.ACKNOWLEDGED, State.UNDER_REVIEW, State.NO_ACTION],
        State.REFERRED: [State.ACKNOWLEDGED, State.UNDER_REVIEW],
        State.CLOSED: [State.ACKNOWLEDGED, State.UNDER_REVIEW, State.NO_ACTION],
    }[state]
    for step in path:
        services.escalation_transition(case=case, by=by, to_state=step)
    if state == State.REFERRED:
        services.referral_propose(
            case=case, by=by, disposition="child_protection_referral", note="to the local authority"
        )
        services.referral_approve(case=case, by=second)
    if state == State.CLOSED:
        services.escalation_transition(case=case, by=by, to_state=State.CLOSED, disposition="no_action_needed")


@pytest.mark.parametrize("from_state", ALL_STATES)
@pytest.mark.parametrize("to_state", ALL_STATES)
def test_every_transition_is_allowed_exactly_when_the_table_says(
    flagged, supervisor_on_duty, second_supervisor, supervisor_client, from_state, to_state
):
    case, _, _ = flagged
    bring_to(case, from_state, supervisor_on_duty, second_supervisor)
    before = EscalationEvent.objects.count()
    fitting = "child_protection_referral" if from_state == State.REFERRED else "no_action_needed"

    response = move(supervisor_client, case, to_state, disposition=fitting)

    if to_state in workflow.plain_moves(from_state):
        assert response.status_code == 200, response.content
        assert services.current(Escalation.objects.get()).state == to_state
        assert EscalationEvent.objects.count() == before + 1
    else:
        assert response.status_code == 409, (from_state, to_state, response.content)
        assert EscalationEvent.objects.count() == before


def test_every_step_is_an_event_and_the_case_row_never_changes(flagged, supervisor_on_duty, second_supervisor):
    case, _, _ = flagged
    original = Escalation.objects.values().get()
    bring_to(case, State.REFERRED, supervisor_on_duty, second_supervisor)
    services.escalation_transition(
        case=case, by=supervisor_on_duty, to_state=State.CLOSED, disposition="child_protection_referral"
    )

    assert Escalation.objects.values().get() == original
    kinds = list(
        EscalationEvent.objects.order_by("id").values_list("kind", "from_state", "to_state", "actor__username")
    )
    assert kinds == [
        ("opened", "", "open", "rita"),
        ("transition", "open", "acknowledged", "sana"),
        ("transition", "acknowledged", "under_review", "sana"),
        ("referral_proposed", "under_review", "under_review", "sana"),
        ("referral_approved", "under_review", "referred", "sven"),
        ("transition", "referred", "closed", "sana"),
    ]
    with pytest.raises(ValueError, match="never edited"):
        case.save()
    assert AccessEvent.objects.filter(action=Action.ESCALATION_TRANSITION).count() == 5


def test_every_move_is_in_the_one_table_two_person_moves_included(
    flagged, supervisor_on_duty, second_supervisor, supervisor_client
):
    """Issue 6: under_review → referred lives in TRANSITIONS too, marked as needing two people."""
    case, _, _ = flagged
    assert {(State.UNDER_REVIEW, State.REFERRED)} == workflow.TWO_PERSON
    assert State.REFERRED in workflow.TRANSITIONS[State.UNDER_REVIEW]
    assert workflow.plain_moves(State.UNDER_REVIEW) == {State.NO_ACTION}
    bring_to(case, State.UNDER_REVIEW, supervisor_on_duty)

    assert move(supervisor_client, case, State.REFERRED).status_code == 409
    services.referral_propose(case=case, by=supervisor_on_duty, disposition="law_enforcement_referral", note="police")
    services.referral_approve(case=case, by=second_supervisor)
    assert services.current(case).state == State.REFERRED
    moves = EscalationEvent.objects.exclude(from_state="").exclude(kind=EventKind.REFERRAL_PROPOSED)
    assert all(workflow.allowed(event.from_state, event.to_state) for event in moves)


@pytest.mark.parametrize(
    "disposition", ["emergency_services_contacted", "child_protection_referral", "law_enforcement_referral"]
)
def test_one_supervisor_cannot_record_an_outside_referral_by_closing(
    flagged, supervisor_on_duty, supervisor_client, disposition
):
    """Issue 6: under_review → no_action → closed as a referral would skip the second person."""
    case, _, _ = flagged
    bring_to(case, State.NO_ACTION, supervisor_on_duty)
    before = EscalationEvent.objects.count()

    response = move(supervisor_client, case, State.CLOSED, disposition=disposition)

    assert response.status_code == 400, response.content
    assert "second supervisor" in response.json()["disposition"][0]
    assert services.current(case).state == State.NO_ACTION
    assert EscalationEvent.objects.count() == before
    assert not EscalationEvent.objects.filter(disposition=disposition).exists()


def test_a_referred_case_closes_as_the_referral_two_people_approved_and_nothing_else(
    flagged, supervisor_on_duty, second_supervisor, supervisor_client
):
    case, _, _ = flagged
    bring_to(case, State.REFERRED, supervisor_on_duty, second_supervisor)  # child protection, approved by sven

    for other in ("law_enforcement_referral", "emergency_services_contacted", "false_positive"):
        refused = move(supervisor_client, case, State.CLOSED, disposition=other)
        assert refused.status_code == 400 and "child_protection_referral" in refused.json()["disposition"][0]
    closed = move(supervisor_client, case, State.CLOSED)  # no disposition: the approved one

    assert closed.status_code == 200, closed.content
    current = services.current(case)
    assert (current.state, current.disposition) == (State.CLOSED, "child_protection_referral")


def test_a_proposal_nobody_approved_leaves_no_referral_behind(flagged, supervisor_on_duty, supervisor_client):
    case, _, _ = flagged
    bring_to(case, State.UNDER_REVIEW, supervisor_on_duty)
    services.referral_propose(case=case, by=supervisor_on_duty, disposition="law_enforcement_referral", note="police")

    assert move(supervisor_client, case, State.NO_ACTION).status_code == 200
    assert services.current(case).disposition == ""
    refused = move(supervisor_client, case, State.CLOSED, disposition="law_enforcement_referral")
    assert refused.status_code == 400 and "disposition" in refused.json()


def test_the_case_page_cannot_close_as_a_referral_either(flagged, supervisor_on_duty):
    from django.test import Client

    case, _, _ = flagged
    bring_to(case, State.NO_ACTION, supervisor_on_duty)
    browser = signed_in(supervisor_on_duty, Client)
    page = f"/supervise/escalations/{case.public_id}"
    close_form = browser.get(page).content.decode().split('name="disposition"')[1].split("</select>")[0]
    assert "law_enforcement_referral" not in close_form and "false_positive" in close_form

    refused = browser.post(
        f"{page}/steps",
        {"step": "transition", "to_state": "closed", "disposition": "law_enforcement_referral"},
        follow=True,
    )

    assert b"second supervisor approve it" in refused.content
    assert services.current(case).state == State.NO_ACTION


def test_closing_needs_a_disposition(flagged, supervisor_on_duty, supervisor_client):
    case, _, _ = flagged
    bring_to(case, State.NO_ACTION, supervisor_on_duty)

    response = move(supervisor_client, case, State.CLOSED)

    assert response.status_code == 400 and "disposition" in response.json()
    assert services.current(case).state == State.NO_ACTION


def test_a_referral_needs_a_second_supervisor_and_the_proposer_cannot_approve(
    flagged, supervisor_on_duty, supervisor_client, second_supervisor_client
):
    case, _, _ = flagged
    bring_to(case, State.UNDER_REVIEW, supervisor_on_duty)
    assert move(supervisor_client, case, State.REFERRED).status_code == 409

    proposed = supervisor_client.post(
        f"/api/v1/escalations/{case.public_id}/referral/propose",
        {"disposition": "law_enforcement_referral", "note": "assault overheard; police liaison"},
        format="json",
    )
    own_approval = supervisor_client.post(f"/api/v1/escalations/{case.public_id}/referral/approve", {}, format="json")
    approval = second_supervisor_client.post(
        f"/api/v1/escalations/{case.public_id}/referral/approve", {}, format="json"
    )

    assert proposed.status_code == 201
    assert own_approval.status_code == 409 and "cannot approve" in own_approval.json()["detail"]
    assert approval.status_code == 200
    current = services.current(Escalation.objects.get())
    assert (current.state, current.disposition) == (State.REFERRED, "law_enforcement_referral")


def test_approval_without_a_proposal_is_refused(flagged, supervisor_on_duty, second_supervisor_client):
    case, _, _ = flagged
    bring_to(case, State.UNDER_REVIEW, supervisor_on_duty)
    response = second_supervisor_client.post(
        f"/api/v1/escalations/{case.public_id}/referral/approve", {}, format="json"
    )
    assert response.status_code == 409


@pytest.mark.parametrize("persona", ["reviewer", "other_reviewer", "auditor"])
def test_only_supervisors_and_leads_handle_cases(request, persona, flagged):
    case, _, _ = flagged
    client = signed_in(request.getfixturevalue(persona))
    assert client.get("/api/v1/escalations").status_code == 403
    assert client.get(f"/api/v1/escalations/{case.public_id}").status_code == 403
    assert move(client, case, State.ACKNOWLEDGED).status_code == 403
    assert services.current(case).state == State.OPEN


def test_the_case_list_filters_by_state_severity_and_owner(flagged, supervisor_client, supervisor_on_duty):
    _case, _, _ = flagged
    assert len(supervisor_client.get("/api/v1/escalations", {"state": "open", "severity": 2}).json()) == 1
    assert supervisor_client.get("/api/v1/escalations", {"owner": "me"}).json()[0]["owner"] == "sana"
    assert supervisor_client.get("/api/v1/escalations", {"state": "closed"}).json() == []


# --- Deadlines -------------------------------------------------------------------------------


def test_a_missed_deadline_reassigns_to_the_next_tier_and_notifies_again(
    flagged, supervisor_on_duty, lead, monkeypatch, django_capture_on_commit_callbacks
):
    _case, _, _ = flagged
    first = EscalationEvent.objects.get()
    sent = []
    monkeypatch.setattr(notify, "_send", lambda group, message: sent.append((group, message["event"])))

    with django_capture_on_commit_callbacks(execute=True):
        assert services.enforce_deadlines(now=first.deadline - timedelta(seconds=1)) == 0
    assert sent == []
    with django_capture_on_commit_callbacks(execute=True):
        assert services.enforce_deadlines(now=first.deadline + timedelta(seconds=1)) == 1

    # The second notification: to every case handler's dashboard, and to the new owner by name.
    assert [group for group, _ in sent] == [notify.CASE_HANDLERS_GROUP, notify.owner_group(lead.pk)]
    broadcast, personal = (event for _, event in sent)
    assert (broadcast["event"], broadcast["owner"], broadcast["tier"]) == ("assigned", "lena", 2)
    assert (personal["type"], personal["reason"], personal["case"]) == ("assigned", "deadline_missed", broadcast)

    moved = EscalationEvent.objects.order_by("-id").first()
    assert (moved.kind, moved.actor, moved.owner, moved.tier, moved.to_state) == ("assigned", None, lead, 2, State.OPEN)
    assert moved.deadline == first.deadline + timedelta(seconds=1) + timedelta(minutes=15)
    assert "not acknowledged in time by sana" in moved.note
    system = AccessEvent.objects.filter(action=Action.ESCALATION_TRANSITION).last()
    assert system.actor_label == "system" and system.detail["tier"] == 2


def test_reassignment_repeats_until_someone_acknowledges(flagged, supervisor_on_duty, lead, supervisor_client):
    case, _, _ = flagged
    now = timezone.now()
    for round_ in range(1, 4):
        deadline = services.current(case).deadline
        assert services.enforce_deadlines(now=deadline + timedelta(seconds=1)) == 1
        assert services.current(case).tier == round_ + 1
    assert move(supervisor_client, case, State.ACKNOWLEDGED).status_code == 200
    assert services.enforce_deadlines(now=now + timedelta(days=3)) == 0
    assert services.current(case).deadline is None


def test_an_acknowledged_case_is_never_reassigned(flagged, supervisor_on_duty, lead):
    case, _, _ = flagged
    deadline = services.current(case).deadline
    services.escalation_acknowledge(case=case, by=supervisor_on_duty)
    assert services.enforce_deadlines(now=deadline + timedelta(hours=1)) == 0


# --- Identity, break-glass -------------------------------------------------------------------


def test_identity_is_revealed_to_the_requester_alone_after_a_second_supervisor_approves(
    flagged, supervisor_client, second_supervisor_client, supervisor_on_duty, settings
):
    case, _, _ = flagged
    asked = supervisor_client.post(
        f"/api/v1/escalations/{case.public_id}/identity-requests",
        {"justification": "child protection needs the household to act on the referral"},
        format="json",
    )
    request_id = asked.json()["id"]
    reveal = f"/api/v1/identity-requests/{request_id}/identity"

    assert supervisor_client.get(reveal).status_code == 409  # not approved yet
    assert (
        supervisor_client.post(f"/api/v1/identity-requests/{request_id}/approve").status_code == 409
    )  # not by the asker
    assert second_supervisor_client.post(f"/api/v1/identity-requests/{request_id}/approve").status_code == 200
    shown = supervisor_client.get(reveal)
    assert shown.status_code == 200
    identity = shown.json()
    assert (identity["account_id"], identity["first_name"], identity["device_serial"]) == (
        "ACCT-TEST-0001",
        "Wilhelmina",
        "SER-TEST-7777",
    )
    assert identity["visible_until"]
    assert shown["Cache-Control"] == "no-store"
    assert second_supervisor_client.get(reveal).status_code == 403  # the approver does not see it

    from escalations.models import IdentityRequest

    IdentityRequest.objects.update(reveal_until=timezone.now() - timedelta(seconds=1))
    assert supervisor_client.get(reveal).status_code == 409  # the window closed

    allowed = AccessEvent.objects.filter(object_id=str(case.public_id), outcome="allowed")
    actions = list(allowed.values_list("action", flat=True))
    assert actions.count(Action.IDENTITY_REQUESTED) == 1
    assert actions.count(Action.IDENTITY_APPROVED) == 1
    assert actions.count(Action.IDENTITY_REVEALED) == 1


def test_an_identity_request_needs_a_real_justification(flagged, supervisor_client):
    case, _, _ = flagged
    response = supervisor_client.post(
        f"/api/v1/escalations/{case.public_id}/identity-requests", {"justification": "need it"}, format="json"
    )
    assert response.status_code == 400 and "justification" in response.json()


def test_no_case_page_or_api_answer_carries_the_identity_unless_revealed(flagged, supervisor_client):
    case, _, _ = flagged
    from django.test import Client

    page = signed_in(case.events.first().owner, Client).get(f"/supervise/escalations/{case.public_id}").content.decode()
    api = supervisor_client.get(f"/api/v1/escalations/{case.public_id}").content.decode()
    listing = supervisor_client.get("/api/v1/escalations").content.decode()
    for text in (page, api, listing):
        for secret in ("ACCT-TEST-0001", "Wilhelmina", "SER-TEST-7777"):
            assert secret not in text


def test_comments_are_events_that_leave_the_state_alone(flagged, supervisor_client):
    case, _, _ = flagged
    response = supervisor_client.post(
        f"/api/v1/escalations/{case.public_id}/comments", {"note": "called the on-call lead"}, format="json"
    )
    assert response.status_code == 201
    latest = EscalationEvent.objects.order_by("-id").first()
    assert (latest.kind, latest.to_state, latest.note) == (EventKind.COMMENT, State.OPEN, "called the on-call lead")
    assert (
        supervisor_client.post(
            f"/api/v1/escalations/{case.public_id}/comments", {"note": ""}, format="json"
        ).status_code
        == 400
    )
