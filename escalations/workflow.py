"""The rules of a case in one place: severities, deadlines, which transitions exist, who may take them.

Every move a case can make is in TRANSITIONS; anything else is refused with 409 by the API. The
moves in TWO_PERSON are in the table but no one person can make them alone: a referral outside the
company is proposed by one case handler and approved by a different one (services.referral_propose,
services.referral_approve). A disposition that names an outside referral (REFERRAL_DISPOSITIONS)
is only ever recorded through that path, never by a plain close.
"""

from datetime import timedelta

from django.conf import settings

from escalations.models import Category, Disposition, Severity, State

SEVERITY_OF = {
    Category.IMMINENT_DANGER: Severity.S1,
    Category.MEDICAL_EMERGENCY: Severity.S1,
    Category.CHILD_SAFETY: Severity.S2,
    Category.VIOLENCE_OR_ABUSE: Severity.S2,
    Category.SELF_HARM: Severity.S3,
    Category.OTHER_DISTRESS: Severity.S3,
}

# from state -> every state a case may move to from there.
TRANSITIONS: dict[str, set[str]] = {
    State.OPEN: {State.ACKNOWLEDGED},
    State.ACKNOWLEDGED: {State.UNDER_REVIEW},
    State.UNDER_REVIEW: {State.NO_ACTION, State.REFERRED},
    State.REFERRED: {State.CLOSED},
    State.NO_ACTION: {State.CLOSED},
    State.CLOSED: set(),
}
# Moves in TRANSITIONS that need two different people: one proposes, another approves.
TWO_PERSON: set[tuple[str, str]] = {(State.UNDER_REVIEW, State.REFERRED)}

# Dispositions that say the case went outside the company. Recorded only by an approved referral
# (two people); a referred case closes with the disposition that was approved, and no other.
REFERRAL_DISPOSITIONS = {
    Disposition.EMERGENCY_SERVICES_CONTACTED,
    Disposition.CHILD_PROTECTION_REFERRAL,
    Disposition.LAW_ENFORCEMENT_REFERRAL,
}
OPEN_STATES = {State.OPEN, State.ACKNOWLEDGED, State.UNDER_REVIEW, State.REFERRED, State.NO_ACTION}


def severity_for(category: str) -> int:
    return SEVERITY_OF[category]


def ack_window(severity: int) -> timedelta:
    """How long the owner has to acknowledge a case of this severity (settings, in seconds)."""
    return timedelta(seconds=settings.ESCALATION_ACK_SECONDS[severity])


def allowed(from_state: str, to_state: str) -> bool:
    """Whether the move exists at all (one person or two)."""
    return to_state in TRANSITIONS.get(from_state, set())


def needs_two_people(from_state: str, to_state: str) -> bool:
    return (from_state, to_state) in TWO_PERSON


def plain_moves(from_state: str) -> set[str]:
    """Where one case handler may move a case alone: the table minus the two-person moves."""
    return {to for to in TRANSITIONS.get(from_state, set()) if not needs_two_people(from_state, to)}


def closing_dispositions(approved_referral: str) -> list[str]:
    """The dispositions a case may close with, given the referral approved for it ("" if none).

    A referred case closes as what was approved. Any other case closes with a disposition that
    names no outside referral: recording one needs the two-person referral.
    """
    if approved_referral:
        return [approved_referral]
    return [value for value in Disposition.values if value not in REFERRAL_DISPOSITIONS]
