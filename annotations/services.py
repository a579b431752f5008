"""Workflows of the review loop: ingest, claim, save, submit, release, expire.

Each function is one unit of work in one transaction: it either happens completely or leaves
nothing behind.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotations import identity, queue
from annotations.errors import LeaseEnded, OnBreak, TranscriptConflict
from annotations.grants import grant_lease_access, revoke_lease_access
from annotations.ingest import ClipMetadata, inspect_audio
from annotations.models import (
    Clip,
    ClipPool,
    ClipStatus,
    Lease,
    LeaseOutcome,
    OptOut,
    SourceIdentity,
    TranscriptRevision,
    audio_storage,
)
from annotations.transcripts import Tag, check_segments
from escalations import prescreen
from escalations.models import ReviewerWellbeing
from reviewportal.audit import trail
from reviewportal.audit.models import Action
from reviewportal.security import volume

# --- Ingest ------------------------------------------------------------------------------------


class IngestOutcome:
    INGESTED = "ingested"
    DUPLICATE = "duplicate"
    OPTED_OUT = "opted_out"


@dataclass(frozen=True)
class IngestResult:
    outcome: str
    clip: Clip | None = None


def clip_ingest(*, metadata: ClipMetadata, audio_path: Path, audio_name: str) -> IngestResult:
    """Store one clip and, apart from it, who was recorded; or drop it as opted out or duplicate.

    An opted-out clip (by its line, or because the account opted out earlier) is dropped before
    its audio is even opened. The audio file is written
    before the rows and removed again if they are not committed, so a refused or crashing clip
    leaves neither a row nor a file. Raises annotations.ingest.IngestError for bad audio.
    """
    if (
        metadata.human_review_opt_out
        or OptOut.objects.filter(account_id_hash=identity.keyed_hash(metadata.account_id)).exists()
    ):
        return IngestResult(IngestOutcome.OPTED_OUT)
    source_id_hash = identity.keyed_hash(metadata.source_id)
    if SourceIdentity.objects.filter(source_id_hash=source_id_hash).exists():
        return IngestResult(IngestOutcome.DUPLICATE)
    facts = inspect_audio(audio_path, name=audio_name)
    distress = prescreen.screen(metadata.asr_text, metadata.locale)
    storage = audio_storage()
    stored_name = uuid.uuid4().hex
    with audio_path.open("rb") as source:
        stored_name = storage.save(f"{stored_name[:2]}/{stored_name}{facts.extension}", File(source))
    try:
        with transaction.atomic():
            clip = Clip.objects.create(
                pool=ClipPool.for_locale(metadata.locale),
                audio_name=stored_name,
                audio_format=facts.format,
                audio_codec=facts.codec,
                audio_bytes=facts.size_bytes,
                duration_ms=facts.duration_ms,
                sample_rate=facts.sample_rate,
                channels=facts.channels,
                peaks=facts.peaks,
                peaks_per_second=facts.peaks_per_second,
                locale=metadata.locale,
                asr_text=metadata.asr_text,
                priority=max(metadata.priority, settings.PRESCREEN_PRIORITY) if distress else metadata.priority,
                possible_distress=distress is not None,
                distress_reason=distress.reason if distress else "",
                recorded_at=metadata.recorded_at,
            )
            SourceIdentity.objects.create(
                clip=clip,
                source_id_hash=source_id_hash,
                account_id_hash=identity.keyed_hash(metadata.account_id),
                source_id=metadata.source_id,
                account_id=metadata.account_id,
                first_name=metadata.first_name,
                device_serial=metadata.device_serial,
            )
            trail.record(
                Action.CLIP_INGESTED,
                object_type="clip",
                object_id=clip.public_id,
                detail={
                    "format": facts.format,
                    "duration_ms": facts.duration_ms,
                    "pool": clip.pool.slug,
                    "possible_distress": clip.possible_distress,
                },
            )
    except IntegrityError:
        # Another ingest of the same source_id committed between our check and our insert.
        storage.delete(stored_name)
        if SourceIdentity.objects.filter(source_id_hash=source_id_hash).exists():
            return IngestResult(IngestOutcome.DUPLICATE)
        raise
    except BaseException:
        storage.delete(stored_name)
        raise
    return IngestResult(IngestOutcome.INGESTED, clip)


# --- Leases ------------------------------------------------------------------------------------


def _close_lease(lease: Lease, *, outcome: str, reason: str = "", now: datetime, clip_status: str) -> None:
    """End a lease, and with it the holder's grants; move its clip on.

    Call inside transaction.atomic with the lease row locked.
    """
    lease.end(outcome=outcome, reason=reason, now=now)
    revoke_lease_access(lease)
    Clip.objects.filter(pk=lease.clip_id, status=ClipStatus.LEASED).update(status=clip_status)


def _locked_active_lease(lease: Lease, now: datetime) -> Lease:
    """Re-read the lease under a row lock and insist it is still active. Call inside transaction.atomic."""
    locked = Lease.objects.select_for_update(of=("self",)).select_related("clip").get(pk=lease.pk)
    if not locked.is_active(now):
        raise LeaseEnded(f"{lease} is no longer active")
    return locked


EXPIRY_SWEEP_PER_CLAIM = 20  # a claim's own sweep stays small; the background job does the bulk


def _expire(lease: Lease, now: datetime) -> None:
    """Call inside transaction.atomic with the lease row locked."""
    _close_lease(lease, outcome=LeaseOutcome.EXPIRED, now=now, clip_status=ClipStatus.QUEUED)
    with trail.as_system():
        detail = {"lease": lease.public_id.hex, "reviewer": lease.reviewer_id}
        trail.record(Action.LEASE_EXPIRED, object_type="clip", object_id=lease.clip.public_id, detail=detail)


def lease_expire_overdue(*, now: datetime | None = None, limit: int = 200) -> int:
    """Expire up to `limit` leases past their time and put their clips back in the queue.

    Safe to run from many processes at once: rows another process is expiring are skipped.
    Every claim runs a small sweep first, so clips come back even with no timer; the background
    job (Celery beat in production, the timer thread embedded) catches the rest every minute.
    """
    now = now or timezone.now()
    with transaction.atomic():
        return _expire_overdue(now, limit=limit)


def _expire_overdue(now: datetime, *, limit: int) -> int:
    """Call inside transaction.atomic; locks the overdue leases it expires (skipping locked ones)."""
    expired = 0
    for lease in Lease.objects.overdue(now).select_for_update(skip_locked=True).order_by("expires_at")[:limit]:
        _expire(lease, now)
        expired += 1
    return expired


def lease_claim(*, reviewer) -> Lease | None:
    """Give the reviewer their one active lease: the one they hold, else the next clip's; None if none is left.

    A reviewer never holds two leases (two tabs claiming at once get the same one), and no clip
    is ever leased to two reviewers (see annotations.queue). Only clips from pools the reviewer
    may review are offered. Taking a new clip counts towards the reviewer's volume limit and
    raises VolumeLimitExceeded past it; a reviewer on a break gets OnBreak. "Possible distress"
    clips are left out for a reviewer who opted out of them or had DISTRESS_CLIPS_PER_SHIFT.
    """
    now = timezone.now()
    if volume.used_up(reviewer, "claim") and not Lease.objects.active(now).filter(reviewer=reviewer).exists():
        volume.check(reviewer, "claim")  # outside the transaction, so the refusal's record stays
    with transaction.atomic():
        _expire_overdue(now, limit=EXPIRY_SWEEP_PER_CLAIM)
        # Serialise this reviewer's claims; other reviewers are not held up.
        get_user_model().objects.select_for_update().filter(pk=reviewer.pk).exists()
        held = Lease.objects.filter(reviewer=reviewer, ended_at__isnull=True).select_for_update().first()
        if held is not None:
            if held.is_active(now):
                return held
            _expire(held, now)
        pool_ids = queue.reviewable_pool_ids(reviewer)
        if not pool_ids:
            return None
        wellbeing = ReviewerWellbeing.objects.filter(reviewer=reviewer).first()
        if wellbeing is not None and wellbeing.is_paused(now):
            raise OnBreak(wellbeing.paused_until)
        avoid_distress = (wellbeing is not None and wellbeing.avoid_possible_distress) or (
            distressing_leases_this_shift(reviewer, now) >= settings.DISTRESS_CLIPS_PER_SHIFT
        )
        taken = queue.take_next_clip(reviewer, pool_ids, avoid_distress=avoid_distress)
        if taken is None:
            return None
        clip_id, public_id = taken
        volume.count(reviewer, "claim")
        lease = Lease.objects.create(
            clip_id=clip_id,
            reviewer=reviewer,
            started_at=now,
            expires_at=now + timedelta(seconds=settings.LEASE_SECONDS),
        )
        grant_lease_access(lease)
        trail.record(
            Action.CLIP_CLAIMED, object_type="clip", object_id=public_id, detail={"lease": lease.public_id.hex}
        )
        return lease


def distressing_leases_this_shift(reviewer, now: datetime) -> int:
    """ "Possible distress" clips the reviewer was given in the last SHIFT_HOURS."""
    since = now - timedelta(hours=settings.SHIFT_HOURS)
    return Lease.objects.filter(reviewer=reviewer, started_at__gte=since, clip__possible_distress=True).count()


def lease_release(*, lease: Lease, reason: str) -> None:
    """Give the clip back to the queue (a skip). The reviewer is not offered this clip again."""
    now = timezone.now()
    with transaction.atomic():
        locked = _locked_active_lease(lease, now)
        _close_lease(locked, outcome=LeaseOutcome.RELEASED, reason=reason, now=now, clip_status=ClipStatus.QUEUED)
        detail = {"lease": locked.public_id.hex, "reason": reason}
        trail.record(Action.LEASE_RELEASED, object_type="clip", object_id=locked.clip.public_id, detail=detail)


def lease_renew(*, lease: Lease) -> Lease:
    """Extend an active lease by one lease period from now, for a reviewer who is still working."""
    now = timezone.now()
    with transaction.atomic():
        locked = _locked_active_lease(lease, now)
        locked.renew(now=now)
        detail = {"lease": locked.public_id.hex}
        trail.record(Action.LEASE_RENEWED, object_type="clip", object_id=locked.clip.public_id, detail=detail)
    return locked


# --- Transcripts -------------------------------------------------------------------------------


def _latest_revision(clip_id: int) -> TranscriptRevision | None:
    return TranscriptRevision.objects.filter(clip_id=clip_id).order_by("-version").first()


def transcript_save(
    *, lease: Lease, text: str, segments: list[dict], tags: list[str], base_version: int
) -> TranscriptRevision:
    """Add a revision on top of `base_version`, the version the author started from.

    Refuses with TranscriptConflict if the transcript moved on since; nothing is ever merged or
    overwritten. The lease row lock serialises saves and submits on one clip.
    """
    check_segments(segments, duration_ms=lease.clip.duration_ms)
    now = timezone.now()
    with transaction.atomic():
        locked = _locked_active_lease(lease, now)
        latest = _latest_revision(locked.clip_id)
        current_version = latest.version if latest else 0
        if base_version != current_version:
            raise TranscriptConflict(latest)
        revision = TranscriptRevision.objects.create(
            clip_id=locked.clip_id,
            version=current_version + 1,
            based_on=latest,
            author_id=locked.reviewer_id,
            lease=locked,
            text=text,
            segments=segments,
            tags=tags,
            created_at=now,
        )
        # Counts only: the trail never holds transcript text.
        detail = {"version": revision.version, "segments": len(segments), "tags": len(tags)}
        trail.record(Action.TRANSCRIPT_SAVED, object_type="clip", object_id=locked.clip.public_id, detail=detail)
        return revision


def clip_submit(*, lease: Lease, version: int | None = None) -> TranscriptRevision:
    """Make the latest revision final, end the lease and with it the reviewer's access.

    `version`, when given, must be the latest: a reviewer never submits a version they have not
    seen. A clip with no saved revision cannot be submitted.
    """
    now = timezone.now()
    with transaction.atomic():
        locked = _locked_active_lease(lease, now)
        latest = _latest_revision(locked.clip_id)
        if latest is None:
            raise ValidationError({"transcript": "save a transcript before submitting"})
        if version is not None and version != latest.version:
            raise TranscriptConflict(latest)
        Clip.objects.filter(pk=locked.clip_id).update(final_revision=latest, submitted_at=now)
        _close_lease(locked, outcome=LeaseOutcome.SUBMITTED, now=now, clip_status=ClipStatus.SUBMITTED)
        if Tag.NOT_ADDRESSED in latest.tags:
            from annotations.privacy import false_wake_submitted  # privacy builds on these services' models

            false_wake_submitted(locked.clip, now)
        detail = {"version": latest.version, "lease": locked.public_id.hex}
        trail.record(Action.CLIP_SUBMITTED, object_type="clip", object_id=locked.clip.public_id, detail=detail)
    return latest
