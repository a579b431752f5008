"""Live messages about cases, sent only after the transaction that caused them commits.

Every case handler's dashboard listens on CASE_HANDLERS_GROUP (the broadcast: every case as it
opens, changes and misses deadlines) and on its own `owner_group(user_id)`, where the person a
case was just given to (a new case, or a re-assignment after a missed deadline) hears that it is
theirs now. The reviewer who flagged hears about their own case (received, acknowledged, closed)
on their reviewer group, and nothing more about it.
"""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from annotations.consumers import tell_reviewer_on_commit
from escalations.models import EventKind

CASE_HANDLERS_GROUP = "escalations.handlers"
# Event kinds that give a case to someone: they are told on their own group too.
ASSIGNING = {EventKind.OPENED: "new_case", EventKind.ASSIGNED: "deadline_missed"}


def owner_group(user_id: int) -> str:
    """The channel group of one case handler's dashboards (every tab they have open)."""
    return f"escalations.owner.{user_id}"


def _send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, message)


def case_payload(case, event) -> dict:
    """What a dashboard shows of a case: no audio, no transcript, no identity."""
    owner = event.owner
    return {
        "type": "case",
        "id": str(case.public_id),
        "clip": str(case.clip.public_id),
        "category": case.category,
        "severity": case.severity,
        "state": event.to_state,
        "owner": owner.get_username() if owner else None,
        "tier": event.tier,
        "deadline": event.deadline.isoformat() if event.deadline else None,
        "event": event.kind,
        "at": event.at.isoformat(),
        "opened_at": case.created_at.isoformat(),
    }


def case_changed_on_commit(case, event) -> None:
    """Tell every dashboard; and when the event gives the case to someone, tell them it is theirs."""
    payload = case_payload(case, event)
    sends = [(CASE_HANDLERS_GROUP, payload)]
    if event.kind in ASSIGNING and event.owner_id is not None:
        yours = {"type": "assigned", "reason": ASSIGNING[event.kind], "case": payload}
        sends.append((owner_group(event.owner_id), yours))

    def send_all() -> None:
        for group, message in sends:
            _send(group, {"type": "dashboard.event", "event": message})

    transaction.on_commit(send_all)


def identity_requested_on_commit(case, request) -> None:
    payload = {"type": "identity_request", "id": str(request.public_id), "case": str(case.public_id)}
    transaction.on_commit(lambda: _send(CASE_HANDLERS_GROUP, {"type": "dashboard.event", "event": payload}))


def duty_changed_on_commit(supervisor, on_duty: bool) -> None:
    payload = {"type": "duty", "supervisor": supervisor.get_username(), "on_duty": on_duty}
    transaction.on_commit(lambda: _send(CASE_HANDLERS_GROUP, {"type": "dashboard.event", "event": payload}))


def reviewer_on_commit(reviewer_id: int, case, status: str) -> None:
    """Tell the reviewer who flagged that their case was received, acknowledged or closed."""
    tell_reviewer_on_commit(reviewer_id, {"type": f"escalation.{status}", "case": str(case.public_id)})
