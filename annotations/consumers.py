"""A reviewer's live channel: the server tells an open clip page when its lease ends early.

Services send to the group `reviewer_events_group(user_id)` after their transaction commits;
the page shows why the clip went away (expired, withdrawn) instead of failing on the next save.
"""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from reviewportal.accounts.roles import REVIEWERS
from reviewportal.accounts.websocket import VerifiedConsumer


def reviewer_events_group(user_id: int) -> str:
    return f"reviewer.{user_id}"


def tell_reviewer_on_commit(reviewer_id: int, event: dict) -> None:
    """After the commit, tell the reviewer's open pages what changed (a lease of theirs ended, and why)."""

    def send() -> None:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(
                reviewer_events_group(reviewer_id), {"type": "reviewer.event", "event": event}
            )

    transaction.on_commit(send)


class ReviewerEventsConsumer(VerifiedConsumer):
    role = REVIEWERS

    async def joined(self) -> None:
        self.group = reviewer_events_group(self.user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json({"type": "hello"})

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def reviewer_event(self, message):
        """Relay an event a service sent to this reviewer's group."""
        await self.send_json(message["event"])

    async def receive_json(self, content, **kwargs):
        # The channel is one-way; anything a client sends is ignored rather than echoed.
        return
