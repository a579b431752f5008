"""Issue 4: the websocket door records who connected and who was refused, with the audit context bound."""

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings

from reviewportal.accounts.websocket import CLOSE_NOT_VERIFIED, CLOSE_WRONG_ROLE
from reviewportal.asgi import application
from reviewportal.audit.models import AccessEvent, Action
from reviewportal.audit.trail import session_hash
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db(transaction=True)
USER_AGENT = (b"user-agent", b"pytest-socket/2.0")


def headers_for(client=None):
    headers = [(b"origin", b"http://localhost"), USER_AGENT]
    if client is not None:
        client.get("/")  # the session records when it started and was last seen
        cookie = f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"
        headers.append((b"cookie", cookie.encode()))
    return headers


def connect(path: str, headers) -> tuple[bool, int | None]:
    async def run():
        socket = WebsocketCommunicator(application, path, headers=headers)
        socket.scope["client"] = ["203.0.113.7", 51000]  # what the ASGI server puts there
        connected, code = await socket.connect()
        if connected:
            await socket.receive_json_from()
        await socket.disconnect()
        return connected, code

    return async_to_sync(run)()


def test_an_accepted_connection_is_recorded_with_who_and_from_where(reviewer):
    client = signed_in(reviewer)

    connected, _ = connect("/ws/reviewer/", headers_for(client))

    assert connected
    event = AccessEvent.objects.get(action=Action.WEBSOCKET_CONNECTED)
    assert (event.actor_user_id, event.actor_label, event.outcome) == (reviewer.pk, "rita", "allowed")
    assert (event.object_type, event.object_id) == ("websocket", "/ws/reviewer/")
    assert event.ip == "203.0.113.7" and event.user_agent == "pytest-socket/2.0"
    assert event.session_hash == session_hash(client.session.session_key)
    assert len(event.request_id) == 32


def test_a_password_only_session_is_refused_and_recorded(reviewer):
    connected, code = connect("/ws/reviewer/", headers_for(signed_in(reviewer, verified=False)))

    assert not connected and code == CLOSE_NOT_VERIFIED
    denial = AccessEvent.objects.get(action=Action.PERMISSION_DENIED, object_type="websocket")
    assert (denial.actor_label, denial.outcome, denial.object_id) == ("rita", "denied", "/ws/reviewer/")
    assert denial.detail == {"close_code": CLOSE_NOT_VERIFIED, "reason": "not signed in with both factors"}
    assert denial.user_agent == "pytest-socket/2.0" and denial.session_hash and denial.ip == "203.0.113.7"
    assert not AccessEvent.objects.filter(action=Action.WEBSOCKET_CONNECTED).exists()


def test_an_anonymous_connection_is_refused_and_recorded():
    connected, code = connect("/ws/reviewer/", headers_for())

    assert not connected and code == CLOSE_NOT_VERIFIED
    denial = AccessEvent.objects.get(action=Action.PERMISSION_DENIED, object_type="websocket")
    assert denial.actor_user_id is None and denial.detail["close_code"] == CLOSE_NOT_VERIFIED


def test_the_wrong_role_is_refused_and_recorded(auditor):
    connected, code = connect("/ws/reviewer/", headers_for(signed_in(auditor)))

    assert not connected and code == CLOSE_WRONG_ROLE
    denial = AccessEvent.objects.get(action=Action.PERMISSION_DENIED, object_type="websocket")
    assert denial.actor_user_id == auditor.pk and denial.detail == {
        "close_code": CLOSE_WRONG_ROLE,
        "reason": "not in reviewers",
    }
