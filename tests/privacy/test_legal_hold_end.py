"""Issue 7: a legal hold protects an escalated clip while it lasts, and only while it lasts.

Once every case on the clip closed more than LEGAL_HOLD_DAYS ago, retention, an opt-out and a
deletion request remove it like any other clip: audio, peaks, ASR text, drafts, identity, the
team's view grant and the free text of its cases. And a case opened while a deletion request is
half-way through still holds the clip, because the hold is asked again under the clip's row lock.
"""

import io
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from annotations import privacy
from annotations.models import Clip, ClipGroupObjectPermission, ClipStatus, SourceIdentity, TranscriptRevision
from escalations import services as cases
from escalations.models import Escalation, EscalationEvent, IdentityRequest, State
from reviewportal.audit.models import AccessEvent, Action
from reviewportal.integrations.models import ServiceToken
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db(transaction=True)
ACCOUNT = "ACCT-TEST-0001"
NOTE = "she said her name is Wilhelmina and she lives on Elm Street"
JUSTIFICATION = "Emergency services need the address of Wilhelmina now"


def files(root):
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def escalated(make_clips, reviewer_client, supervisor, django_user_model):
    """A clip the reviewer drafted, then flagged with a note; a supervisor asked who was recorded."""
    make_clips(1)
    clip_id = reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"]
    reviewer_client.put(f"/api/v1/clips/{clip_id}/transcript", {"text": "a draft", "base_version": 0}, format="json")
    flag = {"category": "violence_or_abuse", "start_ms": 0, "end_ms": 500, "note": NOTE}
    assert reviewer_client.post(f"/api/v1/clips/{clip_id}/escalations", flag, format="json").status_code == 201
    case = Escalation.objects.get()
    cases.escalation_comment(case=case, by=supervisor, note=NOTE)
    cases.identity_request(case=case, by=supervisor, justification=JUSTIFICATION)
    return Clip.objects.get(public_id=clip_id), case


def close(case, supervisor, *, days_ago: float) -> None:
    """Take the case to closed, and put its closing `days_ago` days in the past."""
    cases.escalation_acknowledge(case=case, by=supervisor)
    cases.escalation_transition(case=case, by=supervisor, to_state=State.UNDER_REVIEW)
    cases.escalation_transition(case=case, by=supervisor, to_state=State.NO_ACTION, note=NOTE)
    cases.escalation_transition(case=case, by=supervisor, to_state=State.CLOSED, disposition="no_action_needed")
    closed_at = timezone.now() - timedelta(days=days_ago)
    EscalationEvent.objects.filter(escalation=case, to_state=State.CLOSED).update(at=closed_at)


def assert_kept_whole(clip) -> None:
    clip.refresh_from_db()
    assert clip.status == ClipStatus.ESCALATED
    assert clip.audio_name and bytes(clip.peaks) and clip.asr_text
    assert SourceIdentity.objects.filter(clip=clip).exists()
    assert TranscriptRevision.objects.filter(clip=clip).exists()
    assert Escalation.objects.get(clip=clip).note == NOTE


def assert_purged(clip, reason: str, audio_root) -> None:
    clip.refresh_from_db()
    assert (clip.status, clip.purge_reason) == (ClipStatus.PURGED, reason)
    assert clip.audio_deleted_at is not None and clip.purged_at is not None
    assert bytes(clip.peaks) == b"" and clip.asr_text == "" and clip.audio_name == ""
    assert files(audio_root) == []
    assert not SourceIdentity.objects.filter(clip=clip).exists()
    assert not TranscriptRevision.objects.filter(clip=clip).exists()
    assert not ClipGroupObjectPermission.objects.filter(content_object=clip).exists()
    # The case's free text goes; its structure (states, owners, times, disposition) stays.
    case = Escalation.objects.with_current().get(clip=clip)
    assert case.note == "" and case.current_state == State.CLOSED
    assert case.current_disposition == "no_action_needed"
    assert not EscalationEvent.objects.filter(escalation=case).exclude(note="").exists()
    assert EscalationEvent.objects.filter(escalation=case).count() == 6
    assert IdentityRequest.objects.get(escalation=case).justification == ""


# --- Retention --------------------------------------------------------------------------------


def test_retention_keeps_an_escalated_clip_while_its_case_is_open(escalated, settings):
    clip, _case = escalated
    far_future = timezone.now() + timedelta(days=settings.LEGAL_HOLD_DAYS * 10)

    counts = privacy.purge_expired(now=far_future)

    assert counts.hold_ended == 0 and counts.held == 1
    assert_kept_whole(clip)


def test_retention_keeps_an_escalated_clip_until_the_hold_after_closing_is_over(escalated, supervisor, settings):
    clip, case = escalated
    close(case, supervisor, days_ago=0)

    counts = privacy.purge_expired(now=timezone.now() + timedelta(days=settings.LEGAL_HOLD_DAYS - 1))

    assert counts.hold_ended == 0 and counts.held == 1
    assert_kept_whole(clip)


def test_retention_purges_an_escalated_clip_once_its_hold_is_over(escalated, supervisor, settings, audio_root):
    clip, case = escalated
    close(case, supervisor, days_ago=0)

    counts = privacy.purge_expired(now=timezone.now() + timedelta(days=settings.LEGAL_HOLD_DAYS + 1))

    assert counts.hold_ended == 1 and counts.held == 0
    assert_purged(clip, "retention", audio_root)
    purged = AccessEvent.objects.get(action=Action.CLIP_PURGED, object_id=str(clip.public_id))
    assert purged.detail == {"reason": "hold_ended"}
    assert privacy.purge_expired(now=timezone.now() + timedelta(days=settings.LEGAL_HOLD_DAYS + 2)).hold_ended == 0


def test_the_case_stays_readable_and_break_glass_says_the_identity_is_gone(
    escalated, supervisor, django_user_model, settings
):
    _clip, case = escalated
    close(case, supervisor, days_ago=settings.LEGAL_HOLD_DAYS + 1)
    privacy.purge_expired()
    second = django_user_model.objects.create_user("sven")
    second.groups.add(Group.objects.get(name="supervisors"))
    request = IdentityRequest.objects.get()
    cases.identity_approve(request=request, by=second)

    client = signed_in(supervisor)
    page = client.get(f"/supervise/escalations/{case.public_id}")
    reveal = client.get(f"/api/v1/identity-requests/{request.public_id}/identity")

    assert page.status_code == 200 and "<audio" not in page.content.decode()
    assert reveal.status_code == 409 and "no longer stored" in reveal.json()["detail"]


# --- Opt-outs and deletion requests -----------------------------------------------------------


def opt_out_door(door: str):
    _, plaintext = ServiceToken.issue(name=f"upstream-{uuid.uuid4().hex[:8]}", scopes=["opt_out"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client.post(f"/api/v1/integrations/{door}", {"account_id": ACCOUNT}, format="json").json()


@pytest.mark.parametrize(("door", "reason"), [("opt-outs", "opted_out"), ("deletions", "deletion_request")])
def test_an_opt_out_or_deletion_keeps_an_escalated_clip_while_the_hold_lasts(escalated, supervisor, door, reason):
    clip, case = escalated
    close(case, supervisor, days_ago=10)

    report = opt_out_door(door)

    assert report["held"] == [str(clip.public_id)] and report["done"] == []
    assert_kept_whole(clip)


@pytest.mark.parametrize(("door", "reason"), [("opt-outs", "opted_out"), ("deletions", "deletion_request")])
def test_an_opt_out_or_deletion_removes_an_escalated_clip_once_the_hold_is_over(
    escalated, supervisor, settings, audio_root, door, reason
):
    clip, case = escalated
    close(case, supervisor, days_ago=settings.LEGAL_HOLD_DAYS + 1)

    report = opt_out_door(door)

    assert report["done"] == [str(clip.public_id)] and report["held"] == []
    assert_purged(clip, reason, audio_root)


# --- A case opened half-way through a deletion request ----------------------------------------


def test_a_case_opened_while_a_deletion_request_runs_still_holds_its_clip(make_clips, reviewer, monkeypatch):
    """The held set is read once, before the clips are locked one by one; a case opened between
    the two (here: just before the second clip's lock) must still hold that clip."""
    first, second = make_clips(2)
    real_locked = privacy._locked

    def case_opens_meanwhile(clip_id):
        if clip_id == second.pk and not Escalation.objects.exists():
            cases.escalation_open(
                clip=second, lease=None, raised_by=reviewer, category="self_harm", start_ms=0, end_ms=100
            )
        return real_locked(clip_id)

    monkeypatch.setattr(privacy, "_locked", case_opens_meanwhile)
    out = io.StringIO()
    call_command("delete_account", ACCOUNT, stdout=out)

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == ClipStatus.PURGED
    assert second.status == ClipStatus.ESCALATED and bytes(second.peaks) and second.audio_name
    assert SourceIdentity.objects.filter(clip=second).exists()
    assert "removed 1, held 1" in out.getvalue() and f"held (legal hold) {second.public_id}" in out.getvalue()


def test_a_case_opened_while_the_purge_runs_still_holds_its_clip(make_clips, reviewer, monkeypatch, settings):
    [clip] = make_clips(1)
    real_locked = privacy._locked

    def case_opens_meanwhile(clip_id):
        if not Escalation.objects.exists():
            cases.escalation_open(clip=clip, lease=None, raised_by=reviewer, category="self_harm", start_ms=0, end_ms=1)
        return real_locked(clip_id)

    monkeypatch.setattr(privacy, "_locked", case_opens_meanwhile)
    later = clip.received_at + timedelta(days=settings.UNREVIEWED_RETENTION_DAYS + 1)
    counts = privacy.purge_expired(now=later)

    clip.refresh_from_db()
    assert clip.status == ClipStatus.ESCALATED and bytes(clip.peaks)
    assert (counts.unreviewed_expired, counts.held) == (0, 1)
