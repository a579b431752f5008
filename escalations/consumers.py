"""The supervisors' live dashboard: cases as they open, change and miss deadlines."""

from channels.db import database_sync_to_async

from escalations.notify import SUPERVISORS_GROUP
from reviewportal.accounts.roles import SUPERVISORS
from reviewportal.accounts.websocket import VerifiedConsumer
from reviewportal.audit import trail
from reviewportal.audit.models import Action


class DashboardConsumer(VerifiedConsumer):
    role = SUPERVISORS

    async def joined(self) -> None:
        await self.channel_layer.group_add(SUPERVISORS_GROUP, self.channel_name)
        await self.send_json({"type": "hello", "cases": await self._open_cases()})

    async def disconnect(self, code):
        await self.channel_layer.group_discard(SUPERVISORS_GROUP, self.channel_name)

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
