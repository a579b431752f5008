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
from django.db.models import Case, F, Value, When
from django.utils import timezone

from annotations import audio, identity, queue
from annotations.consumers import tell_reviewer_on_commit
from annotations.errors import LeaseEnded, OnBreak, TranscriptConflict
from annotations.grants import grant_lease_access, revoke_lease_access
from annotations.ingest import ClipMetadata, inspect_audio
from annotations.models import (
    Clip,
    ClipPool,
    ClipStatus,
    IngestedSource,
    Lease,
    LeaseOutcome,
    OptOut,
    PoolMoveReason,
    SourceIdentity,
    TranscriptRevision,
    audio_storage,
    move_clip,
)
from annotations.transcripts import Tag, check_segments
from escalations import prescreen
from escalations.models import ReviewerWellbeing
from reviewportal.audit import trail
from reviewportal.audit.models import Action
from reviewportal.precompiled import insert, precompiled, precompiled_update
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
    if IngestedSource.objects.filter(source_id_hash=source_id_hash).exists():
        return IngestResult(IngestOutcome.DUPLICATE)
    facts = inspect_audio(audio_path, name=audio_name)
    distress = prescreen.screen(metadata.asr_text, metadata.locale)
    storage = audio_storage()
    stored_name = uuid.uuid4().hex
    with audio_path.open("rb") as source:
        stored_name = storage.save(f"{stored_name[:2]}/{stored_name}{facts.extension}", File(source))
    try:
        with transaction.atomic():
            IngestedSource.objects.create(source_id_hash=source_id_hash)
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
        if IngestedSource.objects.filter(source_id_hash=source_id_hash).exists():
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
    move_clip.run(clip_id=lease.clip_id, from_status=ClipStatus.LEASED, to_status=clip_status)


# The review loop's reads below are @precompiled: their SQL is built once per thread, not per call.


@precompiled
def _lease_locked(lease_id: int):
    return Lease.objects.select_for_update(no_key=True).filter(pk=lease_id)


def _locked_active_lease(lease: Lease, now: datetime) -> Lease:
    """Re-read the lease under a row lock and insist it is still active. Call inside transaction.atomic."""
    locked = _lease_locked.first(lease_id=lease.pk)
    if locked is None or not locked.is_active(now):
        raise LeaseEnded(f"{lease} is no longer active")
    _keep_clip(lease, locked)
    return locked


def _keep_clip(lease: Lease, locked: Lease) -> None:
    """Give the locked copy the clip the caller's access check already read, instead of reading it again.

    What the services use of it (ids, duration, audio name) does not change while a lease is open;
    whatever ends the lease (a purge, an opt-out) takes the lease's row lock first.
    """
    if Lease.clip.is_cached(lease):
        locked.clip = lease.clip


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
        return _expire_each(_overdue_locked(now)[:limit], now)


def _overdue_locked(now: datetime):
    """Leases past their time, locked, skipping those another process is expiring right now."""
    return Lease.objects.overdue(now).select_for_update(no_key=True, skip_locked=True).order_by("expires_at")


@precompiled
def _overdue_for_a_claim(now: datetime):
    return _overdue_locked(now)[:EXPIRY_SWEEP_PER_CLAIM]


def _expire_each(overdue, now: datetime) -> int:
    """Expire these overdue leases, locked by the read that found them. Call inside transaction.atomic."""
    expired = 0
    for lease in overdue:
        _expire(lease, now)
        expired += 1
    return expired


def promote_next_lease(reviewer_id: int, now: datetime) -> Lease | None:
    """Make the reviewer's lease claimed ahead current, if they hold a live one; return it.

    Call inside transaction.atomic, after the current lease has ended (submit, skip, escalation).
    """
    ahead = (
        Lease.objects.filter(reviewer_id=reviewer_id, is_next=True, ended_at__isnull=True, expires_at__gt=now)
        .select_for_update(no_key=True, of=("self",))
        .select_related("clip")
        .first()
    )
    return None if ahead is None else _promote(ahead, now)


def _promote(ahead: Lease, now: datetime) -> Lease:
    """Make `ahead`, a live lease claimed ahead, current. Call inside transaction.atomic with its row locked."""
    ahead.promote(now=now)
    grant_lease_access(ahead)
    _record_promotion(ahead)
    return ahead


def _record_promotion(ahead: Lease) -> None:
    detail = {"lease": ahead.public_id.hex, "promoted": True}
    trail.record(Action.LEASE_RENEWED, object_type="clip", object_id=ahead.clip.public_id, detail=detail)


@precompiled
def _open_leases_locked(reviewer_id: int):
    """The reviewer's open leases, locked: current first, the one claimed ahead second (the order
    every service locks them in)."""
    leases = Lease.objects.filter(reviewer_id=reviewer_id, ended_at__isnull=True)
    return leases.select_for_update(no_key=True, of=("self",)).select_related("clip").order_by("is_next")


def _locked_with_ahead(lease: Lease, now: datetime) -> tuple[Lease, Lease | None]:
    """Lock the reviewer's current `lease` (insisting it is still active) and their live lease
    claimed ahead, if any, in one read; current first, as lease_claim locks them.

    Call inside transaction.atomic, for work that ends `lease` and then promotes the one ahead.
    """
    locked = ahead = None
    for each in _open_leases_locked.all(reviewer_id=lease.reviewer_id):
        if each.pk == lease.pk:
            locked = each
        elif each.is_next and each.is_active(now):
            ahead = each
    if locked is None or not locked.is_active(now):
        raise LeaseEnded(f"{lease} is no longer active")
    _keep_clip(lease, locked)
    return locked, ahead


def _take_clip(reviewer, *, now: datetime, expires_at: datetime, is_next: bool) -> Lease | None:
    """Lease the next claimable clip to the reviewer; None if their pools hold none.

    Call inside transaction.atomic with the reviewer's row locked (one claim at a time per reviewer).
    A reviewer on a break gets OnBreak; "possible distress" clips are left out for a reviewer who
    opted out of them or has had DISTRESS_CLIPS_PER_SHIFT of them this shift. The returned lease
    carries its clip (`lease.clip`), read under the claim's lock.
    """
    pool_ids = queue.reviewable_pool_ids(reviewer)
    if not pool_ids:
        return None
    # Read after the reviewer's row lock, in a statement of its own: a break that committed while
    # this claim waited for the lock is seen (one joined to the locking read would not be).
    wellbeing = _wellbeing.first(reviewer_id=reviewer.pk)
    if wellbeing is not None and wellbeing.is_paused(now):
        raise OnBreak(wellbeing.paused_until)
    clip = queue.take_next_clip(
        reviewer,
        pool_ids,
        avoid_distress=wellbeing is not None and wellbeing.avoid_possible_distress,
        # Counted only when the clip about to be taken is a "possible distress" one.
        may_take_distress=lambda: distressing_leases_this_shift(reviewer, now) < settings.DISTRESS_CLIPS_PER_SHIFT,
    )
    if clip is None:
        return None
    volume.count(reviewer, "claim")
    lease = insert(Lease(clip=clip, reviewer=reviewer, started_at=now, expires_at=expires_at, is_next=is_next))
    grant_lease_access(lease)
    detail = {"lease": lease.public_id.hex}
    if is_next:
        detail["ahead"] = True
    trail.record(Action.CLIP_CLAIMED, object_type="clip", object_id=clip.public_id, detail=detail)
    return lease


@precompiled
def _wellbeing(reviewer_id: int):
    return ReviewerWellbeing.objects.filter(reviewer_id=reviewer_id)


def distressing_leases_this_shift(reviewer, now: datetime) -> int:
    """ "Possible distress" clips the reviewer was given in the last SHIFT_HOURS."""
    since = now - timedelta(hours=settings.SHIFT_HOURS)
    return Lease.objects.filter(reviewer=reviewer, started_at__gte=since, clip__possible_distress=True).count()


@precompiled
def _reviewer_locked(reviewer_id: int):
    return get_user_model().objects.select_for_update(no_key=True).filter(pk=reviewer_id).only("pk")


def _lock_reviewer(reviewer) -> None:
    """Serialise one reviewer's claims; other reviewers are not held up. Call inside transaction.atomic."""
    _reviewer_locked.all(reviewer_id=reviewer.pk)


def lease_claim(*, reviewer, with_audio_link: bool = False) -> Lease | None:
    """Give the reviewer their current lease: the one they hold, else the one claimed ahead, else the next clip's.

    None if the queue has nothing for them. A reviewer never holds two current leases (two tabs
    claiming at once get the same one), and no clip is ever leased to two reviewers (see
    annotations.queue). Only clips from pools the reviewer may review are offered. Taking a new
    clip counts towards the reviewer's volume limit and raises VolumeLimitExceeded past it; a
    reviewer on a break gets OnBreak (see _take_clip). The lease carries its clip (`lease.clip`).

    With with_audio_link, the claim also hands out a link to the clip's audio, as
    annotations.audio.audio_url() would: checked against the audio volume limit first, its issue
    recorded in the claim's own transaction (one commit, and one turn of the trail's lock, for
    both), and counted once committed. The link's id is `lease.audio_link`, for the caller to sign
    with annotations.audio.signed_audio_path() (signing needs the request's session).
    """
    now = timezone.now()
    if volume.used_up(reviewer, "claim") and not Lease.objects.active(now).filter(reviewer=reviewer).exists():
        volume.check(reviewer, "claim")  # outside the transaction, so the refusal's record stays
    if with_audio_link:
        volume.check(reviewer, "audio_link")  # likewise; and no clip is leased that could not be heard
    with transaction.atomic():
        _expire_each(_overdue_for_a_claim.all(now=now), now)
        _lock_reviewer(reviewer)
        lease = _claim_locked(reviewer, now)
        if lease is not None and with_audio_link:
            lease.audio_link = audio.new_link_id()
            audio.record_audio_link(lease.clip, lease.audio_link)
    if lease is not None and with_audio_link:
        volume.count(reviewer, "audio_link")
    return lease


def _claim_locked(reviewer, now: datetime) -> Lease | None:
    """lease_claim's work. Call inside transaction.atomic with the reviewer's row locked."""
    # Both open leases (current, then the one claimed ahead) in one locking read; current first,
    # the order lease_renew and lease_release lock them in.
    held = ahead = None
    for lease in _open_leases_locked.all(reviewer_id=reviewer.pk):
        if lease.is_next:
            ahead = lease
        else:
            held = lease
    if held is not None:
        if held.is_active(now):
            return held
        _expire(held, now)
    if ahead is not None and ahead.is_active(now):
        return _promote(ahead, now)
    return _take_clip(reviewer, now=now, expires_at=now + timedelta(seconds=settings.LEASE_SECONDS), is_next=False)


def lease_claim_next(*, reviewer) -> Lease | None:
    """Claim the clip after the current one, so the editor can show it the moment this one is submitted.

    Returns the lease claimed ahead (the one already held, if any), or None if the queue has
    nothing more. It expires with the current lease (renewals move both) and lets the reviewer
    view the clip, not transcribe it, until it becomes current. Raises LeaseEnded when the
    reviewer holds no current lease: there is nothing to claim ahead of.
    """
    now = timezone.now()
    held = Lease.objects.active(now).filter(reviewer=reviewer, is_next=True).select_related("clip").first()
    if held is not None:
        return held  # asked again (a reload, a second tab): the same clip, and no claim counted
    volume.check(reviewer, "claim")  # outside the transaction, so the refusal's record stays
    with transaction.atomic():
        _lock_reviewer(reviewer)
        current = Lease.objects.active(now).filter(reviewer=reviewer, is_next=False).first()
        if current is None:
            raise LeaseEnded("no current lease to claim ahead of")
        held = Lease.objects.active(now).filter(reviewer=reviewer, is_next=True).select_related("clip").first()
        if held is not None:
            return held
        # A lease claimed ahead that is overdue but not yet swept still holds the slot.
        for stale in Lease.objects.overdue(now).filter(reviewer=reviewer, is_next=True).select_for_update(no_key=True):
            _expire(stale, now)
        return _take_clip(reviewer, now=now, expires_at=current.expires_at, is_next=True)


def lease_release(*, lease: Lease, reason: str) -> Lease | None:
    """Give the clip back to the queue (a skip). The reviewer is not offered this clip again.

    Returns the lease claimed ahead, now current, if the reviewer held one.
    """
    now = timezone.now()
    with transaction.atomic():
        locked = _locked_active_lease(lease, now)
        _close_lease(locked, outcome=LeaseOutcome.RELEASED, reason=reason, now=now, clip_status=ClipStatus.QUEUED)
        detail = {"lease": locked.public_id.hex, "reason": reason}
        trail.record(Action.LEASE_RELEASED, object_type="clip", object_id=locked.clip.public_id, detail=detail)
        return None if locked.is_next else promote_next_lease(locked.reviewer_id, now)


def leases_return_for_break(*, reviewer, now: datetime) -> int:
    """Put every clip the reviewer holds (current and claimed ahead) back in the queue: their queue pauses.

    Call inside transaction.atomic; locks the reviewer's row, as a claim does, so a claim racing the
    break either finishes first (and its lease is returned here) or waits and finds the pause.
    Holding the clips back instead would keep them from every other reviewer for the whole break,
    and flagging has just made the clip claimed ahead current. The outcome is break, not released:
    the reviewer did not skip these clips, and may be offered them again later; nor withdrawn, which
    tells the page the person recorded took the clip away. Their
    saved transcript revisions stay with the clip. Returns how many leases ended.
    """
    _lock_reviewer(reviewer)
    held = (
        Lease.objects.filter(reviewer=reviewer, ended_at__isnull=True)
        .select_related("clip")
        .select_for_update(no_key=True, of=("self",))
    )
    returned = 0
    for lease in held:
        _close_lease(lease, outcome=LeaseOutcome.BREAK, now=now, clip_status=ClipStatus.QUEUED)
        detail = {"lease": lease.public_id.hex, "reason": "break"}
        trail.record(Action.LEASE_RELEASED, object_type="clip", object_id=lease.clip.public_id, detail=detail)
        tell_reviewer_on_commit(
            lease.reviewer_id, {"type": "lease.withdrawn", "clip": str(lease.clip.public_id), "reason": "break"}
        )
        returned += 1
    return returned


def lease_renew(*, lease: Lease) -> Lease:
    """Extend an active lease by one lease period from now, for a reviewer who is still working.

    The lease claimed ahead, if any, is extended with the current one: both end together when
    the reviewer goes idle.
    """
    now = timezone.now()
    with transaction.atomic():
        locked = _locked_active_lease(lease, now)
        renewed = [locked]
        if not locked.is_next:
            renewed += (
                Lease.objects.active(now)
                .filter(reviewer_id=locked.reviewer_id, is_next=True)
                .select_related("clip")
                .select_for_update(no_key=True, of=("self",))
            )
        for each in renewed:
            each.renew(now=now)
            detail = {"lease": each.public_id.hex}
            trail.record(Action.LEASE_RENEWED, object_type="clip", object_id=each.clip.public_id, detail=detail)
    return locked


# --- Transcripts -------------------------------------------------------------------------------


@precompiled
def _latest_revisions(clip_id: int):
    return TranscriptRevision.objects.filter(clip_id=clip_id).order_by("-version")[:1]


def latest_revision(clip_id: int) -> TranscriptRevision | None:
    """The clip's newest transcript revision, or None before the first save."""
    return _latest_revisions.first(clip_id=clip_id)


def _add_revision(
    locked: Lease, *, text: str, segments: list[dict], tags: list[str], base_version: int, now: datetime
) -> TranscriptRevision:
    """Call inside transaction.atomic with the lease row locked (it serialises saves on one clip)."""
    latest = latest_revision(locked.clip_id)
    current_version = latest.version if latest else 0
    if base_version != current_version:
        raise TranscriptConflict(latest)
    revision = insert(
        TranscriptRevision(
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
    )
    # Counts only: the trail never holds transcript text.
    detail = {"version": revision.version, "segments": len(segments), "tags": len(tags)}
    trail.record(Action.TRANSCRIPT_SAVED, object_type="clip", object_id=locked.clip.public_id, detail=detail)
    return revision


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
        return _add_revision(locked, text=text, segments=segments, tags=tags, base_version=base_version, now=now)


@dataclass(frozen=True)
class Submitted:
    revision: TranscriptRevision
    next_lease: Lease | None  # the lease claimed ahead, now current


def clip_submit(
    *, lease: Lease, version: int | None = None, played: bool = False, final: dict | None = None
) -> Submitted:
    """Make the latest revision final, end the lease and with it the reviewer's access.

    `final`, when given ({text, segments, tags, base_version}), is saved as a revision first, in
    the same transaction, so the editor's last words and the submit are one request. `version`,
    when given, must be the latest: a reviewer never submits a version they have not seen. A clip
    with no saved revision cannot be submitted, nor (with REQUIRE_FULL_PLAYBACK) one the reviewer
    has not played to the end once (`played`, reported by the editor). The lease claimed ahead,
    if any, becomes current.
    """
    if settings.REQUIRE_FULL_PLAYBACK and not played:
        raise ValidationError({"played": "play the whole clip once before submitting"})
    if final is not None:
        check_segments(final["segments"], duration_ms=lease.clip.duration_ms)
    now = timezone.now()
    with transaction.atomic():
        locked, ahead = _locked_with_ahead(lease, now)
        latest = _add_revision(locked, now=now, **final) if final else latest_revision(locked.clip_id)
        if latest is None:
            raise ValidationError({"transcript": "save a transcript before submitting"})
        if version is not None and version != latest.version:
            raise TranscriptConflict(latest)
        # _close_lease's work, with the clip's final revision set in the same UPDATE.
        locked.end(outcome=LeaseOutcome.SUBMITTED, now=now)
        revoke_lease_access(locked)
        _finish_clip.run(clip_id=locked.clip_id, revision_id=latest.pk, submitted_at=now)
        if Tag.NOT_ADDRESSED in latest.tags:
            from annotations.privacy import false_wake_submitted  # privacy builds on these services' models

            false_wake_submitted(locked.clip, now)
        if ahead is not None:  # before the event below, so the trail's lock is held for less
            ahead.promote(now=now)
            grant_lease_access(ahead)
            ahead.clip  # noqa: B018  read now, for its event, rather than under the trail's lock
        detail = {
            "version": latest.version,
            "lease": locked.public_id.hex,
            "played": played,
            "false_wake": Tag.NOT_ADDRESSED in latest.tags,
        }
        trail.record(Action.CLIP_SUBMITTED, object_type="clip", object_id=locked.clip.public_id, detail=detail)
        if ahead is not None:
            _record_promotion(ahead)
        next_lease = ahead
    return Submitted(latest, next_lease)


@precompiled_update
def _finish_clip(clip_id: int, revision_id: int, submitted_at: datetime):
    """The submitted clip's final revision, and its status unless something else moved it first."""
    status = Case(When(status=ClipStatus.LEASED, then=Value(ClipStatus.SUBMITTED)), default=F("status"))
    changes = {"final_revision_id": revision_id, "submitted_at": submitted_at, "status": status}
    return Clip.objects.filter(pk=clip_id), changes


# --- Pools -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolMove:
    moved: list[uuid.UUID]
    unchanged: list[uuid.UUID]  # already in that pool
    withdrawn: list[uuid.UUID]  # their holder may not review the new pool: the lease ended now


def clips_move_to_pool(*, clip_ids: list[uuid.UUID], pool: ClipPool, by, reason: str) -> PoolMove:
    """Move clips into `pool` (say a restricted one), all or none, in one transaction.

    From the commit on, only people granted the new pool can claim them. A clip leased right now
    to someone who may not review the new pool is taken from them at once (lease withdrawn,
    grants gone, their editor told), and waits in the new pool; a holder who may review it keeps
    it. Purged clips and unknown ids refuse the whole batch, naming them. Each move is an event in
    the access trail with the pools and the reason (a fixed list: never free text).
    """
    if reason not in PoolMoveReason.values:
        raise ValidationError({"reason": f"must be one of {', '.join(PoolMoveReason.values)}"})
    now = timezone.now()
    moved, unchanged, withdrawn = [], [], []
    with transaction.atomic():
        clips = list(
            Clip.objects.select_for_update(of=("self",))
            .select_related("pool")
            .filter(public_id__in=clip_ids)
            .order_by("pk")
        )
        found = {clip.public_id for clip in clips}
        unknown = [str(clip_id) for clip_id in clip_ids if clip_id not in found]
        purged = [str(clip.public_id) for clip in clips if clip.status == ClipStatus.PURGED]
        if unknown or purged:
            raise ValidationError({"clips": [f"no such clip: {clip_id}" for clip_id in unknown + purged]})
        for clip in clips:
            if clip.pool_id == pool.pk:
                unchanged.append(clip.public_id)
                continue
            Clip.objects.filter(pk=clip.pk).update(pool=pool)
            taken = False
            open_leases = Lease.objects.select_for_update(of=("self",)).filter(clip=clip, ended_at__isnull=True)
            for lease in open_leases:
                if pool.pk not in queue.reviewable_pool_ids(lease.reviewer):
                    _close_lease(lease, outcome=LeaseOutcome.WITHDRAWN, now=now, clip_status=ClipStatus.QUEUED)
                    tell_reviewer_on_commit(
                        lease.reviewer_id, {"type": "lease.withdrawn", "clip": str(clip.public_id), "reason": "moved"}
                    )
                    taken = True
            detail = {"from": clip.pool.slug, "to": pool.slug, "reason": reason, "lease_withdrawn": taken}
            trail.record(Action.CLIP_MOVED, actor=by, object_type="clip", object_id=clip.public_id, detail=detail)
            moved.append(clip.public_id)
            if taken:
                withdrawn.append(clip.public_id)
    return PoolMove(moved=moved, unchanged=unchanged, withdrawn=withdrawn)
