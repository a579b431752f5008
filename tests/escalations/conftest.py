import pytest
from django.contrib.auth.models import Group

from escalations import services
from escalations.models import Escalation
from tests.conftest import signed_in


def _join(user, *roles):
    for role in roles:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@pytest.fixture
def supervisor_on_duty(supervisor):
    _join(supervisor, "escalation_team")
    services.duty_set(supervisor=supervisor, on_duty=True)
    return supervisor


@pytest.fixture
def second_supervisor(django_user_model):
    return _join(django_user_model.objects.create_user("sven"), "supervisors", "escalation_team")


@pytest.fixture
def lead(django_user_model):
    return _join(django_user_model.objects.create_user("lena"), "escalation_leads", "escalation_team")


@pytest.fixture
def flagged(reviewer_client, make_clips, supervisor_on_duty):
    """The reviewer flagged the clip they held as child safety; returns (case, clip id, response)."""
    make_clips(2)
    clip_id = reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"]
    response = reviewer_client.post(
        f"/api/v1/clips/{clip_id}/escalations",
        {"category": "child_safety", "start_ms": 200, "end_ms": 1500, "note": "a child crying for help"},
        format="json",
    )
    assert response.status_code == 201, response.content
    return Escalation.objects.get(), clip_id, response


@pytest.fixture
def supervisor_client(supervisor_on_duty):
    return signed_in(supervisor_on_duty)


@pytest.fixture
def second_supervisor_client(second_supervisor):
    return signed_in(second_supervisor)
