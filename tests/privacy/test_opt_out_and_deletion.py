"""Promise 4: an opt-out or a deletion request takes effect at once, even mid-lease."""

import io
import json
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from annotations import privacy
from annotations.models import (
    Clip,
    ClipStatus,
    ClipUserObjectPermission,
    Lease,
    OptOut,
    SourceIdentity,
    TranscriptRevision,
)
from escalations import services as cases
from escalations.models import Escalation, EscalationEvent, State
from reviewportal.audit.models import AccessEvent, Action
from reviewportal.integrations.models import ServiceToken
from tests.audio_files import metadata, write_audio

# Real commits: audio files are removed after the transaction commits, and that must be seen.
pytestmark = pytest.mark.django_db(transaction=True)
ACCOUNT = "ACCT-TEST-0001"


def token_client(*scopes) -> APIClient:
    _, plaintext = ServiceToken.issue(name=f"upstream-{uuid.uuid4().hex[:8]}", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


def opt_out(account=ACCOUNT):
    return token_client("opt_out").post("/api/v1/integrations/opt-outs", {"account_id": account}, format="json")


def audio_files(root):
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def three_clips(make_clips):
    """Three clips of ACCT-TEST-0001 and one of someone else."""
    mine = make_clips(3)
    [theirs] = make_clips(1, account_id="ACCT-OTHER-9", first_name="Bertil", device_serial="SER-OTHER")
    return mine, theirs


def test_an_opt_out_removes_every_unreviewed_clip_of_the_account_at_once(three_clips, audio_root):
    mine, theirs = three_clips

    response = opt_out()

    assert response.status_code == 200
    assert sorted(response.json()["done"]) == sorted(str(c.public_id) for c in mine)
    assert response.json()["held"] == []
    for clip in Clip.objects.filter(pk__in=[c.pk for c in mine]):
        assert clip.status == ClipStatus.PURGED and clip.purge_reason == "opted_out"
        assert bytes(clip.peaks) == b"" and clip.audio_name == "" and clip.asr_text == ""
        assert clip.audio_deleted_at is not None and clip.purged_at is not None
    assert not SourceIdentity.objects.filter(clip__in=mine).exists()
    assert Clip.objects.get(pk=theirs.pk).status == ClipStatus.QUEUED
    assert len(audio_files(audio_root)) == 1  # only the other account's file is left
    assert OptOut.objects.count() == 1 and ACCOUNT not in json.dumps(list(OptOut.objects.values()), default=str)


def test_a_clip_being_listened_to_is_withdrawn_mid_lease(three_clips, reviewer_client):
    body = reviewer_client.post("/api/v1/queue/claim").json()
    clip_id, audio_path = body["clip"]["id"], urlsplit(body["clip"]["audio_url"]).path
    assert reviewer_client.get(audio_path, HTTP_RANGE="bytes=0-99").status_code == 206

    opt_out()

    assert reviewer_client.get(audio_path, HTTP_RANGE="bytes=100-199").status_code == 403
    # The holder is told why (410, reason "withdrawn"), so their page can say so without its websocket.
    detail = reviewer_client.get(f"/api/v1/clips/{clip_id}")
    assert (detail.status_code, detail.json()["reason"]) == (410, "withdrawn")
    saved = reviewer_client.put(f"/api/v1/clips/{clip_id}/transcript", {"text": "x", "base_version": 0}, format="json")
    assert (saved.status_code, saved.json()["reason"]) == (410, "withdrawn")
    assert set(saved.json()) == {"detail", "reason"}  # and nothing of the clip comes back
    assert Lease.objects.get().outcome == "withdrawn"
    assert not ClipUserObjectPermission.objects.exists()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/clips/{clip}", None),
        ("put", "/api/v1/clips/{clip}/transcript", {"text": "x", "base_version": 0}),
        ("post", "/api/v1/clips/{clip}/submit", {"played": True, "transcript": {"text": "x", "base_version": 0}}),
        ("post", "/api/v1/leases/{lease}/renew", None),
        ("post", "/api/v1/leases/{lease}/release", {"reason": "other"}),
    ],
)
def test_every_door_of_a_withdrawn_lease_answers_410_withdrawn_to_its_holder(
    three_clips, reviewer_client, method, path, body
):
    claimed = reviewer_client.post("/api/v1/queue/claim").json()
    url = path.format(clip=claimed["clip"]["id"], lease=claimed["lease"]["id"])

    opt_out()
    response = getattr(reviewer_client, method)(url, body, format="json")

    assert response.status_code == 410
    assert response.json() == {"detail": response.json()["detail"], "reason": "withdrawn"}
    assert "withdrawn" in response.json()["detail"]
    denial = AccessEvent.objects.filter(action=Action.PERMISSION_DENIED).latest("id")
    assert denial.detail["withdrawn"] is True


def test_only_the_holder_of_the_withdrawn_lease_learns_it_was_withdrawn(
    three_clips, reviewer_client, other_reviewer_client, reviewer, other_reviewer
):
    """Issue 7: the reason is about one's own lease. Someone who skipped the clip earlier, or
    never had it, gets the same 404 as for a clip that never existed."""
    first = reviewer_client.post("/api/v1/queue/claim").json()
    clip_id, first_lease = first["clip"]["id"], first["lease"]["id"]
    reviewer_client.post(f"/api/v1/leases/{first_lease}/release", {"reason": "other"}, format="json")
    # The skipped clip goes to the other reviewer; the first claims another clip meanwhile.
    while (taken := other_reviewer_client.post("/api/v1/queue/claim").json())["clip"]["id"] != clip_id:
        other_reviewer_client.post(f"/api/v1/leases/{taken['lease']['id']}/release", {"reason": "other"}, format="json")

    opt_out()

    assert other_reviewer_client.get(f"/api/v1/clips/{clip_id}").status_code == 410
    for url in (f"/api/v1/clips/{clip_id}", f"/api/v1/clips/{uuid.uuid4()}"):
        answer = reviewer_client.get(url)
        assert (answer.status_code, answer.json()) == (404, {"detail": "No such clip"})
    renew = reviewer_client.post(f"/api/v1/leases/{first_lease}/renew")
    assert (renew.status_code, renew.json()) == (404, {"detail": "No such lease"})


def test_a_lease_withdrawn_after_the_access_check_is_still_answered_as_withdrawn(
    three_clips, reviewer_client, monkeypatch
):
    """The opt-out lands between the view's access check and the service's lock on the lease."""
    from annotations import services

    clip_id = reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"]
    real_save = services.transcript_save

    def opted_out_meanwhile(**kwargs):
        opt_out()
        return real_save(**kwargs)

    monkeypatch.setattr(services, "transcript_save", opted_out_meanwhile)
    saved = reviewer_client.put(f"/api/v1/clips/{clip_id}/transcript", {"text": "x", "base_version": 0}, format="json")

    assert (saved.status_code, saved.json()["reason"]) == (410, "withdrawn")
    assert not TranscriptRevision.objects.exists()


def test_a_reload_of_a_withdrawn_clip_page_says_it_was_withdrawn(three_clips, reviewer):
    from django.test import Client

    from tests.conftest import signed_in

    client = signed_in(reviewer, Client)
    clip_id = client.post("/api/v1/queue/claim").json()["clip"]["id"]
    opt_out()

    page = client.get(f"/clips/{clip_id}", follow=True)

    assert page.status_code == 200 and "This clip was withdrawn" in page.content.decode()
    assert "set a timer" not in page.content.decode()


def test_a_deletion_request_withdraws_a_clip_mid_lease(three_clips, reviewer_client, reviewer):
    """Issue 7: not only an opt-out; a deletion request takes the clip away from its listener too."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from annotations.consumers import reviewer_events_group

    body = reviewer_client.post("/api/v1/queue/claim").json()
    clip_id, audio_path = body["clip"]["id"], urlsplit(body["clip"]["audio_url"]).path
    assert reviewer_client.get(audio_path, HTTP_RANGE="bytes=0-99").status_code == 206
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(reviewer_events_group(reviewer.pk), channel)

    deletion = token_client("opt_out").post("/api/v1/integrations/deletions", {"account_id": ACCOUNT}, format="json")

    assert clip_id in deletion.json()["done"]
    assert reviewer_client.get(audio_path, HTTP_RANGE="bytes=100-199").status_code == 403
    assert reviewer_client.get(f"/api/v1/clips/{clip_id}").json()["reason"] == "withdrawn"
    lease = Lease.objects.get()
    assert (lease.outcome, lease.ended_at is not None) == ("withdrawn", True)
    assert not ClipUserObjectPermission.objects.exists()
    message = async_to_sync(layer.receive)(channel)
    assert message["event"] == {"type": "lease.withdrawn", "clip": clip_id, "reason": "deleted"}
    assert Clip.objects.get(public_id=clip_id).purge_reason == "deletion_request"


def test_the_reviewers_open_page_is_told_the_clip_was_withdrawn(three_clips, reviewer_client):
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from annotations.consumers import reviewer_events_group

    reviewer_client.post("/api/v1/queue/claim")
    reviewer_id = Lease.objects.get().reviewer_id
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(reviewer_events_group(reviewer_id), channel)

    opt_out()

    message = async_to_sync(layer.receive)(channel)
    assert message["event"]["type"] == "lease.withdrawn" and message["event"]["reason"] == "opted_out"


def test_later_ingests_for_the_account_are_dropped_as_opted_out(three_clips, tmp_path):
    opt_out()
    write_audio(tmp_path / "late.wav")
    client = token_client("ingest")
    with (tmp_path / "late.wav").open("rb") as audio:
        response = client.post(
            "/api/v1/ingest/clips", {"audio": audio, "metadata": json.dumps(metadata("late-one"))}, format="multipart"
        )
    assert response.json() == {"outcome": "opted_out", "id": None}


def test_reviewed_clips_stay_after_an_opt_out_until_retention(three_clips, reviewer_client):
    clip_id = reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"]
    reviewer_client.put(f"/api/v1/clips/{clip_id}/transcript", {"text": "done", "base_version": 0}, format="json")
    reviewer_client.post(f"/api/v1/clips/{clip_id}/submit", {"played": True}, format="json")

    report = opt_out().json()

    assert clip_id not in report["done"] and report["untouched"] == 1
    reviewed = Clip.objects.get(public_id=clip_id)
    assert reviewed.status == ClipStatus.SUBMITTED
    # docs/privacy.md: its identity stays too, so a later deletion request can still find it.
    assert SourceIdentity.objects.filter(clip=reviewed).exists()
    deletion = token_client("opt_out").post("/api/v1/integrations/deletions", {"account_id": ACCOUNT}, format="json")
    assert deletion.json()["done"] == [clip_id]
    assert not SourceIdentity.objects.filter(clip=reviewed).exists()


def test_clips_on_legal_hold_are_kept_and_listed(three_clips, reviewer_client, supervisor):
    clip_id = reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"]
    flag = {"category": "child_safety", "start_ms": 0, "end_ms": 500}
    reviewer_client.post(f"/api/v1/clips/{clip_id}/escalations", flag, format="json")  # the open case holds it

    report = opt_out().json()
    deletion = (
        token_client("opt_out").post("/api/v1/integrations/deletions", {"account_id": ACCOUNT}, format="json").json()
    )

    assert report["held"] == [clip_id] and deletion["held"] == [clip_id]
    held = Clip.objects.get(public_id=clip_id)
    assert held.audio_name and bytes(held.peaks) and SourceIdentity.objects.filter(clip=held).exists()


def test_a_deletion_request_removes_audio_transcripts_and_identity_and_leaves_tombstones(
    three_clips, reviewer_client, audio_root
):
    mine, theirs = three_clips
    clip_id = reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"]
    reviewer_client.put(
        f"/api/v1/clips/{clip_id}/transcript", {"text": "my address is", "base_version": 0}, format="json"
    )
    reviewer_client.post(f"/api/v1/clips/{clip_id}/submit", {"played": True}, format="json")

    response = token_client("opt_out").post("/api/v1/integrations/deletions", {"account_id": ACCOUNT}, format="json")

    assert response.status_code == 200 and len(response.json()["done"]) == 3
    assert not TranscriptRevision.objects.filter(clip__in=mine).exists()
    assert not SourceIdentity.objects.filter(clip__in=mine).exists()
    tombstone = Clip.objects.get(public_id=clip_id)
    assert (tombstone.status, tombstone.purge_reason, tombstone.final_revision) == ("purged", "deletion_request", None)
    assert tombstone.purged_at is not None and tombstone.public_id
    assert Clip.objects.get(pk=theirs.pk).status == ClipStatus.QUEUED
    assert len(audio_files(audio_root)) == 1
    assert OptOut.objects.exists()
    everything = json.dumps(list(AccessEvent.objects.values()), default=str)
    assert ACCOUNT not in everything and "my address" not in everything


def test_the_commands_report_what_was_removed_and_what_was_held(three_clips):
    out = io.StringIO()
    call_command("delete_account", ACCOUNT, stdout=out)
    assert "removed 3, held 0" in out.getvalue() and ACCOUNT not in out.getvalue()
    assert AccessEvent.objects.filter(
        action=Action.DELETION_REQUESTED, actor_label__startswith="manage.py delete_account by "
    ).exists()
    out = io.StringIO()
    call_command("record_opt_out", ACCOUNT, stdout=out)
    assert "withdrawn 0, held 0" in out.getvalue()  # nothing of theirs is left to withdraw


@pytest.mark.parametrize(
    ("path", "scopes", "status"),
    [
        ("/api/v1/integrations/opt-outs", ("ingest",), 403),
        ("/api/v1/integrations/deletions", ("export",), 403),
        ("/api/v1/integrations/opt-outs", (), 401),
    ],
)
def test_only_a_token_with_the_opt_out_scope_may(three_clips, path, scopes, status):
    client = token_client(*scopes) if scopes else APIClient()
    response = client.post(path, {"account_id": ACCOUNT}, format="json")
    assert response.status_code == status
    assert not OptOut.objects.exists()


def test_a_person_cannot_use_the_integration_doors(three_clips, reviewer_client, supervisor):
    from tests.conftest import signed_in

    for client in (reviewer_client, signed_in(supervisor)):
        assert client.post("/api/v1/integrations/opt-outs", {"account_id": ACCOUNT}, format="json").status_code == 401
    assert not OptOut.objects.exists()


def test_an_opt_out_without_an_account_is_refused_naming_the_field():
    response = opt_out(account="")
    assert response.status_code == 400 and "account_id" in response.json()


def test_an_opt_out_that_fails_part_way_leaves_each_clip_done_or_untouched(three_clips, monkeypatch):
    calls = {"n": 0}
    real = privacy._tombstone

    def fail_on_second(clip, now, reason):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("database went away")
        real(clip, now, reason)

    monkeypatch.setattr(privacy, "_tombstone", fail_on_second)
    with pytest.raises(RuntimeError):
        privacy.account_opt_out(account_id=ACCOUNT, via="test")

    statuses = sorted(Clip.objects.filter(pk__in=[c.pk for c in three_clips[0]]).values_list("status", flat=True))
    assert statuses == ["purged", "queued", "queued"]
    assert all(bytes(c.peaks) for c in Clip.objects.filter(status="queued"))


def test_an_opt_out_arriving_between_two_range_requests_stops_the_second(three_clips, reviewer_client):
    body = reviewer_client.post("/api/v1/queue/claim").json()
    audio_path = urlsplit(body["clip"]["audio_url"]).path
    first = reviewer_client.get(audio_path, HTTP_RANGE="bytes=0-9")
    opt_out()
    second = reviewer_client.get(audio_path, HTTP_RANGE="bytes=10-19")
    assert (first.status_code, second.status_code) == (206, 403)


def test_a_stale_lease_is_no_loophole(three_clips, reviewer_client):
    reviewer_client.post("/api/v1/queue/claim")
    Lease.objects.update(expires_at=timezone.now() + timedelta(hours=1))
    opt_out()
    assert Lease.objects.get().ended_at is not None


# --- The commands, on an account with a clip in every state -----------------------------------


@pytest.fixture
def every_state(make_clips, reviewer_client, supervisor, settings):
    """Six clips of ACCT-TEST-0001: already purged (so no longer findable), submitted, escalated
    on hold, escalated with the hold over, leased, queued."""
    gone, submitted, held, hold_over, leased, queued = make_clips(6)
    Clip.objects.filter(pk=gone.pk).update(received_at=timezone.now() - timedelta(days=100))
    assert privacy.purge_expired().unreviewed_expired == 1

    def claim(expected):
        body = reviewer_client.post("/api/v1/queue/claim").json()
        assert body["clip"]["id"] == str(expected.public_id)
        return body["clip"]["id"]

    clip_id = claim(submitted)
    reviewer_client.put(f"/api/v1/clips/{clip_id}/transcript", {"text": "done", "base_version": 0}, format="json")
    reviewer_client.post(f"/api/v1/clips/{clip_id}/submit", {"played": True}, format="json")
    for escalated in (held, hold_over):
        flag = {"category": "self_harm", "start_ms": 0, "end_ms": 100}
        reviewer_client.post(f"/api/v1/clips/{claim(escalated)}/escalations", flag, format="json")
    case = Escalation.objects.get(clip=hold_over)
    cases.escalation_acknowledge(case=case, by=supervisor)
    cases.escalation_transition(case=case, by=supervisor, to_state=State.UNDER_REVIEW)
    cases.escalation_transition(case=case, by=supervisor, to_state=State.NO_ACTION)
    cases.escalation_transition(case=case, by=supervisor, to_state=State.CLOSED, disposition="false_positive")
    EscalationEvent.objects.filter(escalation=case, to_state=State.CLOSED).update(
        at=timezone.now() - timedelta(days=settings.LEGAL_HOLD_DAYS + 1)
    )
    claim(leased)
    statuses = dict(Clip.objects.values_list("pk", "status"))
    assert [statuses[c.pk] for c in (gone, submitted, held, hold_over, leased, queued)] == [
        "purged",
        "submitted",
        "escalated",
        "escalated",
        "leased",
        "queued",
    ]
    return {
        "gone": gone,
        "submitted": submitted,
        "held": held,
        "hold_over": hold_over,
        "leased": leased,
        "queued": queued,
    }


def status_of(clip) -> str:
    return Clip.objects.values_list("status", flat=True).get(pk=clip.pk)


def test_record_opt_out_on_an_account_with_a_clip_in_every_state(every_state):
    out = io.StringIO()
    call_command("record_opt_out", ACCOUNT, stdout=out)
    printed = out.getvalue()

    assert printed.splitlines()[0] == "withdrawn 3, held 1, untouched 1"
    for name in ("hold_over", "leased", "queued"):
        assert f"  withdrawn {every_state[name].public_id}" in printed
        assert status_of(every_state[name]) == ClipStatus.PURGED
    assert f"  held (legal hold) {every_state['held'].public_id}" in printed
    assert status_of(every_state["held"]) == ClipStatus.ESCALATED
    assert status_of(every_state["submitted"]) == ClipStatus.SUBMITTED  # reviewed: stays until retention
    assert str(every_state["submitted"].public_id) not in printed
    assert Lease.objects.get(clip=every_state["leased"]).outcome == "withdrawn"
    assert ACCOUNT not in printed
    assert AccessEvent.objects.filter(
        action=Action.OPT_OUT_RECORDED, actor_label__startswith="manage.py record_opt_out by "
    ).exists()


def test_delete_account_on_an_account_with_a_clip_in_every_state(every_state):
    out = io.StringIO()
    call_command("delete_account", ACCOUNT, stdout=out)
    printed = out.getvalue()

    assert printed.splitlines()[0] == "removed 4, held 1"
    for name in ("submitted", "hold_over", "leased", "queued"):
        assert f"  removed {every_state[name].public_id}" in printed
        clip = Clip.objects.get(pk=every_state[name].pk)
        assert (clip.status, clip.purge_reason) == (ClipStatus.PURGED, "deletion_request")
    assert f"  held (legal hold) {every_state['held'].public_id}" in printed
    assert SourceIdentity.objects.filter(clip=every_state["held"]).exists()
    assert SourceIdentity.objects.count() == 1  # the held clip's, and nothing else of the account
    gone = Clip.objects.get(pk=every_state["gone"].pk)
    assert gone.purge_reason == "unreviewed" and str(gone.public_id) not in printed  # left as it was
    assert ACCOUNT not in printed
