"""Promise 6: every access leaves an event, from every door, with the right fields and nothing secret."""

import getpass
import io
import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from annotations.models import Lease
from reviewportal.audit.models import AccessEvent, Action
from tests.audio_files import metadata, write_audio
from tests.conftest import PASSWORD, enrol_totp, signed_in
from tests.totp import totp

pytestmark = pytest.mark.django_db


def events(action: str):
    return list(AccessEvent.objects.filter(action=action).order_by("sequence"))


def one(action: str) -> AccessEvent:
    found = events(action)
    assert len(found) == 1, f"{action}: {len(found)} events"
    return found[0]


@pytest.fixture
def working(reviewer_client, make_clips):
    """A reviewer holding a clip, through the API: (client, clip id, lease id, audio path)."""
    make_clips(1)
    body = reviewer_client.post("/api/v1/queue/claim", HTTP_USER_AGENT="pytest-browser/1.0").json()
    return reviewer_client, body["clip"]["id"], body["lease"]["id"], urlsplit(body["clip"]["audio_url"]).path


def test_ingest_records_clip_ingested_naming_the_command(make_clips):
    [clip] = make_clips(1)
    event = one(Action.CLIP_INGESTED)
    assert (event.object_type, event.object_id) == ("clip", str(clip.public_id))
    assert event.actor_user_id is None and event.actor_label == f"manage.py ingest_clips by {getpass.getuser()}"
    assert event.detail == {"format": "WAV", "duration_ms": 2000, "pool": "locale-en-us", "possible_distress": False}


def test_ingest_through_the_api_names_the_service_token(tmp_path):
    from rest_framework.test import APIClient

    from reviewportal.integrations.models import ServiceToken

    token, plaintext = ServiceToken.issue(name="asr-eu", scopes=["ingest"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    with write_audio(tmp_path / "a.wav").open("rb") as audio:
        client.post("/api/v1/ingest/clips", {"audio": audio, "metadata": json.dumps(metadata())}, format="multipart")

    event = one(Action.CLIP_INGESTED)
    assert event.actor_token_id == token.pk and event.actor_label == "asr-eu"


def test_the_review_loop_records_each_step_with_who_and_from_where(working, reviewer):
    client, clip_id, lease_id, audio_path = working
    client.get(f"/api/v1/clips/{clip_id}")
    client.get(audio_path, HTTP_RANGE="bytes=0-99")
    client.put(f"/api/v1/clips/{clip_id}/transcript", {"text": "secret words", "base_version": 0}, format="json")
    client.post(f"/api/v1/clips/{clip_id}/submit", {"played": True}, format="json")

    claimed = one(Action.CLIP_CLAIMED)
    assert claimed.actor_user_id == reviewer.pk and claimed.actor_label == "rita"
    assert (claimed.object_type, claimed.object_id, claimed.outcome) == ("clip", clip_id, "allowed")
    assert claimed.detail == {"lease": lease_id.replace("-", "")}
    assert claimed.ip == "127.0.0.1" and claimed.user_agent == "pytest-browser/1.0"
    assert len(claimed.session_hash) == 32 and claimed.session_hash != client.session.session_key
    assert len(claimed.request_id) == 32
    assert one(Action.CLIP_VIEWED).object_id == clip_id
    assert len(events(Action.AUDIO_TOKEN_ISSUED)) == 2  # one with the claim, one with the view
    assert one(Action.TRANSCRIPT_SAVED).detail == {"version": 1, "segments": 0, "tags": 0}
    assert one(Action.CLIP_SUBMITTED).detail["version"] == 1


def test_audio_streamed_is_recorded_once_per_link_not_per_range(working):
    client, _, _, audio_path = working
    for start in (0, 100, 200, 300):
        assert client.get(audio_path, HTTP_RANGE=f"bytes={start}-{start + 99}").status_code == 206

    streamed = one(Action.AUDIO_STREAMED)
    issued = events(Action.AUDIO_TOKEN_ISSUED)[0]
    assert streamed.detail["link"] == issued.detail["link"]


def test_release_renew_and_expiry_are_recorded(working, reviewer):
    client, clip_id, lease_id, _ = working
    client.post(f"/api/v1/leases/{lease_id}/renew")
    client.post(f"/api/v1/leases/{lease_id}/release", {"reason": "no_speech"}, format="json")

    assert one(Action.LEASE_RENEWED).object_id == clip_id
    assert one(Action.LEASE_RELEASED).detail == {"lease": lease_id.replace("-", ""), "reason": "no_speech"}


def test_an_expiry_swept_by_someone_elses_claim_is_recorded_as_the_systems(working, other_reviewer_client, reviewer):
    _, clip_id, _, _ = working
    Lease.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    other_reviewer_client.post("/api/v1/queue/claim")

    expired = one(Action.LEASE_EXPIRED)
    assert expired.actor_user_id is None and expired.actor_label == "system"
    assert expired.detail["reviewer"] == reviewer.pk and expired.object_id == clip_id


def test_denials_are_recorded_on_every_door(working, other_reviewer_client, client):
    _, clip_id, lease_id, audio_path = working
    other_reviewer_client.get(f"/api/v1/clips/{clip_id}")
    other_reviewer_client.get(audio_path)
    other_reviewer_client.post(f"/api/v1/leases/{lease_id}/release", {"reason": "other"}, format="json")
    client.get("/")

    denied = AccessEvent.objects.filter(outcome="denied")
    kinds = [(e.object_type, e.detail.get("perm") or e.detail.get("reason")) for e in denied]
    # The API detail and the audio link (someone else's, for a clip not theirs: 404 like any door).
    assert kinds.count(("clip", "view_clip")) == 2
    assert ("lease", "hold") in kinds
    assert ("path", "not signed in") in kinds


def test_the_wrong_role_is_recorded(auditor, make_clips):
    make_clips(1)
    signed_in(auditor).post("/api/v1/queue/claim")
    denial = AccessEvent.objects.get(action=Action.PERMISSION_DENIED)
    assert denial.actor_label == "aldo" and denial.object_id == "/api/v1/queue/claim"


def test_sign_in_steps_are_recorded(reviewer):
    secret = totp_secret_for(reviewer)
    client = Client()
    client.post("/login/", {"username": "rita", "password": "wrong"})
    client.post("/login/", {"username": "rita", "password": PASSWORD})
    client.post("/login/verify", {"code": "000000"})
    # django-otp pauses after a wrong code; step past the pause instead of sleeping
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.filter(user=reviewer).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    client.post("/login/verify", {"code": totp(secret)})
    client.post("/logout/")

    assert one(Action.LOGIN_FAILED).actor_label == "rita"
    assert one(Action.LOGIN).actor_user_id == reviewer.pk
    assert one(Action.OTP_FAILED).detail == {"failures": 1}
    assert one(Action.OTP_VERIFIED).detail == {"factor": "totp"}
    assert one(Action.LOGOUT).actor_user_id == reviewer.pk


def totp_secret_for(user) -> str:
    from reviewportal.accounts.mfa import totp_secret

    return totp_secret(enrol_totp(user))


def test_lockouts_and_resets_are_recorded(reviewer, supervisor):
    for _ in range(6):
        Client().post("/login/", {"username": "rita", "password": "wrong"}, REMOTE_ADDR="203.0.113.9")
    lockout = events(Action.LOCKOUT)[-1]
    assert lockout.detail == {"factor": "password"} and lockout.actor_label == "rita"

    enrol_totp(reviewer)
    signed_in(supervisor).post(f"/api/v1/people/{reviewer.pk}/second-factor/reset")
    reset = one(Action.DEVICE_RESET)
    assert reset.actor_user_id == supervisor.pk and reset.object_id == str(reviewer.pk)


def test_volume_limits_are_recorded_as_rate_limited(working, settings):
    client, clip_id, _, _ = working
    settings.VOLUME_LIMITS = {**settings.VOLUME_LIMITS, "audio_link": (1, 60)}
    client.get(f"/api/v1/clips/{clip_id}")
    assert one(Action.RATE_LIMITED).detail == {"kind": "audio_link", "limit": 1}


def test_service_token_commands_are_recorded():
    call_command("create_service_token", "exporter", "--scope", "export", stdout=io.StringIO(), stderr=io.StringIO())
    call_command("revoke_service_token", "exporter", stdout=io.StringIO())
    assert one(Action.SERVICE_TOKEN_ISSUED).detail == {"scopes": "export"}
    assert one(Action.SERVICE_TOKEN_REVOKED).actor_label == "exporter"


def test_no_event_holds_transcript_text_audio_or_who_was_recorded(working, tmp_path):
    client, clip_id, _, audio_path = working
    client.put(
        f"/api/v1/clips/{clip_id}/transcript",
        {"text": "my neighbour is called Ingeborg", "base_version": 0},
        format="json",
    )
    audio = client.get(audio_path).content

    everything = json.dumps(list(AccessEvent.objects.values()), default=str)
    for secret in ("Ingeborg", "neighbour", "ACCT-TEST-0001", "Wilhelmina", "SER-TEST-7777", "src-"):
        assert secret not in everything
    assert audio[100:140].hex() not in everything


def test_an_action_and_its_event_commit_together(working, monkeypatch):
    """If the event cannot be written, the action does not happen either."""
    from reviewportal.audit import trail

    client, clip_id, _, _ = working

    def broken_seal(row):
        raise RuntimeError("HMAC key unavailable")

    monkeypatch.setattr(trail, "_hmac", broken_seal)
    client.raise_request_exception = False
    response = client.put(f"/api/v1/clips/{clip_id}/transcript", {"text": "x", "base_version": 0}, format="json")

    from annotations.models import TranscriptRevision

    assert response.status_code == 500
    assert not TranscriptRevision.objects.exists()
