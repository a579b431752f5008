from django.conf import settings
from django.db import models
from django.utils import timezone


class Action(models.TextChoices):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    OTP_VERIFIED = "otp_verified"
    OTP_FAILED = "otp_failed"
    OTP_ENROLLED = "otp_enrolled"
    BACKUP_CODES_ISSUED = "backup_codes_issued"
    LOCKOUT = "lockout"
    DEVICE_RESET = "device_reset"
    SESSION_EXPIRED = "session_expired"
    CLIP_INGESTED = "clip_ingested"
    CLIP_CLAIMED = "clip_claimed"
    CLIP_VIEWED = "clip_viewed"
    AUDIO_TOKEN_ISSUED = "audio_token_issued"  # noqa: S105  an action name, not a secret
    AUDIO_STREAMED = "audio_streamed"
    TRANSCRIPT_SAVED = "transcript_saved"
    CLIP_SUBMITTED = "clip_submitted"
    LEASE_RELEASED = "lease_released"
    LEASE_RENEWED = "lease_renewed"
    LEASE_EXPIRED = "lease_expired"
    PERMISSION_DENIED = "permission_denied"
    RATE_LIMITED = "rate_limited"
    SERVICE_TOKEN_ISSUED = "service_token_issued"  # noqa: S105  an action name, not a secret
    SERVICE_TOKEN_REVOKED = "service_token_revoked"  # noqa: S105  an action name, not a secret
    ADMIN_VIEWED = "admin_viewed"
    ADMIN_CHANGED = "admin_changed"  # an add, change, delete or permission change saved in the admin
    EXPORTED = "exported"
    ACTIVITY_VIEWED = "activity_viewed"
    WEBSOCKET_CONNECTED = "websocket_connected"
    # The trail's own upkeep: a purge anchors the chain's new start, a verification notes the head it saw.
    AUDIT_PURGED = "audit_purged"
    AUDIT_VERIFIED = "audit_verified"
    # Escalations (issue 6) and identities use these.
    ESCALATION_OPENED = "escalation_opened"
    ESCALATION_TRANSITION = "escalation_transition"
    ESCALATION_COMMENTED = "escalation_commented"
    ESCALATION_VIEWED = "escalation_viewed"
    ESCALATIONS_LISTED = "escalations_listed"  # the dashboard's list of open cases (page, API, websocket)
    IDENTITY_REQUESTED = "identity_requested"
    IDENTITY_APPROVED = "identity_approved"
    IDENTITY_REVEALED = "identity_revealed"
    DUTY_CHANGED = "duty_changed"
    # Privacy of the people recorded
    OPT_OUT_RECORDED = "opt_out_recorded"
    DELETION_REQUESTED = "deletion_requested"
    CLIP_WITHDRAWN = "clip_withdrawn"
    CLIP_PURGED = "clip_purged"
    AUDIO_DELETED = "audio_deleted"
    CLIP_DROPPED_OPTED_OUT = "clip_dropped_opted_out"
    # A supervisor moved a clip into another pool (say a restricted one).
    CLIP_MOVED = "clip_moved"


class Outcome(models.TextChoices):
    ALLOWED = "allowed"
    DENIED = "denied"


class AccessEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Access events are append-only: they are never updated")

    def delete(self):
        raise PermissionError("Access events are append-only: only the retention purge removes old ones")


class AccessEvent(models.Model):
    """One access, allowed or denied, in an HMAC chain: each row seals the previous row's hash.

    The trail is a few chains, one per lane (reviewportal.audit.lanes: each server process appends
    to its own); `sequence` numbers a row within its lane, and the id orders rows across lanes.
    Never holds audio, transcript text, secrets, or who was recorded: objects are named by their
    public ids and people by their user id and username. Rows are only ever added (the model and,
    on PostgreSQL, a trigger refuse UPDATE and DELETE); verify_audit_log walks every chain.
    """

    lane = models.PositiveSmallIntegerField(default=0, db_default=0, editable=False)
    sequence = models.BigIntegerField(editable=False, help_text="the row's place in its lane's chain")
    at = models.DateTimeField(default=timezone.now, editable=False)
    # No foreign keys in the database (db_constraint=False): docs/decisions.md. A user or token
    # that events name still cannot be deleted: PROTECT here, a trigger on PostgreSQL (audit.0009).
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    actor_token = models.ForeignKey(
        "integrations.ServiceToken",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    actor_label = models.CharField(max_length=150, blank=True, help_text="username or token name when it happened")
    action = models.CharField(max_length=40, choices=Action.choices)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.ALLOWED)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    session_hash = models.CharField(max_length=32, blank=True, help_text="SHA-256 of the session key, never the key")
    request_id = models.CharField(max_length=36, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    objects = AccessEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["lane", "sequence"], name="one_event_per_lane_place")]
        # Every admin filter and search has an index behind it, each ending in time so a
        # filtered list still comes out newest first from the index.
        indexes = [
            models.Index(fields=["at"], name="event_at"),
            models.Index(fields=["action", "at"], name="event_action_at"),
            models.Index(fields=["outcome", "at"], name="event_outcome_at"),
            models.Index(fields=["actor_user", "at"], name="event_actor_at"),
            models.Index(fields=["actor_token", "at"], name="event_token_at"),
            models.Index(fields=["actor_label", "at"], name="event_label_at"),
            models.Index(fields=["object_id", "at"], name="event_object_at"),
        ]
        permissions = [
            ("export_accessevent", "Can export access events as CSV"),
            ("view_activity", "Can see reviewers' activity charts"),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} in lane {self.lane}: {self.action} {self.outcome}"

    def save(self, *args, **kwargs):
        if self.pk is not None or not kwargs.get("force_insert", False):
            raise PermissionError("Access events are written only by reviewportal.audit.trail.record()")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Access events are append-only: only the retention purge removes old ones")


class ReviewerHour(models.Model):
    """Per reviewer and clock hour (UTC): clips heard (first streamed) and audio links streamed.

    Kept by the trail itself as it records those events, in the same transaction, so the activity
    page reads a small table instead of aggregating millions of events.
    """

    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    hour = models.DateTimeField()
    clips = models.PositiveIntegerField(default=0)
    streams = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["reviewer", "hour"], name="one_row_per_reviewer_hour")]
        indexes = [models.Index(fields=["hour"], name="reviewer_hour_at")]

    def __str__(self) -> str:
        return f"{self.reviewer_id} at {self.hour:%Y-%m-%d %H}h: {self.clips} clips, {self.streams} streams"
