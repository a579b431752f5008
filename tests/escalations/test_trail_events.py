"""Issue 4: the escalation steps an audit found unrecorded or untested leave their events."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from escalations.models import EscalationEvent, IdentityRequest
from reviewportal.audit.models import AccessEvent, Action
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db


def _asked(case, supervisor_client) -> str:
    response = supervisor_client.post(
        f"/api/v1/escalations/{case.public_id}/identity-requests",
        {"justification": "child protection needs the household to act on the referral"},
        format="json",
    )
    return response.json()["id"]


def test_viewing_a_case_records_escalation_viewed_on_the_api_and_the_page(flagged, supervisor_client, supervisor):
    case, _, _ = flagged
    supervisor_client.get(f"/api/v1/escalations/{case.public_id}")
    signed_in(supervisor, Client).get(f"/supervise/escalations/{case.public_id}")

    viewed = AccessEvent.objects.filter(action=Action.ESCALATION_VIEWED).order_by("sequence")
    assert [(e.actor_label, e.object_type, e.object_id) for e in viewed] == [
        ("sana", "escalation", str(case.public_id))
    ] * 2


def test_a_comment_records_escalation_commented_without_its_text(flagged, supervisor_client):
    case, _, _ = flagged
    response = supervisor_client.post(
        f"/api/v1/escalations/{case.public_id}/comments", {"note": "called the wellbeing line"}, format="json"
    )
    assert response.status_code in (200, 201), response.content

    commented = AccessEvent.objects.get(action=Action.ESCALATION_COMMENTED)
    assert commented.actor_label == "sana" and commented.object_id == str(case.public_id)
    assert "wellbeing line" not in str(commented.detail)


def test_a_comment_and_its_event_commit_together(flagged, supervisor_client, monkeypatch):
    from reviewportal.audit import trail

    case, _, _ = flagged
    before = EscalationEvent.objects.count()
    monkeypatch.setattr(trail, "_hmac", lambda row: (_ for _ in ()).throw(RuntimeError("HMAC key unavailable")))
    supervisor_client.raise_request_exception = False

    response = supervisor_client.post(
        f"/api/v1/escalations/{case.public_id}/comments", {"note": "called the wellbeing line"}, format="json"
    )

    assert response.status_code == 500
    assert EscalationEvent.objects.count() == before


def test_the_dashboard_list_is_recorded_on_the_page_and_the_api(flagged, supervisor, supervisor_client):
    signed_in(supervisor, Client).get("/supervise/escalations")
    supervisor_client.get("/api/v1/escalations", {"state": "open"})

    listed = AccessEvent.objects.filter(action=Action.ESCALATIONS_LISTED).order_by("sequence")
    assert [(e.actor_label, e.object_id, e.detail["cases"]) for e in listed] == [
        ("sana", "page", 1),
        ("sana", "api", 1),
    ]


def test_an_identity_reveal_refused_as_not_yet_approved_is_recorded_as_denied(flagged, supervisor_client):
    """Issue 4: refusals raised as CaseConflict left no event."""
    case, _, _ = flagged
    request_id = _asked(case, supervisor_client)

    assert supervisor_client.get(f"/api/v1/identity-requests/{request_id}/identity").status_code == 409

    denied = AccessEvent.objects.get(action=Action.IDENTITY_REVEALED)
    assert denied.outcome == "denied" and denied.actor_label == "sana"
    assert denied.object_id == str(case.public_id)
    assert denied.detail == {
        "request": request_id.replace("-", ""),
        "reason": "A second supervisor has not approved this request yet",
    }


def test_an_identity_reveal_after_the_window_closed_is_recorded_as_denied_on_the_page_too(
    flagged, supervisor_client, second_supervisor_client, supervisor_on_duty
):
    case, _, _ = flagged
    request_id = _asked(case, supervisor_client)
    second_supervisor_client.post(f"/api/v1/identity-requests/{request_id}/approve")
    IdentityRequest.objects.update(reveal_until=timezone.now() - timedelta(seconds=1))

    page = signed_in(supervisor_on_duty, Client).get(f"/supervise/identity-requests/{request_id}")

    assert page.status_code == 302
    denied = AccessEvent.objects.get(action=Action.IDENTITY_REVEALED)
    assert denied.outcome == "denied" and denied.detail["reason"] == "The reveal window has closed; ask again"
    assert "Wilhelmina" not in str(denied.detail) and "ACCT-TEST" not in str(denied.detail)
