"""Issue 4: the supervisors' live dashboard records the case list it sends, in the socket's context."""

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings

from reviewportal.asgi import application
from reviewportal.audit.models import AccessEvent, Action
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_dashboards_case_list_is_recorded_for_the_supervisor_who_opened_it(flagged, supervisor_on_duty):
    client = signed_in(supervisor_on_duty)
    client.get("/")
    cookie = f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"
    headers = [(b"cookie", cookie.encode()), (b"origin", b"http://localhost"), (b"user-agent", b"dashboard/1.0")]

    async def run():
        socket = WebsocketCommunicator(application, "/ws/supervise/escalations/", headers=headers)
        socket.scope["client"] = ["198.51.100.4", 51000]
        await socket.connect()
        hello = await socket.receive_json_from()
        await socket.disconnect()
        return hello

    hello = async_to_sync(run)()

    listed = AccessEvent.objects.get(action=Action.ESCALATIONS_LISTED)
    assert len(hello["cases"]) == 1
    assert (listed.actor_user_id, listed.object_type, listed.object_id) == (
        supervisor_on_duty.pk,
        "dashboard",
        "websocket",
    )
    assert listed.detail == {"cases": 1} and listed.user_agent == "dashboard/1.0" and listed.ip == "198.51.100.4"
    connected = AccessEvent.objects.get(action=Action.WEBSOCKET_CONNECTED)
    assert connected.request_id == listed.request_id  # one connection, one context
