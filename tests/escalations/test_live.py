"""Live: case handlers' dashboards hear about cases after the commit; reviewers hear about their own."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client

from escalations import services
from escalations.models import Escalation
from reviewportal.accounts.websocket import CLOSE_NOT_VERIFIED, CLOSE_WRONG_ROLE
from reviewportal.asgi import application
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://localhost")
DASHBOARD = "/ws/supervise/escalations/"


def headers_for(client):
    client.get("/")  # the session records when it started and was last seen
    cookie = f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"
    return [(b"cookie", cookie.encode()), ORIGIN]


def _flag(reviewer_client, clip_id, category="imminent_danger"):
    return reviewer_client.post(
        f"/api/v1/clips/{clip_id}/escalations", {"category": category, "start_ms": 0, "end_ms": 300}, format="json"
    )


def test_a_supervisor_sees_a_new_case_arrive_and_change_without_reloading(
    supervisor_on_duty, reviewer_client, make_clips
):
    make_clips(1)
    clip_id = reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"]
    headers = headers_for(signed_in(supervisor_on_duty))

    async def run():
        socket = WebsocketCommunicator(application, DASHBOARD, headers=headers)
        connected, _ = await socket.connect()
        assert connected
        hello = await socket.receive_json_from()
        response = await database_sync_to_async(_flag)(reviewer_client, clip_id)
        opened = await socket.receive_json_from(timeout=3)
        yours = await socket.receive_json_from(timeout=3)  # sana is the owner: told on her own group too
        case = await database_sync_to_async(Escalation.objects.get)()
        await database_sync_to_async(services.escalation_acknowledge)(case=case, by=supervisor_on_duty)
        acknowledged = await socket.receive_json_from(timeout=3)
        await socket.disconnect()
        return hello, response.status_code, opened, yours, acknowledged

    hello, status, opened, yours, acknowledged = async_to_sync(run)()

    assert hello == {"type": "hello", "cases": []}
    assert status == 201
    assert opened["type"] == "case" and opened["event"] == "opened" and opened["severity"] == 1
    assert opened["owner"] == "sana" and opened["deadline"] is not None
    assert (yours["type"], yours["reason"], yours["case"]) == ("assigned", "new_case", opened)
    assert acknowledged["state"] == "acknowledged" and acknowledged["deadline"] is None
    for secret in ("ACCT-TEST-0001", "Wilhelmina", "SER-TEST-7777"):
        assert secret not in str(opened) + str(yours)


def test_a_dashboard_opened_later_lists_the_open_cases(flagged, supervisor_on_duty):
    case, _, _ = flagged
    headers = headers_for(signed_in(supervisor_on_duty))

    async def run():
        socket = WebsocketCommunicator(application, DASHBOARD, headers=headers)
        await socket.connect()
        hello = await socket.receive_json_from()
        await socket.disconnect()
        return hello

    hello = async_to_sync(run)()
    assert [item["id"] for item in hello["cases"]] == [str(case.public_id)]


def test_a_lead_who_is_not_a_supervisor_gets_the_dashboard_and_a_missed_deadline_addressed_to_them(
    supervisor_on_duty, lead, reviewer_client, make_clips
):
    """Issue 6: leads handle cases (accounts.roles), so their dashboard connects; a case re-assigned
    to them after a missed deadline reaches every dashboard and, by name, theirs."""
    make_clips(1)
    clip_id = reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"]
    assert not lead.groups.filter(name="supervisors").exists()
    lead_headers = headers_for(signed_in(lead))
    supervisor_headers = headers_for(signed_in(supervisor_on_duty))

    async def run():
        lead_socket = WebsocketCommunicator(application, DASHBOARD, headers=lead_headers)
        supervisor_socket = WebsocketCommunicator(application, DASHBOARD, headers=supervisor_headers)
        connected, _ = await lead_socket.connect()
        assert connected
        await supervisor_socket.connect()
        for socket in (lead_socket, supervisor_socket):
            await socket.receive_json_from()  # hello
        await database_sync_to_async(_flag)(reviewer_client, clip_id)
        lead_heard_opened = await lead_socket.receive_json_from(timeout=3)
        lead_nothing_personal = await lead_socket.receive_nothing(timeout=0.3)  # sana owns it, not lena
        await supervisor_socket.receive_json_from(timeout=3)  # opened
        await supervisor_socket.receive_json_from(timeout=3)  # assigned to sana
        deadline = (await database_sync_to_async(lambda: services.current(Escalation.objects.get()))()).deadline
        moved = await database_sync_to_async(services.enforce_deadlines)(now=deadline + timedelta(seconds=1))
        lead_heard = [await lead_socket.receive_json_from(timeout=3) for _ in range(2)]
        supervisor_heard = await supervisor_socket.receive_json_from(timeout=3)
        supervisor_nothing_personal = await supervisor_socket.receive_nothing(timeout=0.3)
        await lead_socket.disconnect()
        await supervisor_socket.disconnect()
        return (
            lead_heard_opened,
            lead_nothing_personal,
            moved,
            lead_heard,
            supervisor_heard,
            supervisor_nothing_personal,
        )

    opened, quiet_before, moved, lead_heard, supervisor_heard, supervisor_quiet = async_to_sync(run)()

    assert opened["event"] == "opened" and opened["owner"] == "sana"
    assert quiet_before
    assert moved == 1
    broadcast, personal = sorted(lead_heard, key=lambda message: message["type"] == "assigned")
    assert (broadcast["type"], broadcast["event"], broadcast["owner"], broadcast["tier"]) == (
        "case",
        "assigned",
        "lena",
        2,
    )
    assert (personal["type"], personal["reason"], personal["case"]) == ("assigned", "deadline_missed", broadcast)
    assert supervisor_heard == broadcast and supervisor_quiet  # the broadcast, not the personal alert


@pytest.fixture
def team_member_only(django_user_model):
    """In escalation_team (audio of escalated clips) but neither supervisor nor lead."""
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user("tomas")
    user.groups.add(Group.objects.get_or_create(name="escalation_team")[0])
    return user


@pytest.mark.parametrize(
    ("persona", "handles"),
    [("supervisor", True), ("lead", True), ("team_member_only", False), ("reviewer", False), ("auditor", False)],
)
def test_the_dashboard_socket_and_the_case_pages_make_the_same_check(request, persona, handles):
    """Issue 6: one check decides both; a lead who is not a supervisor is no longer refused."""
    person = request.getfixturevalue(persona)
    client = signed_in(person)
    headers = headers_for(client)

    async def run():
        socket = WebsocketCommunicator(application, DASHBOARD, headers=headers)
        connected, close_code = await socket.connect()
        if connected:
            await socket.disconnect()
        return connected, close_code

    connected, close_code = async_to_sync(run)()
    assert connected is handles and (handles or close_code == CLOSE_WRONG_ROLE)
    assert (client.get("/api/v1/escalations").status_code == 200) is handles
    page = signed_in(person, Client).get("/supervise/escalations")
    assert (page.status_code == 200) is handles


@pytest.mark.parametrize(("persona", "code"), [("reviewer", CLOSE_WRONG_ROLE), ("auditor", CLOSE_WRONG_ROLE)])
def test_people_who_do_not_handle_cases_are_refused(request, persona, code):
    headers = headers_for(signed_in(request.getfixturevalue(persona)))

    async def run():
        return await WebsocketCommunicator(application, DASHBOARD, headers=headers).connect()

    connected, close_code = async_to_sync(run)()
    assert not connected and close_code == code


def test_an_unverified_supervisor_is_refused(supervisor):
    headers = headers_for(signed_in(supervisor, verified=False))

    async def run():
        return await WebsocketCommunicator(application, DASHBOARD, headers=headers).connect()

    connected, close_code = async_to_sync(run)()
    assert not connected and close_code == CLOSE_NOT_VERIFIED


def test_the_reviewer_who_flagged_hears_received_acknowledged_and_closed(
    reviewer, reviewer_client, make_clips, supervisor_on_duty
):
    make_clips(1)
    clip_id = reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"]
    headers = headers_for(reviewer_client)

    async def run():
        socket = WebsocketCommunicator(application, "/ws/reviewer/", headers=headers)
        await socket.connect()
        await socket.receive_json_from()  # hello
        await database_sync_to_async(_flag)(reviewer_client, clip_id, "self_harm")
        received = await socket.receive_json_from(timeout=3)
        case = await database_sync_to_async(Escalation.objects.get)()
        for step in ("acknowledged", "under_review", "no_action"):
            await database_sync_to_async(services.escalation_transition)(
                case=case, by=supervisor_on_duty, to_state=step
            )
        acknowledged = await socket.receive_json_from(timeout=3)
        await database_sync_to_async(services.escalation_transition)(
            case=case, by=supervisor_on_duty, to_state="closed", disposition="no_action_needed"
        )
        closed = await socket.receive_json_from(timeout=3)
        nothing_more = await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()
        return received, acknowledged, closed, nothing_more

    received, acknowledged, closed, nothing_more = async_to_sync(run)()
    assert [m["type"] for m in (received, acknowledged, closed)] == [
        "escalation.received",
        "escalation.acknowledged",
        "escalation.closed",
    ]
    assert set(closed) == {"type", "case"}
    assert nothing_more


def test_events_are_sent_only_after_the_transaction_commits(supervisor_on_duty, reviewer_client, make_clips):
    """A flag whose transaction rolls back tells nobody."""
    from django.db import transaction

    make_clips(1)
    clip_id = reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"]
    headers = headers_for(signed_in(supervisor_on_duty))

    def flag_then_roll_back():
        from annotations.models import Clip, Lease

        clip = Clip.objects.get(public_id=clip_id)
        try:
            with transaction.atomic():
                services.escalation_open(
                    clip=clip,
                    lease=Lease.objects.get(),
                    raised_by=Lease.objects.get().reviewer,
                    category="self_harm",
                    start_ms=0,
                    end_ms=10,
                )
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass

    async def run():
        socket = WebsocketCommunicator(application, DASHBOARD, headers=headers)
        await socket.connect()
        await socket.receive_json_from()
        await database_sync_to_async(flag_then_roll_back)()
        quiet = await socket.receive_nothing(timeout=0.5)
        await socket.disconnect()
        return quiet

    assert async_to_sync(run)()
