"""Distress cases. The case row holds what was reported; everything that happens after is an event.

An Escalation is never edited in place: its state, owner, deadline and disposition are those of
its latest EscalationEvent. Events are only ever added.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Subquery
from django.utils import timezone


class Category(models.TextChoices):
    IMMINENT_DANGER = "imminent_danger", "imminent danger"
    MEDICAL_EMERGENCY = "medical_emergency", "medical emergency"
    CHILD_SAFETY = "child_safety", "child safety"
    VIOLENCE_OR_ABUSE = "violence_or_abuse", "violence or abuse"
    SELF_HARM = "self_harm", "self-harm"
    OTHER_DISTRESS = "other_distress", "other distress"


class Severity(models.IntegerChoices):
    S1 = 1, "S1"
    S2 = 2, "S2"
    S3 = 3, "S3"


class State(models.TextChoices):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    UNDER_REVIEW = "under_review"
    REFERRED = "referred"
    NO_ACTION = "no_action"
    CLOSED = "closed"


class Disposition(models.TextChoices):
    FALSE_POSITIVE = "false_positive", "false positive"
    NO_ACTION_NEEDED = "no_action_needed", "no action needed"
    EMERGENCY_SERVICES_CONTACTED = "emergency_services_contacted", "emergency services contacted"
    CHILD_PROTECTION_REFERRAL = "child_protection_referral", "child protection referral"
    LAW_ENFORCEMENT_REFERRAL = "law_enforcement_referral", "law enforcement referral"
    LEGAL_REVIEW = "legal_review", "legal review"


class EventKind(models.TextChoices):
    OPENED = "opened"
    ASSIGNED = "assigned"  # a new owner, by deadline escalation or hand-over
    TRANSITION = "transition"
    COMMENT = "comment"
    REFERRAL_PROPOSED = "referral_proposed"
    REFERRAL_APPROVED = "referral_approved"


class EscalationQuerySet(models.QuerySet):
    def with_current(self) -> "EscalationQuerySet":
        """Annotate state, owner, deadline and disposition from each case's latest event."""
        latest = EscalationEvent.objects.filter(escalation=OuterRef("pk")).order_by("-id")
        return self.annotate(
            current_state=Subquery(latest.values("to_state")[:1]),
            current_owner_id=Subquery(latest.values("owner_id")[:1]),
            current_deadline=Subquery(latest.values("deadline")[:1]),
            current_disposition=Subquery(latest.values("disposition")[:1]),
        )


class Escalation(models.Model):
    """What a reviewer reported: which clip, which stretch of it, how serious, when."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clip = models.ForeignKey("annotations.Clip", on_delete=models.PROTECT, related_name="escalations")
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    category = models.CharField(max_length=32, choices=Category.choices)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    start_ms = models.PositiveIntegerField()
    end_ms = models.PositiveIntegerField()
    note = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)

    objects = EscalationQuerySet.as_manager()

    class Meta:
        ordering = ["severity", "created_at"]
        permissions = [("handle_escalation", "Can acknowledge, review, refer and close cases")]

    def __str__(self) -> str:
        return f"case {self.public_id} ({self.get_severity_display()} {self.category})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("A case is never edited in place; add an EscalationEvent instead")
        super().save(*args, **kwargs)

    def latest_event(self) -> "EscalationEvent":
        return self.events.order_by("-id").first()


class EscalationEvent(models.Model):
    """One thing that happened to a case; the latest one says where the case stands."""

    escalation = models.ForeignKey(Escalation, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )  # None: the system (a missed deadline)
    kind = models.CharField(max_length=24, choices=EventKind.choices)
    from_state = models.CharField(max_length=16, choices=State.choices, blank=True)
    to_state = models.CharField(max_length=16, choices=State.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    tier = models.PositiveSmallIntegerField(default=1, help_text="1: supervisors on duty; 2 and up: escalation leads")
    deadline = models.DateTimeField(null=True, blank=True, help_text="acknowledge by; none once acknowledged")
    disposition = models.CharField(max_length=32, choices=Disposition.choices, blank=True)
    note = models.TextField(blank=True, max_length=4000)

    class Meta:
        indexes = [
            models.Index(fields=["escalation", "-id"], name="escalation_latest_event"),
            models.Index(fields=["deadline"], name="escalation_event_deadline"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.from_state}->{self.to_state} on {self.escalation_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Case events are only ever added")
        super().save(*args, **kwargs)


class IdentityRequest(models.Model):
    """Break-glass: a supervisor asks to see who was recorded; another supervisor must approve.

    Once approved, the requester alone may see the identity, for IDENTITY_REVEAL_SECONDS.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    escalation = models.ForeignKey(Escalation, on_delete=models.PROTECT, related_name="identity_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    justification = models.TextField(max_length=2000)
    requested_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    reveal_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"identity request {self.public_id}"

    def approve(self, *, by, now) -> None:
        """Record the second supervisor's approval and open the reveal window. Call with the row locked."""
        self.approved_by = by
        self.approved_at = now
        self.reveal_until = now + timedelta(seconds=settings.IDENTITY_REVEAL_SECONDS)
        self.save(update_fields=["approved_by", "approved_at", "reveal_until"])


class SupervisorDuty(models.Model):
    """Whether a supervisor is on duty now; new cases go to someone who is."""

    supervisor = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="duty")
    on_duty = models.BooleanField(default=False)
    changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.supervisor_id} {'on' if self.on_duty else 'off'} duty"


class ReviewerWellbeing(models.Model):
    """A reviewer's own choices and pauses around distressing clips. Supervisors see counts only."""

    reviewer = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wellbeing")
    avoid_possible_distress = models.BooleanField(default=False)
    paused_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"wellbeing of {self.reviewer_id}"

    def is_paused(self, now=None) -> bool:
        return self.paused_until is not None and self.paused_until > (now or timezone.now())
