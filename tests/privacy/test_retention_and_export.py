"""Audio is kept only as long as needed; finished transcripts leave only through the export door."""

import io
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from annotations import privacy
from annotations.models import Clip, ClipStatus, Lease, SourceIdentity, TranscriptRevision
from reviewportal.audit.models import AccessEvent, Action
from reviewportal.integrations.models import ServiceToken

pytestmark = pytest.mark.django_db(transaction=True)


def files(root):
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


def review(client, text="set a timer", tags=()):
    body = client.post("/api/v1/queue/claim").json()
    clip_id = body["clip"]["id"]
    client.put(
        f"/api/v1/clips/{clip_id}/transcript", {"text": text, "base_version": 0, "tags": list(tags)}, format="json"
    )
    client.post(f"/api/v1/clips/{clip_id}/submit", {"played": True}, format="json")
    return Clip.objects.get(public_id=clip_id)


def test_audio_goes_after_its_retention_and_transcripts_after_theirs(reviewer_client, make_clips, settings, audio_root):
    make_clips(1)
    clip = review(reviewer_client)
    submitted = clip.submitted_at

    assert privacy.purge_expired(now=submitted + timedelta(days=settings.AUDIO_RETENTION_DAYS - 1)).audio_deleted == 0
    counts = privacy.purge_expired(now=submitted + timedelta(days=settings.AUDIO_RETENTION_DAYS + 1))

    clip.refresh_from_db()
    assert counts.audio_deleted == 1 and clip.audio_deleted_at is not None
    assert files(audio_root) == [] and bytes(clip.peaks) == b""
    assert clip.final_revision.text == "set a timer"  # the transcript stays a while longer

    privacy.purge_expired(now=submitted + timedelta(days=settings.TRANSCRIPT_RETENTION_DAYS + 1))
    clip.refresh_from_db()
    assert (clip.status, clip.purge_reason) == (ClipStatus.PURGED, "retention")
    assert not TranscriptRevision.objects.exists() and not SourceIdentity.objects.exists()


def test_clips_never_reviewed_expire_too(make_clips, settings):
    [clip] = make_clips(1)
    later = clip.received_at + timedelta(days=settings.UNREVIEWED_RETENTION_DAYS + 1)

    assert privacy.purge_expired(now=later).unreviewed_expired == 1
    clip.refresh_from_db()
    assert (clip.status, clip.purge_reason) == (ClipStatus.PURGED, "unreviewed")


def test_a_purge_that_runs_while_a_reviewer_holds_the_lease_withdraws_it(reviewer_client, make_clips, settings):
    make_clips(1)
    body = reviewer_client.post("/api/v1/queue/claim").json()
    clip = Clip.objects.get(public_id=body["clip"]["id"])
    audio_path = urlsplit(body["clip"]["audio_url"]).path
    assert reviewer_client.get(audio_path, HTTP_RANGE="bytes=0-9").status_code == 206

    privacy.purge_expired(now=clip.received_at + timedelta(days=settings.UNREVIEWED_RETENTION_DAYS + 1))

    assert Lease.objects.get().outcome == "withdrawn"
    assert reviewer_client.get(audio_path, HTTP_RANGE="bytes=10-19").status_code == 403
    answer = reviewer_client.get(f"/api/v1/clips/{clip.public_id}")
    assert (answer.status_code, answer.json()["reason"]) == (410, "withdrawn")


def test_the_purge_never_touches_a_clip_on_legal_hold(reviewer_client, make_clips, settings, supervisor):
    make_clips(1)
    clip_id = reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"]
    reviewer_client.post(
        f"/api/v1/clips/{clip_id}/escalations",
        {"category": "imminent_danger", "start_ms": 0, "end_ms": 100},
        format="json",
    )
    clip = Clip.objects.get(public_id=clip_id)

    counts = privacy.purge_expired(now=timezone.now() + timedelta(days=settings.TRANSCRIPT_RETENTION_DAYS + 100))

    clip.refresh_from_db()
    assert clip.audio_name and bytes(clip.peaks) and clip.status == ClipStatus.ESCALATED
    assert SourceIdentity.objects.filter(clip=clip).exists()
    assert counts.audio_deleted == counts.transcripts_deleted == counts.unreviewed_expired == 0


def test_a_false_wake_loses_its_audio_at_submit(reviewer_client, make_clips, audio_root):
    make_clips(1)
    clip = review(reviewer_client, text="", tags=["not_addressed"])

    assert clip.audio_deleted_at is not None and bytes(clip.peaks) == b""
    assert files(audio_root) == []
    assert AccessEvent.objects.filter(action=Action.AUDIO_DELETED, detail__reason="false_wake").exists()


class Terminal(io.StringIO):
    """Captured output that says it is a terminal, as when an operator runs the command by hand."""

    def isatty(self) -> bool:
        return True


def test_the_purge_command_shows_progress_and_a_summary(make_clips, settings):
    settings.UNREVIEWED_RETENTION_DAYS = 0
    make_clips(2)
    out, err = io.StringIO(), Terminal()

    call_command("purge_expired", stdout=out, stderr=err)

    assert out.getvalue().startswith("audio deleted 0, transcripts deleted 0, unreviewed expired 2, hold ended 0")
    bar = err.getvalue().rsplit("\r", 1)[-1]
    assert bar.startswith("purging: 100%") and "2/2" in bar and "clip" in bar


def test_the_purge_command_draws_no_bar_when_not_run_from_a_terminal(make_clips, settings):
    settings.UNREVIEWED_RETENTION_DAYS = 0
    make_clips(1)
    out, err = io.StringIO(), io.StringIO()

    call_command("purge_expired", stdout=out, stderr=err)

    assert "unreviewed expired 1" in out.getvalue() and err.getvalue() == ""


# --- Where the purge runs: Celery beat in production, a timer thread embedded ---------------------


def test_the_celery_task_runs_the_purge_and_returns_its_counts(make_clips, settings):
    from annotations import tasks

    settings.UNREVIEWED_RETENTION_DAYS = 0
    [clip] = make_clips(1)

    counts = tasks.purge_expired.apply().get()

    assert counts["unreviewed_expired"] == 1 and set(counts) >= {"audio_deleted", "hold_ended", "held"}
    clip.refresh_from_db()
    assert clip.status == ClipStatus.PURGED


def test_celery_beat_schedules_the_purge_hourly_under_a_task_the_worker_knows(settings):
    from reviewportal.celery import app

    [entry] = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "annotations.tasks.purge_expired"]
    assert entry["schedule"] == 3600
    app.loader.import_default_modules()  # what a worker does at start: autodiscover the apps' tasks
    assert "annotations.tasks.purge_expired" in app.tasks


def test_the_embedded_default_starts_the_purge_on_a_timer_thread(monkeypatch, settings, make_clips):
    from reviewportal import timers

    calls = []
    monkeypatch.setattr(timers, "_every", lambda seconds, job, name: calls.append((name, seconds, job)))
    monkeypatch.setattr(timers, "_started", type(timers._started)())
    settings.RUN_TIMERS_IN_PROCESS = False
    timers.start()
    assert calls == []  # off unless asked for (tests, production)

    settings.RUN_TIMERS_IN_PROCESS = True
    timers.start()
    timers.start()  # once per process

    assert sorted(name for name, _, _ in calls) == ["escalation deadlines", "lease expiry", "retention purge"]
    [(seconds, job)] = [(seconds, job) for name, seconds, job in calls if name == "retention purge"]
    assert (seconds, job) == (3600, privacy.purge_expired)
    settings.UNREVIEWED_RETENTION_DAYS = 0
    [clip] = make_clips(1)
    job()
    clip.refresh_from_db()
    assert clip.status == ClipStatus.PURGED


def test_a_timer_thread_survives_a_failing_run_and_stops_when_told(caplog):
    import threading

    from reviewportal import timers

    runs, twice = [], threading.Event()

    def job():
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("database went away")
        twice.set()

    stop = timers._every(0.01, job, "test job")
    try:
        assert twice.wait(5)
    finally:
        stop.set()
    assert "background job test job failed" in caplog.text


def test_a_file_that_could_not_be_removed_is_retried_by_the_next_purge(
    reviewer_client, make_clips, monkeypatch, audio_root
):
    from django.core.files.storage import storages

    make_clips(1)
    real_delete = type(storages["audio"]).delete
    monkeypatch.setattr(
        type(storages["audio"]), "delete", lambda self, name: (_ for _ in ()).throw(OSError("disk busy"))
    )
    clip = review(reviewer_client, tags=["not_addressed"])
    assert clip.audio_name and len(files(audio_root)) == 1

    monkeypatch.setattr(type(storages["audio"]), "delete", real_delete)
    assert privacy.purge_expired().files_retried == 1
    clip.refresh_from_db()
    assert clip.audio_name == "" and files(audio_root) == []


# --- Export ----------------------------------------------------------------------------------


def exporter() -> APIClient:
    _, plaintext = ServiceToken.issue(name=f"exporter-{uuid.uuid4().hex[:6]}", scopes=["export"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


def test_the_export_pages_final_transcripts_by_public_id_with_a_cursor(reviewer_client, make_clips, settings):
    settings.EXPORT_PAGE_SIZE = 2
    make_clips(3)
    done = [review(reviewer_client, text=f"transcript {n}") for n in range(3)]
    client = exporter()

    first = client.get("/api/v1/integrations/transcripts").json()
    second = client.get("/api/v1/integrations/transcripts", {"cursor": first["next"]}).json()

    ids = [row["id"] for row in first["results"] + second["results"]]
    assert ids == [str(clip.public_id) for clip in done]
    assert second["next"] is None
    row = first["results"][0]
    assert set(row) == {"id", "locale", "duration_ms", "submitted_at", "version", "text", "segments", "tags"}
    assert row["text"] == "transcript 0"
    assert AccessEvent.objects.filter(action=Action.EXPORTED, object_type="transcripts").count() == 2


def test_the_export_never_carries_audio_identity_drafts_or_unfinished_clips(reviewer_client, make_clips):
    make_clips(2)
    review(reviewer_client, text="final words")
    body = reviewer_client.post("/api/v1/queue/claim").json()  # the second clip: only a draft
    reviewer_client.put(
        f"/api/v1/clips/{body['clip']['id']}/transcript", {"text": "draft", "base_version": 0}, format="json"
    )

    raw = exporter().get("/api/v1/integrations/transcripts").content.decode()

    assert "final words" in raw and "draft" not in raw
    for secret in ("ACCT-TEST-0001", "Wilhelmina", "SER-TEST-7777", "audio", "peaks", "src-"):
        assert secret not in raw


def test_the_export_since_includes_clips_submitted_from_then_on_and_excludes_earlier_ones(reviewer_client, make_clips):
    make_clips(3)
    earlier, boundary, later = (review(reviewer_client, text=f"transcript {n}") for n in range(3))
    now = timezone.now()
    since = now - timedelta(hours=2)
    Clip.objects.filter(pk=earlier.pk).update(submitted_at=since - timedelta(microseconds=1))
    Clip.objects.filter(pk=boundary.pk).update(submitted_at=since)
    Clip.objects.filter(pk=later.pk).update(submitted_at=now)

    rows = exporter().get("/api/v1/integrations/transcripts", {"since": since.isoformat()}).json()["results"]

    assert [row["id"] for row in rows] == [str(boundary.public_id), str(later.public_id)]
    everything = exporter().get("/api/v1/integrations/transcripts", {"since": (since - timedelta(days=1)).isoformat()})
    assert len(everything.json()["results"]) == 3


def test_the_export_filters_by_since_and_rejects_bad_input(reviewer_client, make_clips):
    make_clips(1)
    review(reviewer_client)
    client = exporter()
    future = (timezone.now() + timedelta(days=1)).isoformat()
    assert client.get("/api/v1/integrations/transcripts", {"since": future}).json()["results"] == []
    assert client.get("/api/v1/integrations/transcripts", {"since": "yesterday"}).status_code == 400
    assert client.get("/api/v1/integrations/transcripts", {"cursor": "not-a-cursor"}).status_code == 400


@pytest.mark.parametrize("scopes", [("ingest",), ("opt_out",)])
def test_the_export_needs_the_export_scope(scopes, make_clips):
    _, plaintext = ServiceToken.issue(name=f"wrong-{uuid.uuid4().hex[:6]}", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert client.get("/api/v1/integrations/transcripts").status_code == 403


def test_reviewers_have_no_export(reviewer_client):
    assert reviewer_client.get("/api/v1/integrations/transcripts").status_code == 401
