"""Issue 4: the trail cannot be switched off outside DEBUG: manage.py refuses (audit.E001)."""

import pytest
from django.core import checks
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_switching_the_trail_off_is_an_error_with_debug_off(settings):
    settings.AUDIT_ENABLED, settings.DEBUG = False, False
    found = [message for message in checks.run_checks() if message.id.startswith("audit.")]
    assert [(message.id, message.level) for message in found] == [("audit.E001", checks.ERROR)]


def test_switching_the_trail_off_is_only_a_warning_with_debug_on(settings):
    settings.AUDIT_ENABLED, settings.DEBUG = False, True
    found = [message for message in checks.run_checks() if message.id.startswith("audit.")]
    assert [(message.id, message.level) for message in found] == [("audit.W001", checks.WARNING)]


def test_manage_py_refuses_to_run_with_the_trail_off_and_debug_off(settings):
    from django.core.management.base import SystemCheckError

    settings.AUDIT_ENABLED, settings.DEBUG = False, False
    with pytest.raises(SystemCheckError, match=r"audit\.E001"):
        call_command("check")


def test_the_trail_on_passes_the_check(settings):
    settings.AUDIT_ENABLED, settings.DEBUG = True, False
    assert not [message for message in checks.run_checks() if message.id.startswith("audit.")]
