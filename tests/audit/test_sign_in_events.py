"""Issue 4: a second factor locked after too many wrong codes is recorded."""

import pytest
from django.test import Client

from reviewportal.audit.models import AccessEvent, Action
from tests.conftest import PASSWORD, enrol_totp

pytestmark = pytest.mark.django_db


def test_a_second_factor_lockout_is_recorded(reviewer, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    settings.OTP_MAX_FAILURES = 3
    enrol_totp(reviewer)
    client = Client()
    client.post("/login/", {"username": "rita", "password": PASSWORD})

    for n in range(3):
        client.post("/login/verify", {"code": f"{n:06d}"})

    lockout = AccessEvent.objects.get(action=Action.LOCKOUT)
    assert (lockout.actor_user_id, lockout.outcome, lockout.detail) == (reviewer.pk, "denied", {"factor": "second"})
    assert AccessEvent.objects.filter(action=Action.OTP_FAILED).count() == 3
