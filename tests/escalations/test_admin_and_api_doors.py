"""Doors of issue 6 the first tests missed: duty over the API, the category filter, auditors in
the admin, referral steps from the wrong state, the dashboard's server-rendered deadlines."""

import pytest
from django.test import Client

from escalations import services
from escalations.models import Escalation, EscalationEvent, IdentityRequest, State, SupervisorDuty
from reviewportal.audit.models import AccessEvent, Action
from tests.conftest import signed_in
from tests.escalations.test_workflow import bring_to

pytestmark = pytest.mark.django_db
DUTY = "/api/v1/supervisors/me/duty"


# --- Duty ------------------------------------------------------------------------------------


def test_a_supervisor_goes_on_and_off_duty_through_the_api_and_cases_follow(
    supervisor, lead, reviewer_client, make_clips
):
    client = signed_in(supervisor)

    on = client.put(DUTY, {"on_duty": True}, format="json")
    assert (on.status_code, on.json()) == (200, {"on_duty": True})
    assert SupervisorDuty.objects.get(supervisor=supervisor).on_duty
    assert AccessEvent.objects.filter(action=Action.DUTY_CHANGED, actor_user=supervisor).count() == 1
    make_clips(2)
    clip_id = reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"]
    reviewer_client.post(
        f"/api/v1/clips/{clip_id}/escalations", {"category": "self_harm", "start_ms": 0, "end_ms": 9}, format="json"
    )
    assert EscalationEvent.objects.get().owner == supervisor  # on duty: the case is hers

    off = client.put(DUTY, {"on_duty": False}, format="json")
    assert (off.status_code, off.json()) == (200, {"on_duty": False})
    assert not SupervisorDuty.objects.get(supervisor=supervisor).on_duty
    assert services._owner_for(1) == (lead.pk, 2)  # nobody on duty: the next case goes to a lead


@pytest.mark.parametrize("body", [{}, {"on_duty": "perhaps"}, {"on_duty": None}])
def test_a_bad_duty_request_is_refused_naming_the_field(supervisor, body):
    response = signed_in(supervisor).put(DUTY, body, format="json")
    assert response.status_code == 400 and "on_duty" in response.json()
    assert not SupervisorDuty.objects.filter(supervisor=supervisor).exists()


def test_a_lead_may_set_their_duty_too(lead):
    assert signed_in(lead).put(DUTY, {"on_duty": True}, format="json").status_code == 200


@pytest.mark.parametrize("persona", ["reviewer", "auditor", "outsider"])
def test_only_case_handlers_set_duty(request, persona):
    person = request.getfixturevalue(persona)
    assert signed_in(person).put(DUTY, {"on_duty": True}, format="json").status_code == 403
    assert not SupervisorDuty.objects.exists()


def test_duty_needs_both_factors_and_a_sign_in(supervisor):
    from rest_framework.test import APIClient

    assert signed_in(supervisor, verified=False).put(DUTY, {"on_duty": True}, format="json").status_code == 403
    assert APIClient().put(DUTY, {"on_duty": True}, format="json").status_code == 403
    assert not SupervisorDuty.objects.exists()


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_duty_takes_only_put(supervisor, method):
    assert getattr(signed_in(supervisor), method)(DUTY).status_code == 405


# --- The case list ---------------------------------------------------------------------------


def test_the_case_list_filters_by_category(flagged, supervisor_client, other_reviewer_client, make_clips):
    case, _, _ = flagged  # child_safety
    make_clips(1)
    clip_id = other_reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"]
    other_reviewer_client.post(
        f"/api/v1/clips/{clip_id}/escalations",
        {"category": "medical_emergency", "start_ms": 0, "end_ms": 10},
        format="json",
    )
    medical = Escalation.objects.get(category="medical_emergency")

    def ids(**filters):
        return [row["id"] for row in supervisor_client.get("/api/v1/escalations", filters).json()]

    assert ids() == [str(medical.public_id), str(case.public_id)]  # S1 first
    assert ids(category="child_safety") == [str(case.public_id)]
    assert ids(category="medical_emergency") == [str(medical.public_id)]
    assert ids(category="self_harm") == []
    assert ids(category="child_safety", severity=1) == []


# --- Referral steps from the wrong state -----------------------------------------------------


@pytest.mark.parametrize("state", [State.OPEN, State.ACKNOWLEDGED, State.NO_ACTION, State.REFERRED, State.CLOSED])
def test_proposing_a_referral_from_the_wrong_state_is_a_409_that_says_why(
    flagged, supervisor_on_duty, second_supervisor, supervisor_client, state
):
    case, _, _ = flagged
    bring_to(case, state, supervisor_on_duty, second_supervisor)
    before = EscalationEvent.objects.count()

    response = supervisor_client.post(
        f"/api/v1/escalations/{case.public_id}/referral/propose",
        {"disposition": "law_enforcement_referral", "note": "police liaison"},
        format="json",
    )

    assert response.status_code == 409
    assert "under review" in response.json()["detail"] and state in response.json()["detail"]
    assert EscalationEvent.objects.count() == before


@pytest.mark.parametrize("state", [State.OPEN, State.ACKNOWLEDGED, State.NO_ACTION, State.REFERRED, State.CLOSED])
def test_approving_a_referral_from_the_wrong_state_is_a_409_that_says_why(
    flagged, supervisor_on_duty, second_supervisor, second_supervisor_client, state
):
    case, _, _ = flagged
    bring_to(case, state, supervisor_on_duty, second_supervisor)
    before = EscalationEvent.objects.count()

    response = second_supervisor_client.post(
        f"/api/v1/escalations/{case.public_id}/referral/approve", {}, format="json"
    )

    assert response.status_code == 409
    assert "no referral proposal waiting" in response.json()["detail"] and state in response.json()["detail"]
    assert EscalationEvent.objects.count() == before


def test_a_second_proposal_while_one_waits_is_a_409(flagged, supervisor_on_duty, second_supervisor_client):
    case, _, _ = flagged
    bring_to(case, State.UNDER_REVIEW, supervisor_on_duty)
    services.referral_propose(case=case, by=supervisor_on_duty, disposition="child_protection_referral", note="LA")

    response = second_supervisor_client.post(
        f"/api/v1/escalations/{case.public_id}/referral/propose",
        {"disposition": "law_enforcement_referral", "note": "police instead"},
        format="json",
    )

    assert response.status_code == 409 and "already proposed" in response.json()["detail"]
    assert services.pending_referral(case).disposition == "child_protection_referral"


def test_an_approved_referral_cannot_be_approved_again(flagged, supervisor_on_duty, second_supervisor, lead):
    case, _, _ = flagged
    bring_to(case, State.REFERRED, supervisor_on_duty, second_supervisor)

    response = signed_in(lead).post(f"/api/v1/escalations/{case.public_id}/referral/approve", {}, format="json")

    assert response.status_code == 409
    assert EscalationEvent.objects.filter(kind="referral_approved").count() == 1


# --- Auditors in the admin -------------------------------------------------------------------


@pytest.fixture
def auditor_browser(auditor):
    return signed_in(auditor, Client)


@pytest.fixture
def identity_request(flagged, supervisor_on_duty):
    case, _, _ = flagged
    return services.identity_request(
        case=case, by=supervisor_on_duty, justification="the referral needs the household to act on it"
    )


def test_auditors_open_the_escalation_admin_pages(auditor_browser, flagged, identity_request):
    case, _, _ = flagged
    pages = {
        "/admin/escalations/escalation/": str(case.public_id),
        f"/admin/escalations/escalation/{case.pk}/change/": "child_safety",
        "/admin/escalations/identityrequest/": str(identity_request.public_id),
        f"/admin/escalations/identityrequest/{identity_request.pk}/change/": "household to act",
    }
    for path, shown in pages.items():
        response = auditor_browser.get(path)
        assert response.status_code == 200, path
        text = response.content.decode()
        assert shown in text, path
        for secret in ("ACCT-TEST-0001", "Wilhelmina", "SER-TEST-7777"):
            assert secret not in text, path
    change = auditor_browser.get(f"/admin/escalations/escalation/{case.pk}/change/").content.decode()
    assert 'name="_save"' not in change  # read-only: nothing to save
    assert "opened" in change  # the case's events, inline


def test_auditors_cannot_change_add_or_delete_cases_in_the_admin(auditor_browser, flagged, identity_request):
    case, _, _ = flagged
    original = Escalation.objects.values().get()
    attempts = [
        (f"/admin/escalations/escalation/{case.pk}/change/", {"category": "other_distress", "_save": "Save"}),
        (f"/admin/escalations/escalation/{case.pk}/delete/", {"post": "yes"}),
        ("/admin/escalations/escalation/add/", {"category": "other_distress"}),
        (f"/admin/escalations/identityrequest/{identity_request.pk}/change/", {"justification": "x", "_save": "Save"}),
    ]
    for path, body in attempts:
        assert auditor_browser.post(path, body).status_code == 403, path
    assert auditor_browser.get("/admin/escalations/escalation/add/").status_code == 403
    assert auditor_browser.get(f"/admin/escalations/escalation/{case.pk}/delete/").status_code == 403
    assert Escalation.objects.values().get() == original
    assert IdentityRequest.objects.get().justification.startswith("the referral")


@pytest.mark.parametrize("persona", ["reviewer", "outsider"])
def test_people_without_an_admin_role_do_not_open_the_escalation_admin(request, persona, flagged):
    case, _, _ = flagged
    browser = signed_in(request.getfixturevalue(persona), Client)
    response = browser.get(f"/admin/escalations/escalation/{case.pk}/change/")
    assert response.status_code in (302, 403, 404)
    assert str(case.public_id) not in response.content.decode()


# --- The dashboard's deadlines ---------------------------------------------------------------


def test_the_dashboard_renders_each_deadline_for_the_countdown(flagged, supervisor_on_duty, lead):
    case, _, _ = flagged
    deadline = services.current(case).deadline
    html = signed_in(lead, Client).get("/supervise/escalations").content.decode()

    assert "Acknowledge within" in html
    row = html.split(f'data-case="{case.public_id}"')[1].split("</tr>")[0]
    assert f'data-deadline="{deadline.isoformat()}"' in row  # what escalations-dashboard.js counts down from
    assert f"by {deadline:%H:%M:%S} UTC" in row  # readable without the script, too
    assert 'id="assigned-alert"' in html

    services.escalation_acknowledge(case=case, by=supervisor_on_duty)
    html = signed_in(lead, Client).get("/supervise/escalations").content.decode()
    row = html.split(f'data-case="{case.public_id}"')[1].split("</tr>")[0]
    assert 'data-deadline=""' in row and "acknowledged" in row
