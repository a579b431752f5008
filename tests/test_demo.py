"""`make demo`'s data: every printed login works with both factors and has the role it says."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from annotations.models import Clip
from escalations.models import SupervisorDuty
from tests.totp import totp

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings, tmp_path, capsys):
    settings.VAR_DIR = tmp_path
    call_command("load_demo")
    return printed_logins(capsys.readouterr().out), tmp_path


def printed_logins(printed: str) -> dict[str, tuple[str, str]]:
    found = re.findall(r"^  (\w+)\s+password (\S+)\s+TOTP secret (\S+)", printed, re.M)
    return {name: (password, secret) for name, password, secret in found}


def sign_in(username: str, password: str, secret: str) -> Client:
    client = Client()
    assert client.post("/login/", {"username": username, "password": password}).status_code == 302
    response = client.post("/login/verify", {"code": totp(secret)})
    assert response.status_code == 302 and not response["Location"].startswith("/login"), username
    return client


def test_every_printed_login_signs_in_with_both_factors(demo):
    logins, var_dir = demo
    assert set(logins) == {"reviewer", "reviewer2", "supervisor", "lead", "auditor"}
    for username, (password, secret) in logins.items():
        sign_in(username, password, secret)
    assert (var_dir / "demo-logins.txt").stat().st_mode & 0o777 == 0o600


def test_the_demo_has_clips_to_review_a_supervisor_on_duty_and_a_lead(demo):
    logins, _ = demo
    assert Clip.objects.count() == 33  # 36 in the manifest, 3 opted out of human review
    reviewer = sign_in("reviewer", *logins["reviewer"])
    assert reviewer.post("/api/v1/queue/claim").status_code == 200

    users = get_user_model().objects
    roles = {name: set(users.get(username=name).groups.values_list("name", flat=True)) for name in logins}
    assert roles["reviewer"] == roles["reviewer2"] == {"reviewers"}
    assert roles["auditor"] == {"auditors"}
    assert {"supervisors", "escalation_team"} <= roles["supervisor"]
    assert SupervisorDuty.objects.get(supervisor=users.get(username="supervisor")).on_duty
    lead_roles = set(users.get(username="lead").groups.values_list("name", flat=True))
    assert lead_roles == {"supervisors", "escalation_team", "escalation_leads"}
    auditor = sign_in("auditor", *logins["auditor"])
    assert auditor.get("/admin/audit/accessevent/").status_code == 200


def test_loading_twice_keeps_the_logins_and_adds_nothing(demo, capsys):
    logins, _ = demo
    call_command("load_demo")
    assert printed_logins(capsys.readouterr().out) == logins
    assert Clip.objects.count() == 33  # 36 in the manifest, 3 opted out of human review
