"""Issue 4: management commands that touch people or the trail record events naming the command and its runner."""

import getpass
import io

import pytest
from django.core.management import call_command

from reviewportal.audit import trail
from reviewportal.audit.models import AccessEvent, Action
from tests.conftest import enrol_totp

pytestmark = pytest.mark.django_db
COMMAND_BY = f"by {getpass.getuser()}"


def test_reset_second_factor_records_the_reset_in_the_name_of_the_command_and_its_runner(reviewer):
    enrol_totp(reviewer)

    call_command("reset_second_factor", "rita", stdout=io.StringIO())

    reset = AccessEvent.objects.get(action=Action.DEVICE_RESET)
    assert reset.actor_user_id is None and reset.actor_label == f"manage.py reset_second_factor {COMMAND_BY}"
    assert (reset.object_type, reset.object_id) == ("user", str(reviewer.pk))


def test_purge_and_verify_record_themselves_in_the_name_of_their_runner():
    call_command("purge_audit_log", stdout=io.StringIO())
    call_command("verify_audit_log", stdout=io.StringIO(), stderr=io.StringIO())

    purged = AccessEvent.objects.get(action=Action.AUDIT_PURGED)
    verified = AccessEvent.objects.get(action=Action.AUDIT_VERIFIED)
    assert purged.actor_label == f"manage.py purge_audit_log {COMMAND_BY}"
    assert purged.detail["removed"] == 0 and purged.detail["lanes"] == {}
    assert verified.actor_label == f"manage.py verify_audit_log {COMMAND_BY}"
    assert verified.detail["checked"] == 1 and verified.detail["intact"] is True


def test_a_command_run_inside_a_request_context_still_names_the_command(reviewer):
    """The command's label wins over whoever an enclosing context names."""
    enrol_totp(reviewer)
    with trail.context(user=reviewer, label="someone"):
        call_command("reset_second_factor", "rita", stdout=io.StringIO())
    assert AccessEvent.objects.get(action=Action.DEVICE_RESET).actor_label.startswith("manage.py reset_second_factor")
