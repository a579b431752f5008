"""Reads that span cases and their latest events."""

from escalations import workflow
from escalations.models import Escalation
from escalations.notify import case_payload


def open_cases_for_dashboard() -> list[dict]:
    """Every case not yet closed, most severe and oldest first, as the dashboard shows them."""
    cases = (
        Escalation.objects.with_current()
        .filter(current_state__in=workflow.OPEN_STATES)
        .select_related("clip")
        .order_by("severity", "created_at")
    )
    return [case_payload(case, case.latest_event()) for case in cases]
