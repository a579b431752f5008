"""Promise 5: in one keystroke, from the reviewer to a formal case with an owner and a deadline."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from annotations import privacy
from annotations import services as annotation_services
from annotations.models import Clip, ClipGroupObjectPermission, ClipStatus, ClipUserObjectPermission, Lease
from escalations import holds, services
from escalations.models import Escalation, EscalationEvent, State
from reviewportal.audit.models import AccessEvent, Action
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db


def test_a_flag_opens_a_case_with_owner_severity_and_deadline(flagged, supervisor_on_duty, reviewer):
    case, _clip_id, response = flagged

    assert response.json()["case"] == str(case.public_id)
    assert case.severity == 2 and case.category == "child_safety" and case.raised_by == reviewer
    assert (case.start_ms, case.end_ms, case.note) == (200, 1500, "a child crying for help")
    opened = EscalationEvent.objects.get()
    assert (opened.kind, opened.to_state, opened.owner, opened.tier) == ("opened", State.OPEN, supervisor_on_duty, 1)
    assert abs((opened.deadline - case.created_at) - timedelta(minutes=15)) < timedelta(seconds=1)
    assert AccessEvent.objects.filter(action=Action.ESCALATION_OPENED, object_id=str(case.public_id)).exists()


@pytest.mark.parametrize(
    ("category", "severity", "minutes"),
    [
        ("imminent_danger", 1, 5),
        ("medical_emergency", 1, 5),
        ("child_safety", 2, 15),
        ("violence_or_abuse", 2, 15),
        ("self_harm", 3, 24 * 60),
        ("other_distress", 3, 24 * 60),
    ],
)
def test_severity_and_deadline_follow_the_category(
    reviewer_client, make_clips, supervisor_on_duty, category, severity, minutes
):
    make_clips(1)
    clip_id = reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"]

    reviewer_client.post(
        f"/api/v1/clips/{clip_id}/escalations", {"category": category, "start_ms": 0, "end_ms": 100}, format="json"
    )

    event = EscalationEvent.objects.get()
    assert event.escalation.severity == severity
    assert round((event.deadline - event.at).total_seconds() / 60) == minutes


def test_the_clip_leaves_the_queue_and_the_reviewer_loses_it_at_once(
    flagged, reviewer, reviewer_client, other_reviewer_client
):
    _case, clip_id, _ = flagged
    clip = Clip.objects.get(public_id=clip_id)

    assert clip.status == ClipStatus.ESCALATED
    assert Lease.objects.get(clip=clip).outcome == "escalated"
    assert not ClipUserObjectPermission.objects.filter(content_object=clip).exists()
    assert reviewer_client.get(f"/api/v1/clips/{clip_id}").status_code == 404
    taken = other_reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"]
    assert taken != clip_id


def test_the_escalation_team_gains_that_clip_and_only_that_clip(flagged, supervisor_client, make_clips):
    case, clip_id, _ = flagged

    grants = ClipGroupObjectPermission.objects.filter(group__name="escalation_team")
    assert [grant.content_object.public_id.hex for grant in grants] == [clip_id.replace("-", "")]
    detail = supervisor_client.get(f"/api/v1/escalations/{case.public_id}").json()
    audio = supervisor_client.get(urlsplit(detail["audio_url"]).path, HTTP_RANGE="bytes=0-99")
    assert audio.status_code == 206
    other = Clip.objects.exclude(public_id=clip_id).first()
    assert supervisor_client.get(f"/api/v1/clips/{other.public_id}").status_code == 404


def test_a_supervisor_outside_the_escalation_team_sees_the_case_but_not_the_recording(flagged, second_supervisor):
    case, _, _ = flagged
    second_supervisor.groups.remove(*second_supervisor.groups.filter(name="escalation_team"))
    detail = signed_in(second_supervisor).get(f"/api/v1/escalations/{case.public_id}").json()
    assert detail["audio_url"] is None


def test_the_clip_is_on_legal_hold_while_open_and_for_a_year_after(flagged, supervisor_on_duty, settings):
    case, clip_id, _ = flagged
    clip = Clip.objects.get(public_id=clip_id)
    assert holds.is_on_hold(clip)
    for step in ("acknowledged", "under_review", "no_action"):
        services.escalation_transition(case=case, by=supervisor_on_duty, to_state=step)
    services.escalation_transition(case=case, by=supervisor_on_duty, to_state="closed", disposition="false_positive")

    assert holds.is_on_hold(clip)
    assert holds.is_on_hold(clip, now=timezone.now() + timedelta(days=settings.LEGAL_HOLD_DAYS - 1))
    assert not holds.is_on_hold(clip, now=timezone.now() + timedelta(days=settings.LEGAL_HOLD_DAYS + 1))
    unflagged = Clip.objects.exclude(pk=clip.pk).first()
    assert not holds.is_on_hold(unflagged)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"category": "boredom", "start_ms": 0, "end_ms": 10}, "category"),
        ({"category": "other_distress", "start_ms": 500, "end_ms": 100}, "end_ms"),
        ({"category": "other_distress", "start_ms": 0, "end_ms": 999999}, "end_ms"),
    ],
)
def test_a_bad_flag_is_refused_naming_the_field_and_changes_nothing(reviewer_client, make_clips, payload, field):
    make_clips(1)
    clip_id = reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"]

    response = reviewer_client.post(f"/api/v1/clips/{clip_id}/escalations", payload, format="json")

    assert response.status_code == 400 and field in response.json()
    assert Clip.objects.get(public_id=clip_id).status == ClipStatus.LEASED


@pytest.mark.parametrize("persona", ["other_reviewer", "supervisor", "auditor"])
def test_only_the_lease_holder_can_flag_a_clip(request, persona, reviewer_client, make_clips):
    make_clips(1)
    clip_id = reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"]
    client = signed_in(request.getfixturevalue(persona))

    response = client.post(
        f"/api/v1/clips/{clip_id}/escalations",
        {"category": "other_distress", "start_ms": 0, "end_ms": 10},
        format="json",
    )

    assert response.status_code in (403, 404)
    assert Clip.objects.get(public_id=clip_id).status == ClipStatus.LEASED


def test_the_clip_page_form_flags_too_and_offers_a_break(reviewer, make_clips, supervisor_on_duty):
    make_clips(1)
    browser = signed_in(reviewer, Client)
    clip_path = browser.post("/queue/next")["Location"]
    page = browser.get(clip_path).content.decode()
    assert 'action="/clips/' in page and "Escalate to a supervisor now" in page

    response = browser.post(
        f"{clip_path}/escalate", {"category": "imminent_danger", "start_ms": "0", "end_ms": "1000"}, follow=True
    )

    assert b"A supervisor has it" in response.content
    assert b"Take a 10-minute break" in response.content
    assert EscalationEvent.objects.get().escalation.severity == 1


def test_the_reviewer_sees_received_acknowledged_closed_and_nothing_more(flagged, reviewer_client, supervisor_on_duty):
    case, _, _ = flagged
    assert [row["status"] for row in reviewer_client.get("/api/v1/my/escalations").json()] == ["received"]
    services.escalation_acknowledge(case=case, by=supervisor_on_duty)
    assert reviewer_client.get("/api/v1/my/escalations").json()[0]["status"] == "acknowledged"
    services.escalation_transition(case=case, by=supervisor_on_duty, to_state="under_review")
    services.escalation_transition(
        case=case, by=supervisor_on_duty, to_state="no_action", note="a film in the background"
    )
    services.escalation_transition(case=case, by=supervisor_on_duty, to_state="closed", disposition="false_positive")

    rows = reviewer_client.get("/api/v1/my/escalations").json()
    assert rows[0]["status"] == "closed"
    assert set(rows[0]) == {"case", "raised_at", "status"}
    assert reviewer_client.get(f"/api/v1/escalations/{case.public_id}").status_code == 403


def test_with_nobody_on_duty_the_case_goes_straight_to_the_leads(reviewer_client, make_clips, lead):
    make_clips(1)
    clip_id = reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"]
    reviewer_client.post(
        f"/api/v1/clips/{clip_id}/escalations",
        {"category": "imminent_danger", "start_ms": 0, "end_ms": 10},
        format="json",
    )

    opened = EscalationEvent.objects.get()
    assert (opened.owner, opened.tier) == (lead, 2)


def test_new_cases_spread_across_supervisors_on_duty(
    reviewer_client, other_reviewer_client, make_clips, supervisor_on_duty, second_supervisor
):
    services.duty_set(supervisor=second_supervisor, on_duty=True)
    make_clips(2)
    for client in (reviewer_client, other_reviewer_client):
        clip_id = client.post("/api/v1/queue/claim").json()["clip"]["id"]
        client.post(
            f"/api/v1/clips/{clip_id}/escalations",
            {"category": "self_harm", "start_ms": 0, "end_ms": 10},
            format="json",
        )

    owners = set(EscalationEvent.objects.values_list("owner__username", flat=True))
    assert owners == {"sana", "sven"}


def test_a_clip_withdrawn_between_the_access_check_and_the_flag_is_not_brought_back(reviewer, make_clips):
    [clip] = make_clips(1)  # recorded from account ACCT-TEST-0001 (tests.audio_files.metadata)
    lease = annotation_services.lease_claim(reviewer=reviewer)
    privacy.account_opt_out(account_id="ACCT-TEST-0001", via="test")  # lands after the view's check

    with pytest.raises(services.CaseConflict, match="withdrawn"):
        services.escalation_open(
            clip=clip, lease=lease, raised_by=reviewer, category="other_distress", start_ms=0, end_ms=100
        )

    assert Clip.objects.get(pk=clip.pk).status == ClipStatus.PURGED
    assert not Escalation.objects.exists()
