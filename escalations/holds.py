"""Legal hold: a clip with a case stays, audio and all, while the case is open and for
LEGAL_HOLD_DAYS after it closes. Purges and deletion requests ask here first."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from escalations.models import Escalation, EscalationEvent, State


def hold_condition(now=None) -> Exists:
    """For Clip querysets: the clip has a case that is open, or closed less than LEGAL_HOLD_DAYS ago."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.LEGAL_HOLD_DAYS)
    closed_before_cutoff = EscalationEvent.objects.filter(
        escalation=OuterRef("pk"), to_state=State.CLOSED, at__lt=cutoff
    )
    holding_cases = Escalation.objects.filter(clip=OuterRef("pk")).exclude(Exists(closed_before_cutoff))
    return Exists(holding_cases)


def on_hold(queryset: QuerySet, now=None) -> QuerySet:
    return queryset.filter(hold_condition(now))


def not_on_hold(queryset: QuerySet, now=None) -> QuerySet:
    return queryset.exclude(hold_condition(now))


def is_on_hold(clip, now=None) -> bool:
    return on_hold(type(clip).objects.filter(pk=clip.pk), now).exists()
