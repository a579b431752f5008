"""Privacy of the people recorded: opt-outs and deletions that take effect at once, and retention.

Every function here skips clips on legal hold (escalations.holds) and reports them, and asks
again under the clip's row lock, so a case opened a moment earlier still holds the clip. A clip
that goes is not deleted as a row: it becomes a tombstone (public id, when, why) with its audio,
peaks, texts and identity gone, so leases, cases and the access trail keep pointing at something;
the free text of its cases (notes, break-glass justifications) goes with it, since it may name or
quote the person. Audio files are removed after the transaction commits; a clip whose file
removal failed keeps its audio_name and the next purge_expired run removes the file.

Each clip is its own transaction, so a long purge never holds locks on a backlog, and a crash
half-way leaves every clip either done or untouched.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from annotations import identity
from annotations.consumers import tell_reviewer_on_commit
from annotations.grants import revoke_every_grant, revoke_lease_access
from annotations.models import (
    Clip,
    ClipGroupObjectPermission,
    ClipStatus,
    Lease,
    LeaseOutcome,
    OptOut,
    PurgeReason,
    SourceIdentity,
    TranscriptRevision,
    audio_storage,
)
from escalations import holds
from escalations.models import Escalation, EscalationEvent, IdentityRequest
from reviewportal.audit import trail
from reviewportal.audit.models import Action

logger = logging.getLogger(__name__)


@dataclass
class Report:
    """What happened to an account's or a run's clips, by public id."""

    done: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    untouched: int = 0  # already gone, or (opt-out) already reviewed


def is_opted_out(account_id: str) -> bool:
    return OptOut.objects.filter(account_id_hash=identity.keyed_hash(account_id)).exists()


def _clips_of(account_id: str):
    hashed = identity.keyed_hash(account_id)
    return Clip.objects.filter(pk__in=SourceIdentity.objects.filter(account_id_hash=hashed).values("clip_id"))


def _withdraw_lease(clip: Clip, now: datetime, reason: str) -> None:
    """End the lease on this clip now, take its grants, and tell the reviewer's open page why."""
    lease = Lease.objects.select_for_update(no_key=True).filter(clip=clip, ended_at__isnull=True).first()
    if lease is None:
        return
    lease.end(outcome=LeaseOutcome.WITHDRAWN, reason="", now=now)
    revoke_lease_access(lease)
    tell_reviewer_on_commit(
        lease.reviewer_id, {"type": "lease.withdrawn", "clip": str(clip.public_id), "reason": reason}
    )


def _drop_audio(clip: Clip, now: datetime) -> None:
    """Forget the peaks now and the file after commit. Call inside the clip's transaction."""
    name = clip.audio_name
    Clip.objects.filter(pk=clip.pk).update(peaks=b"", audio_deleted_at=now)
    if name:
        transaction.on_commit(lambda: remove_audio_file(clip.pk, name))


def remove_audio_file(clip_id: int, name: str) -> None:
    try:
        audio_storage().delete(name)
    except OSError:
        logger.warning("could not remove the audio file of clip %s; the next purge retries", clip_id)
        return
    Clip.objects.filter(pk=clip_id, audio_name=name).update(audio_name="")


def _tombstone(clip: Clip, now: datetime, reason: str) -> None:
    """Everything of the clip goes but its public id, when and why. Call inside the clip's transaction,
    and only for a clip not on legal hold."""
    _drop_audio(clip, now)
    # The escalation team's view grant on an escalated clip: nothing is left to view.
    ClipGroupObjectPermission.objects.filter(content_object=clip).delete()
    _scrub_case_text(clip)
    Clip.objects.filter(pk=clip.pk).update(
        final_revision=None,
        asr_text="",
        distress_reason="",
        status=ClipStatus.PURGED,
        purged_at=now,
        purge_reason=reason,
    )
    TranscriptRevision.objects.filter(clip=clip).delete()
    SourceIdentity.objects.filter(clip=clip).delete()
    revoke_every_grant(clip)  # a tombstone is nobody's to open: no lease or team grant outlives it


def _scrub_case_text(clip: Clip) -> None:
    """Blank the free text of the clip's cases once its hold is over: the reporter's note, every
    event's note, every break-glass justification. Any of them may name or quote the person
    recorded. The case's structure stays (who did what, when, states, owners, dispositions), so
    the record of every decision outlives the recording.

    Cases and their events are otherwise never edited (their save() refuses); this queryset
    update is the one deliberate exception. Call inside the clip's transaction.
    """
    Escalation.objects.filter(clip=clip).exclude(note="").update(note="")
    EscalationEvent.objects.filter(escalation__clip=clip).exclude(note="").update(note="")
    IdentityRequest.objects.filter(escalation__clip=clip).exclude(justification="").update(justification="")


def _locked(clip_id: int) -> Clip:
    """Re-read the clip under its row lock. Call inside transaction.atomic."""
    return Clip.objects.select_for_update(no_key=True).get(pk=clip_id)


def _held(clip: Clip, now: datetime) -> bool:
    """Is the clip on legal hold? Asked with the clip's row locked, because opening a case locks
    the same row (escalation_open updates its status): a case opened after a batch's first look
    is seen here, and one opened later waits for this transaction."""
    return holds.is_on_hold(clip, now)


# --- Opt-outs --------------------------------------------------------------------------------


def account_opt_out(*, account_id: str, via: str) -> Report:
    """The person no longer wants human review: every clip of theirs not yet reviewed goes now.

    A clip being listened to right now is withdrawn mid-lease; each unreviewed clip becomes a
    tombstone (its audio, peaks, texts and identity go). So does an escalated clip whose legal
    hold is over: it was never reviewed, and nothing holds it any more. Reviewed clips stay until
    retention removes them; clips on legal hold stay and are listed. Later ingests for the
    account are dropped.
    """
    now = timezone.now()
    with transaction.atomic():
        OptOut.objects.get_or_create(account_id_hash=identity.keyed_hash(account_id), defaults={"via": via})
        trail.record(Action.OPT_OUT_RECORDED, object_type="account", detail={"via": via})
    report = Report()
    candidates = _clips_of(account_id).filter(status__in=[ClipStatus.QUEUED, ClipStatus.LEASED, ClipStatus.ESCALATED])
    report.untouched = _clips_of(account_id).count() - candidates.count()
    held_ids = set(holds.on_hold(candidates, now).values_list("pk", flat=True))
    for clip_id, public_id in candidates.values_list("pk", "public_id"):
        if clip_id in held_ids:
            report.held.append(str(public_id))
            continue
        with transaction.atomic():
            clip = _locked(clip_id)
            if clip.status not in (ClipStatus.QUEUED, ClipStatus.LEASED, ClipStatus.ESCALATED):
                report.untouched += 1
                continue
            if _held(clip, now):
                report.held.append(str(public_id))
                continue
            _withdraw_lease(clip, now, "opted_out")
            _tombstone(clip, now, PurgeReason.OPTED_OUT)
            trail.record(Action.CLIP_WITHDRAWN, object_type="clip", object_id=public_id, detail={"reason": "opted_out"})
        report.done.append(str(public_id))
    return report


# --- Deletion requests -----------------------------------------------------------------------


def account_delete(*, account_id: str, via: str) -> Report:
    """Remove everything of the account: audio, peaks, transcripts, identity; tombstones remain.

    Clips on legal hold are kept whole and listed. The account is also opted out, so nothing of
    theirs is ingested for review again. Access events already hold only ids.
    """
    now = timezone.now()
    with transaction.atomic():
        OptOut.objects.get_or_create(account_id_hash=identity.keyed_hash(account_id), defaults={"via": via})
        trail.record(Action.DELETION_REQUESTED, object_type="account", detail={"via": via})
    report = Report()
    clips = _clips_of(account_id)
    held_ids = set(holds.on_hold(clips, now).values_list("pk", flat=True))
    for clip_id, public_id in clips.values_list("pk", "public_id"):
        if clip_id in held_ids:
            report.held.append(str(public_id))
            continue
        with transaction.atomic():
            clip = _locked(clip_id)
            if clip.status == ClipStatus.PURGED:
                report.untouched += 1  # gone meanwhile (an opt-out, a purge): nothing left to remove
                continue
            if _held(clip, now):
                report.held.append(str(public_id))
                continue
            _withdraw_lease(clip, now, "deleted")
            _tombstone(clip, now, PurgeReason.DELETION_REQUEST)
            trail.record(
                Action.CLIP_PURGED, object_type="clip", object_id=public_id, detail={"reason": "deletion_request"}
            )
        report.done.append(str(public_id))
    return report


# --- Retention -------------------------------------------------------------------------------


@dataclass
class PurgeCounts:
    audio_deleted: int = 0
    transcripts_deleted: int = 0
    unreviewed_expired: int = 0
    hold_ended: int = 0  # escalated clips whose legal hold is over
    files_retried: int = 0
    held: int = 0


def purge_expired(*, now: datetime | None = None, batch: int = 500, progress=None) -> PurgeCounts:
    """Apply the retention settings once; never touches a clip on legal hold.

    - audio and peaks AUDIO_RETENTION_DAYS after submit;
    - transcripts and identity TRANSCRIPT_RETENTION_DAYS after submit (the clip becomes a tombstone);
    - clips never reviewed UNREVIEWED_RETENTION_DAYS after they arrived (withdrawn mid-lease if need be);
    - escalated clips once their legal hold is over (every case closed more than LEGAL_HOLD_DAYS
      ago): audio, peaks, ASR text, drafts, identity and the cases' free text go at once, since
      every retention period has long run out by then; the cases' structure stays;
    - audio files whose removal failed earlier.
    `progress(n)` is called after each clip, for a progress bar.
    """
    now = now or timezone.now()
    counts = PurgeCounts()
    audio_cutoff = now - timedelta(days=settings.AUDIO_RETENTION_DAYS)
    transcript_cutoff = now - timedelta(days=settings.TRANSCRIPT_RETENTION_DAYS)
    unreviewed_cutoff = now - timedelta(days=settings.UNREVIEWED_RETENTION_DAYS)

    def run(queryset, step) -> int:
        done = 0
        counts.held += holds.on_hold(queryset, now).count()
        while True:
            ids = list(holds.not_on_hold(queryset, now).values_list("pk", flat=True)[:batch])
            progressed = 0
            for clip_id in ids:
                with transaction.atomic():
                    clip = _locked(clip_id)
                    # A case opened since the batch was read: skipped here, and counted as held
                    # by the escalated clips' run, which sees it.
                    if not _held(clip, now) and step(clip):
                        progressed += 1
                if progress is not None:
                    progress(1)
            done += progressed
            if len(ids) < batch or not progressed:
                return done

    def old_audio(clip: Clip) -> bool:
        if clip.audio_deleted_at is not None:
            return False
        _drop_audio(clip, now)
        trail.record(Action.AUDIO_DELETED, object_type="clip", object_id=clip.public_id, detail={"reason": "retention"})
        return True

    def old_transcript(clip: Clip) -> bool:
        if clip.status == ClipStatus.PURGED:
            return False
        _tombstone(clip, now, PurgeReason.RETENTION)
        trail.record(Action.CLIP_PURGED, object_type="clip", object_id=clip.public_id, detail={"reason": "retention"})
        return True

    def never_reviewed(clip: Clip) -> bool:
        if clip.status not in (ClipStatus.QUEUED, ClipStatus.LEASED):
            return False
        _withdraw_lease(clip, now, "expired")
        _tombstone(clip, now, PurgeReason.UNREVIEWED)
        trail.record(Action.CLIP_PURGED, object_type="clip", object_id=clip.public_id, detail={"reason": "unreviewed"})
        return True

    def hold_over(clip: Clip) -> bool:
        if clip.status != ClipStatus.ESCALATED:
            return False
        _tombstone(clip, now, PurgeReason.RETENTION)
        trail.record(Action.CLIP_PURGED, object_type="clip", object_id=clip.public_id, detail={"reason": "hold_ended"})
        return True

    with trail.as_system():
        counts.audio_deleted = run(
            Clip.objects.filter(
                status=ClipStatus.SUBMITTED, submitted_at__lt=audio_cutoff, audio_deleted_at__isnull=True
            ),
            old_audio,
        )
        counts.transcripts_deleted = run(
            Clip.objects.filter(status=ClipStatus.SUBMITTED, submitted_at__lt=transcript_cutoff), old_transcript
        )
        counts.unreviewed_expired = run(
            Clip.objects.filter(status__in=[ClipStatus.QUEUED, ClipStatus.LEASED], received_at__lt=unreviewed_cutoff),
            never_reviewed,
        )
        counts.hold_ended = run(_escalated(), hold_over)
    leftover_files = Clip.objects.filter(~Q(audio_name=""), audio_deleted_at__isnull=False)
    for clip_id, name in leftover_files.values_list("pk", "audio_name").iterator():
        remove_audio_file(clip_id, name)
        counts.files_retried += 1
    return counts


def _escalated():
    """Escalated clips, found from the (small) case table rather than by scanning clip statuses."""
    return Clip.objects.filter(pk__in=Escalation.objects.values("clip_id"), status=ClipStatus.ESCALATED)


def pending_purge_count(now: datetime | None = None) -> int:
    """Roughly how many clips the next purge_expired run looks at (for a progress bar's total)."""
    now = now or timezone.now()
    return (
        Clip.objects.filter(
            status=ClipStatus.SUBMITTED,
            submitted_at__lt=now - timedelta(days=settings.AUDIO_RETENTION_DAYS),
            audio_deleted_at__isnull=True,
        ).count()
        + Clip.objects.filter(
            status=ClipStatus.SUBMITTED, submitted_at__lt=now - timedelta(days=settings.TRANSCRIPT_RETENTION_DAYS)
        ).count()
        + Clip.objects.filter(
            status__in=[ClipStatus.QUEUED, ClipStatus.LEASED],
            received_at__lt=now - timedelta(days=settings.UNREVIEWED_RETENTION_DAYS),
        ).count()
        + holds.not_on_hold(_escalated(), now).count()
    )


def false_wake_submitted(clip: Clip, now: datetime) -> None:
    """A clip submitted as not addressed to the assistant: nobody meant to be recorded, so its
    audio and peaks go at once. Call inside the submit's transaction."""
    _drop_audio(clip, now)
    trail.record(Action.AUDIO_DELETED, object_type="clip", object_id=clip.public_id, detail={"reason": "false_wake"})
