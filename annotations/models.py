import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import storages
from django.db import DatabaseError, models
from django.db.models import F, Q
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from annotations.identity import EncryptedTextField
from reviewportal.precompiled import precompiled_update


def audio_storage():
    """Where clip audio lives (STORAGES["audio"]). It has no URL: only annotations.audio serves it."""
    return storages["audio"]


class ClipStatus(models.TextChoices):
    QUEUED = "queued"
    LEASED = "leased"
    SUBMITTED = "submitted"
    ESCALATED = "escalated"
    PURGED = "purged"


class PurgeReason(models.TextChoices):
    OPTED_OUT = "opted_out", "the person opted out of human review"
    DELETION_REQUEST = "deletion_request", "the person asked for deletion"
    RETENTION = "retention", "kept as long as the retention settings allow"
    UNREVIEWED = "unreviewed", "never reviewed within the retention period"
    FALSE_WAKE = "false_wake", "not addressed to the assistant"


class AudioFormat(models.TextChoices):
    WAV = "WAV"
    FLAC = "FLAC"
    OGG = "OGG"
    MP3 = "MP3"


class ClipPool(models.Model):
    """A set of clips that some people may draw from, e.g. one locale, or a restricted pool.

    Who may review a pool is a guardian object permission (annotations.review_pool) given to
    groups or people in the admin. A pool nobody may review is simply never offered.
    """

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    is_restricted = models.BooleanField(
        default=False, help_text="sensitive clips: grant it only to people trained for them"
    )

    class Meta:
        permissions = [("review_pool", "Can review clips from this pool")]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def for_locale(cls, locale: str) -> "ClipPool":
        """The pool a new clip of this locale joins; made on first use, reviewable by nobody until granted."""
        pool, _ = cls.objects.get_or_create(slug=f"locale-{locale.lower()}", defaults={"name": f"{locale} clips"})
        return pool


class ClipQuerySet(models.QuerySet):
    def queued(self) -> "ClipQuerySet":
        """Claimable clips in queue order: highest priority first, then the longest waiting.

        Within one pool the order matches the partial index clip_queue_order, so taking a pool's
        head is an index scan however long the backlog is.
        """
        return self.filter(status=ClipStatus.QUEUED).order_by(F("priority").desc(), "received_at", "id")


class Clip(models.Model):
    """One recording to review. It carries nothing about who was recorded (see SourceIdentity)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    pool = models.ForeignKey(ClipPool, on_delete=models.PROTECT, related_name="clips")
    audio_name = models.CharField(max_length=200, help_text="the file's name in the audio storage")
    audio_format = models.CharField(max_length=8, choices=AudioFormat.choices)
    audio_codec = models.CharField(max_length=32, help_text="libsndfile subtype, e.g. OPUS or PCM_16")
    audio_bytes = models.PositiveBigIntegerField()
    duration_ms = models.PositiveIntegerField()
    sample_rate = models.PositiveIntegerField()
    channels = models.PositiveSmallIntegerField()
    peaks = models.BinaryField(help_text="int8 min/max pairs, interleaved, peaks_per_second pairs a second")
    peaks_per_second = models.PositiveSmallIntegerField()
    locale = models.CharField(max_length=35)
    asr_text = models.TextField(blank=True)
    priority = models.SmallIntegerField(default=0, help_text="higher is reviewed sooner")
    possible_distress = models.BooleanField(
        default=False, help_text="the ingest pre-screen heard distress in the ASR text: warn before playback"
    )
    distress_reason = models.CharField(max_length=200, blank=True, help_text="which phrase the pre-screen matched")
    status = models.CharField(max_length=16, choices=ClipStatus.choices, default=ClipStatus.QUEUED)
    recorded_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    audio_deleted_at = models.DateTimeField(
        null=True, blank=True, help_text="audio and peaks are gone (retention, false wake, opt-out, deletion)"
    )
    purged_at = models.DateTimeField(null=True, blank=True, help_text="the clip is a tombstone: public id, when, why")
    purge_reason = models.CharField(max_length=32, choices=PurgeReason.choices, blank=True)
    final_revision = models.OneToOneField(
        "TranscriptRevision", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = ClipQuerySet.as_manager()

    class Meta:
        permissions = [
            ("review_clips", "Can claim clips from the review queue"),
            ("transcribe_clip", "Can save and submit this clip's transcript"),
        ]
        indexes = [
            models.Index(
                "pool", F("priority").desc(), "received_at", "id", name="clip_queue_order", condition=Q(status="queued")
            ),
            # The transcript export's keyset and the retention purge's walk.
            models.Index(fields=["submitted_at", "id"], name="clip_submitted", condition=Q(status="submitted")),
            models.Index(fields=["received_at"], name="clip_waiting", condition=Q(status__in=["queued", "leased"])),
        ]

    def __str__(self) -> str:
        return f"clip {self.public_id}"

    def open_audio(self):
        return audio_storage().open(self.audio_name, "rb")

    @property
    def audio_content_type(self) -> str:
        return {"WAV": "audio/wav", "FLAC": "audio/flac", "OGG": "audio/ogg", "MP3": "audio/mpeg"}[self.audio_format]


class OptOut(models.Model):
    """An account whose recordings must never be reviewed. Only a keyed hash of the account id is kept."""

    account_id_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    via = models.CharField(max_length=32, help_text="api, command, deletion request")

    def __str__(self) -> str:
        return f"opt-out {self.account_id_hash[:12]}…"


class SourceIdentity(models.Model):
    """Who was recorded, kept apart from Clip and encrypted at rest.

    The reverse accessor is disabled (related_name="+") so no template or serializer can reach it
    from a clip by accident. Lookups go through the keyed hashes.
    """

    clip = models.OneToOneField(Clip, on_delete=models.CASCADE, related_name="+")
    source_id_hash = models.CharField(max_length=64, unique=True)
    account_id_hash = models.CharField(max_length=64, db_index=True)
    source_id = EncryptedTextField()
    account_id = EncryptedTextField()
    first_name = EncryptedTextField()
    device_serial = EncryptedTextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "source identities"

    def __str__(self) -> str:
        return f"identity of {self.clip_id}"


class IngestedSource(models.Model):
    """Every upstream recording ever ingested, by the keyed hash of its source_id; kept for good.

    A purge (retention, a false wake, a deletion request, an opt-out) removes the clip's content
    and who was recorded, SourceIdentity included. This row stays, so a manifest run again or an
    upstream that retries cannot bring a purged recording back. It names no person: without the
    hash key and the upstream's own id it says nothing.
    """

    source_id_hash = models.CharField(max_length=64, unique=True)
    ingested_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"source {self.source_id_hash[:12]}"


class LeaseOutcome(models.TextChoices):
    SUBMITTED = "submitted"
    RELEASED = "released"
    EXPIRED = "expired"
    ESCALATED = "escalated"
    WITHDRAWN = "withdrawn"  # the clip was taken away mid-lease: an opt-out, a deletion, a purge
    BREAK = "break"  # given back to the queue when the reviewer started a break; offered again later


class PoolMoveReason(models.TextChoices):
    """Why a supervisor moved clips into another pool: a fixed list, so the trail never carries free text."""

    SENSITIVE_CONTENT = "sensitive_content", "sensitive content: only people trained for it"
    WRONG_LOCALE = "wrong_locale", "the clip is in another language"
    WORKLOAD = "workload", "spreading work between teams"


class ReleaseReason(models.TextChoices):
    NO_SPEECH = "no_speech", "no speech to transcribe"
    WRONG_LANGUAGE = "wrong_language", "not a language I review"
    AUDIO_PROBLEM = "audio_problem", "audio does not play or is broken"
    NOT_COMFORTABLE = "not_comfortable", "I would rather not review this one"
    OTHER = "other", "other"


class LeaseQuerySet(models.QuerySet):
    def active(self, now=None) -> "LeaseQuerySet":
        return self.filter(ended_at__isnull=True, expires_at__gt=now or timezone.now())

    def overdue(self, now=None) -> "LeaseQuerySet":
        """Leases past their expiry that nobody has ended yet (served by lease_overdue)."""
        return self.filter(ended_at__isnull=True, expires_at__lte=now or timezone.now())


class Lease(models.Model):
    """A reviewer's time-limited hold on one clip. Access to the clip lasts exactly as long.

    A reviewer holds at most two open leases: the clip they are working on, and one claimed ahead
    (`is_next`) so the editor can show it the moment they submit. A lease claimed ahead lets its
    holder view the clip (to prefetch it) but not change its transcript; it shares the current
    lease's expiry, and becomes current, with a fresh lease period, when the current one ends by
    submit or skip (annotations.services).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="leases")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="leases")
    started_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=LeaseOutcome.choices, blank=True)
    release_reason = models.CharField(max_length=32, choices=ReleaseReason.choices, blank=True)
    is_next = models.BooleanField(
        default=False, help_text="claimed ahead while the reviewer works on their current clip"
    )

    objects = LeaseQuerySet.as_manager()

    class Meta:
        constraints = [
            # The database itself refuses a second open lease on a clip, and more than one current
            # and one claimed-ahead lease for a reviewer.
            models.UniqueConstraint(
                fields=["clip"], condition=Q(ended_at__isnull=True), name="one_open_lease_per_clip"
            ),
            models.UniqueConstraint(
                fields=["reviewer", "is_next"],
                condition=Q(ended_at__isnull=True),
                name="one_current_and_one_next_lease_per_reviewer",
            ),
        ]
        indexes = [
            models.Index(fields=["expires_at"], name="lease_overdue", condition=Q(ended_at__isnull=True)),
            models.Index(fields=["reviewer", "clip"], name="lease_reviewer_clip"),
        ]

    def __str__(self) -> str:
        return f"lease {self.public_id}"

    def is_active(self, now=None) -> bool:
        return self.ended_at is None and self.expires_at > (now or timezone.now())

    def end(self, *, outcome: str, reason: str = "", now=None) -> None:
        """Close the lease. Access to the clip ends with it; callers put the clip where it goes next."""
        self.ended_at = now or timezone.now()
        self.outcome = outcome
        self.release_reason = reason
        # What save(update_fields=[…]) would send, built once per thread: every submit ends a lease.
        if not _end_lease.run(lease_id=self.pk, ended_at=self.ended_at, outcome=outcome, reason=reason):
            raise DatabaseError(f"{self} was not there to end")

    def renew(self, *, now=None) -> None:
        """Push the expiry out by one lease period from now, for a reviewer still working."""
        self.expires_at = (now or timezone.now()) + timedelta(seconds=settings.LEASE_SECONDS)
        self.save(update_fields=["expires_at"])

    def promote(self, *, now=None) -> None:
        """Make a lease claimed ahead the current one, with a whole lease period: the reviewer starts on it now."""
        self.is_next = False
        self.expires_at = (now or timezone.now()) + timedelta(seconds=settings.LEASE_SECONDS)
        self.save(update_fields=["is_next", "expires_at"])


@precompiled_update
def _end_lease(lease_id: int, ended_at: datetime, outcome: str, reason: str):
    return Lease.objects.filter(pk=lease_id), {"ended_at": ended_at, "outcome": outcome, "release_reason": reason}


class TranscriptRevision(models.Model):
    """One save of a clip's transcript. Rows are only ever added: a save never overwrites another."""

    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    lease = models.ForeignKey(Lease, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField(blank=True)
    segments = models.JSONField(default=list, help_text="[{start_ms, end_ms, text, speaker, tags}] in time order")
    tags = models.JSONField(default=list, help_text="tags for the whole clip")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clip", "version"], name="one_revision_per_version")]

    def __str__(self) -> str:
        return f"revision {self.version} of clip {self.clip_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Transcript revisions are never changed; save a new revision instead")
        super().save(*args, **kwargs)


# Guardian object permissions in direct foreign-key tables: a grant row points at its clip, so
# the tables hold only live grants (a lease's two rows go when the lease ends) and are joined by
# an indexed key instead of a content-type/text pair.


class ClipUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Clip, on_delete=models.CASCADE)


class ClipGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Clip, on_delete=models.CASCADE)


class ClipPoolUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(ClipPool, on_delete=models.CASCADE)


class ClipPoolGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(ClipPool, on_delete=models.CASCADE)


@precompiled_update
def move_clip(clip_id: int, from_status: str, to_status: str):
    """Move a clip on, only from the status the caller saw (0 rows if someone moved it first).

    Every claim and every lease's end moves a clip: built once per thread (reviewportal.precompiled).
    """
    return Clip.objects.filter(pk=clip_id, status=from_status), {"status": to_status}
