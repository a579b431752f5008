"""The case handlers' live dashboard: cases as they open, change and miss deadlines."""

from channels.db import database_sync_to_async

from escalations.access import may_handle_cases
from escalations.notify import CASE_HANDLERS_GROUP, owner_group
from reviewportal.accounts.websocket import VerifiedConsumer
from reviewportal.audit import trail
from reviewportal.audit.models import Action


class DashboardConsumer(VerifiedConsumer):
    """Everyone who may handle cases (the same check as the case pages and API) may connect.

    Each socket hears the broadcast to all case handlers, and its user's own group, where a case
    given to them (new, or re-assigned after a missed deadline) is addressed to them by name.
    """

    def permits(self, user) -> bool:
        return may_handle_cases(user)

    async def joined(self) -> None:
        self.groups_joined = [CASE_HANDLERS_GROUP, owner_group(self.user.pk)]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.send_json({"type": "hello", "cases": await self._open_cases()})

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def dashboard_event(self, message):
        await self.send_json(message["event"])

    async def receive_json(self, content, **kwargs):
        return  # one-way: steps are taken through the API, where they are checked and recorded

    @database_sync_to_async
    def _open_cases(self) -> list[dict]:
        """The open cases, recorded as listed (runs inside connect()'s audit context)."""
        from escalations.selectors import open_cases_for_dashboard

        cases = open_cases_for_dashboard()
        trail.record(
            Action.ESCALATIONS_LISTED, object_type="dashboard", object_id="websocket", detail={"cases": len(cases)}
        )
        return cases
