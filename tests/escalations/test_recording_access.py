"""Issue 3 on the case doors: the recording and its machine transcript go through the one clip
access helper, and the escalation team's grant lives exactly as long as an open case needs it."""

from urllib.parse import urlsplit

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from annotations.models import Clip, ClipGroupObjectPermission, ClipStatus
from annotations.privacy import _tombstone
from escalations import services
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db


def _close(case, by):
    for step in ("acknowledged", "under_review", "no_action"):
        services.escalation_transition(case=case, by=by, to_state=step)
    services.escalation_transition(case=case, by=by, to_state="closed", disposition="false_positive")


@pytest.fixture
def outside_the_team(second_supervisor):
    """A supervisor who handles cases (may list and open them) but is not in escalation_team."""
    second_supervisor.groups.remove(*second_supervisor.groups.filter(name="escalation_team"))
    return second_supervisor


def test_a_case_handler_outside_the_team_gets_no_machine_transcript_from_the_api(flagged, outside_the_team):
    case, _, _ = flagged
    client = signed_in(outside_the_team)
    assert client.get("/api/v1/escalations").status_code == 200  # they may list cases

    detail = client.get(f"/api/v1/escalations/{case.public_id}").json()

    assert detail["asr_text"] is None
    assert detail["audio_url"] is None
    assert case.clip.asr_text not in str(detail)


def test_a_case_handler_outside_the_team_gets_no_machine_transcript_on_the_case_page(flagged, outside_the_team):
    case, _, _ = flagged
    html = signed_in(outside_the_team, Client).get(f"/supervise/escalations/{case.public_id}").content.decode()

    assert case.clip.asr_text not in html
    assert "<audio" not in html
    assert "for the escalation team only" in html


def test_the_escalation_team_reads_the_machine_transcript_on_both_doors(flagged, supervisor_on_duty):
    case, _, _ = flagged
    detail = signed_in(supervisor_on_duty).get(f"/api/v1/escalations/{case.public_id}").json()
    assert detail["asr_text"] == case.clip.asr_text
    page = signed_in(supervisor_on_duty, Client).get(f"/supervise/escalations/{case.public_id}")
    assert case.clip.asr_text in page.content.decode()


def test_closing_the_case_takes_the_teams_grant_and_with_it_the_audio(flagged, supervisor_on_duty, supervisor_client):
    case, clip_id, _ = flagged
    audio_path = urlsplit(supervisor_client.get(f"/api/v1/escalations/{case.public_id}").json()["audio_url"]).path
    assert supervisor_client.get(audio_path, HTTP_RANGE="bytes=0-9").status_code == 206

    _close(case, supervisor_on_duty)

    assert not ClipGroupObjectPermission.objects.filter(content_object__public_id=clip_id).exists()
    assert supervisor_client.get(audio_path, HTTP_RANGE="bytes=0-9").status_code == 403  # their own link, dead
    detail = supervisor_client.get(f"/api/v1/escalations/{case.public_id}").json()
    assert (detail["audio_url"], detail["asr_text"]) == (None, None)
    assert supervisor_client.get(f"/api/v1/clips/{clip_id}").status_code == 404


def test_the_grant_stays_while_the_case_is_open_in_any_state(flagged, supervisor_on_duty):
    case, clip_id, _ = flagged
    for step in ("acknowledged", "under_review", "no_action"):
        services.escalation_transition(case=case, by=supervisor_on_duty, to_state=step)
        assert ClipGroupObjectPermission.objects.filter(content_object__public_id=clip_id).exists(), step


def test_a_purged_clip_keeps_no_grant_of_any_kind(flagged):
    _, clip_id, _ = flagged
    clip = Clip.objects.get(public_id=clip_id)
    with transaction.atomic():
        _tombstone(clip, timezone.now(), "deletion_request")

    assert Clip.objects.get(pk=clip.pk).status == ClipStatus.PURGED
    assert not ClipGroupObjectPermission.objects.filter(content_object=clip).exists()
