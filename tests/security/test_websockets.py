"""Promise 1 on the websocket door: only a session signed in with both factors, in role, connects."""

import time

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings

from annotations.consumers import reviewer_events_group
from reviewportal.accounts.websocket import CLOSE_NOT_VERIFIED, CLOSE_WRONG_ROLE
from reviewportal.asgi import application
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db(transaction=True)


# The origin check reads ALLOWED_HOSTS when the ASGI app is built; localhost is in the default.
ORIGIN = (b"origin", b"http://localhost")


def _cookie_header(client) -> list[tuple[bytes, bytes]]:
    cookie = f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"
    return [(b"cookie", cookie.encode()), ORIGIN]


async def _connect(headers):
    communicator = WebsocketCommunicator(application, "/ws/reviewer/", headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


def connect(headers) -> tuple[bool, object, object]:
    """(connected, close code or None, first message or None)."""

    async def run():
        communicator, connected, code = await _connect(headers)
        message = await communicator.receive_json_from() if connected else None
        await communicator.disconnect()
        return connected, code, message

    return async_to_sync(run)()


def _touch(client):
    """One page request, so the session records when it started and was last seen."""
    client.get("/")


def test_a_verified_reviewer_connects(reviewer):
    client = signed_in(reviewer)
    _touch(client)

    connected, _, message = connect(_cookie_header(client))

    assert connected
    assert message == {"type": "hello"}


def test_a_password_only_session_is_refused(reviewer):
    client = signed_in(reviewer, verified=False)

    connected, code, _ = connect(_cookie_header(client))

    assert not connected and code == CLOSE_NOT_VERIFIED


def test_an_anonymous_connection_is_refused():
    connected, code, _ = connect([ORIGIN])
    assert not connected and code == CLOSE_NOT_VERIFIED


@pytest.mark.parametrize("persona", ["supervisor", "auditor"])
def test_the_wrong_role_is_refused(request, persona):
    client = signed_in(request.getfixturevalue(persona))
    _touch(client)

    connected, code, _ = connect(_cookie_header(client))

    assert not connected and code == CLOSE_WRONG_ROLE


def test_an_idle_session_is_refused(reviewer):
    client = signed_in(reviewer)
    _touch(client)
    session = client.session
    session["session_seen_at"] = time.time() - django_settings.SESSION_IDLE_SECONDS - 5
    session.save()

    connected, code, _ = connect(_cookie_header(client))

    assert not connected and code == CLOSE_NOT_VERIFIED


def test_another_sites_page_cannot_open_the_socket(reviewer):
    client = signed_in(reviewer)
    _touch(client)
    headers = [h for h in _cookie_header(client) if h[0] != b"origin"] + [(b"origin", b"https://evil.example")]

    connected, _, _ = connect(headers)

    assert not connected


def test_a_reviewer_receives_events_sent_to_them_and_only_them(reviewer, other_reviewer):
    client = signed_in(reviewer)
    _touch(client)

    async def run():
        communicator, connected, _ = await _connect(_cookie_header(client))
        assert connected
        await communicator.receive_json_from()  # hello
        layer = get_channel_layer()
        await layer.group_send(
            reviewer_events_group(other_reviewer.pk), {"type": "reviewer.event", "event": {"type": "not-yours"}}
        )
        await layer.group_send(
            reviewer_events_group(reviewer.pk), {"type": "reviewer.event", "event": {"type": "lease.ended"}}
        )
        event = await communicator.receive_json_from(timeout=2)
        await communicator.disconnect()
        return event

    assert async_to_sync(run)() == {"type": "lease.ended"}


def test_every_routed_websocket_consumer_derives_from_verified_consumer():
    """One check on every websocket door: a consumer added later without it fails here."""
    from django.urls import URLPattern, URLResolver

    from reviewportal.accounts.websocket import VerifiedConsumer
    from reviewportal.asgi import websocket_urlpatterns

    def consumers(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from consumers(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                yield str(pattern.pattern), getattr(pattern.callback, "consumer_class", None)

    routed = list(consumers(websocket_urlpatterns))
    assert len(routed) >= 2
    unguarded = [route for route, consumer in routed if not (consumer and issubclass(consumer, VerifiedConsumer))]
    assert unguarded == []
