"""The rules of a case in one place: severities, deadlines, and which transitions are allowed.

Anything not in TRANSITIONS is refused with 409 by the API. A referral outside the company is not
a plain transition: one supervisor proposes it, a different one approves it (services.py).
"""

from datetime import timedelta

from django.conf import settings

from escalations.models import Category, Severity, State

SEVERITY_OF = {
    Category.IMMINENT_DANGER: Severity.S1,
    Category.MEDICAL_EMERGENCY: Severity.S1,
    Category.CHILD_SAFETY: Severity.S2,
    Category.VIOLENCE_OR_ABUSE: Severity.S2,
    Category.SELF_HARM: Severity.S3,
    Category.OTHER_DISTRESS: Severity.S3,
}

# from state -> states a supervisor may move a case to by a plain transition.
TRANSITIONS: dict[str, set[str]] = {
    State.OPEN: {State.ACKNOWLEDGED},
    State.ACKNOWLEDGED: {State.UNDER_REVIEW},
    State.UNDER_REVIEW: {State.NO_ACTION},  # REFERRED only through propose + approve by two people
    State.REFERRED: {State.CLOSED},
    State.NO_ACTION: {State.CLOSED},
    State.CLOSED: set(),
}
OPEN_STATES = {State.OPEN, State.ACKNOWLEDGED, State.UNDER_REVIEW, State.REFERRED, State.NO_ACTION}


def severity_for(category: str) -> int:
    return SEVERITY_OF[category]


def ack_window(severity: int) -> timedelta:
    """How long the owner has to acknowledge a case of this severity (settings, in seconds)."""
    return timedelta(seconds=settings.ESCALATION_ACK_SECONDS[severity])


def allowed(from_state: str, to_state: str) -> bool:
    return to_state in TRANSITIONS.get(from_state, set())
