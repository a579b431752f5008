"""Issue 5: submit needs the whole clip played once; the editor's last words and the submit are one request."""

import pytest

from annotations.models import Clip, ClipStatus, TranscriptRevision
from reviewportal.audit.models import AccessEvent, Action

pytestmark = pytest.mark.django_db


@pytest.fixture
def leased(reviewer_client, make_clips):
    make_clips(1)
    return reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"]


def submit(client, clip_id, **body):
    return client.post(f"/api/v1/clips/{clip_id}/submit", body, format="json")


def test_submit_is_refused_until_the_editor_reports_the_whole_clip_played(reviewer_client, leased):
    reviewer_client.put(f"/api/v1/clips/{leased}/transcript", {"text": "x", "base_version": 0}, format="json")

    response = submit(reviewer_client, leased)

    assert response.status_code == 400
    assert "play the whole clip" in response.json()["played"][0]
    assert Clip.objects.get().status == ClipStatus.LEASED
    assert submit(reviewer_client, leased, played=True).status_code == 200


def test_a_setting_turns_the_playback_rule_off(reviewer_client, leased, settings):
    settings.REQUIRE_FULL_PLAYBACK = False
    reviewer_client.put(f"/api/v1/clips/{leased}/transcript", {"text": "x", "base_version": 0}, format="json")
    assert submit(reviewer_client, leased).status_code == 200


def test_the_last_edit_is_saved_and_submitted_in_one_request(reviewer_client, leased):
    transcript = {
        "text": "set a timer",
        "segments": [{"start_ms": 0, "end_ms": 900, "text": "set a timer", "tags": []}],
        "tags": ["not_addressed"],
        "base_version": 0,
    }

    response = submit(reviewer_client, leased, played=True, transcript=transcript)

    assert response.status_code == 200 and response.json()["version"] == 1
    clip = Clip.objects.get()
    assert clip.status == ClipStatus.SUBMITTED and clip.final_revision.tags == ["not_addressed"]
    event = AccessEvent.objects.get(action=Action.CLIP_SUBMITTED)
    assert event.detail["played"] is True and event.detail["false_wake"] is True


def test_a_stale_last_edit_is_refused_with_409_and_nothing_is_submitted(reviewer_client, leased):
    reviewer_client.put(f"/api/v1/clips/{leased}/transcript", {"text": "other tab", "base_version": 0}, format="json")

    response = submit(reviewer_client, leased, played=True, transcript={"text": "mine", "base_version": 0})

    assert response.status_code == 409 and response.json()["current"]["text"] == "other tab"
    assert Clip.objects.get().status == ClipStatus.LEASED
    assert TranscriptRevision.objects.count() == 1


def test_bad_segments_in_the_last_edit_get_400(reviewer_client, leased):
    transcript = {"text": "x", "segments": [{"start_ms": 0, "end_ms": 99999, "text": "x"}], "base_version": 0}
    response = submit(reviewer_client, leased, played=True, transcript=transcript)
    assert response.status_code == 400
    assert Clip.objects.get().status == ClipStatus.LEASED


def test_the_no_script_form_asks_the_reviewer_to_confirm_playback(reviewer, make_clips):
    from django.test import Client

    from tests.conftest import signed_in

    [clip] = make_clips(1)
    browser = signed_in(reviewer, Client)
    browser.post("/queue/next")

    refused = browser.post(
        f"/clips/{clip.public_id}/transcript", {"text": "x", "base_version": 0, "action": "submit"}, follow=True
    )

    assert b"play the whole clip once" in refused.content
    assert Clip.objects.get().status == ClipStatus.LEASED
