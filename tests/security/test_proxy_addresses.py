"""Issue 3, django-axes behind nginx: the password lock is per username AND client address, and
the client address is the one the trusted proxy saw, never one the client wrote itself.

Regression: with no trusted-proxy setting, every request behind nginx came from nginx's address,
so five wrong passwords from anyone locked a reviewer out everywhere.
"""

import pytest
from django.test import Client

from reviewportal.audit.models import AccessEvent, Action
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NGINX = "127.0.0.1"  # what REMOTE_ADDR is behind a proxy on the same machine


def attempt(client: Client, forwarded_for: str | None, password: str = PASSWORD):
    extra = {"REMOTE_ADDR": NGINX}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client.post("/login/", {"username": "rita", "password": password}, **extra)


@pytest.fixture
def behind_one_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1


def test_behind_the_proxy_a_lockout_holds_for_that_client_address_only(reviewer, behind_one_proxy):
    for _ in range(5):
        attempt(Client(), "203.0.113.5", password="wrong")

    locked = attempt(Client(), "203.0.113.5")
    elsewhere = attempt(Client(), "198.51.100.7")

    assert locked.status_code == 429
    assert b"Too many wrong passwords" in locked.content
    assert elsewhere.status_code == 302  # the reviewer, from their own address, still signs in


def test_behind_the_proxy_only_the_address_the_proxy_appended_counts(reviewer, behind_one_proxy):
    """The attacker writes their own X-Forwarded-For; nginx appends the address it saw."""
    for forged in ("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"):
        attempt(Client(), f"{forged}, 203.0.113.5", password="wrong")

    assert attempt(Client(), "8.8.8.8, 203.0.113.5").status_code == 429
    assert attempt(Client(), "203.0.113.5, 198.51.100.7").status_code == 302


def test_without_the_proxy_setting_x_forwarded_for_is_ignored(reviewer, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    for n in range(5):
        attempt(Client(), f"203.0.113.{n}", password="wrong")  # a different forged address each time

    assert attempt(Client(), "198.51.100.7").status_code == 429  # all five came from REMOTE_ADDR


def test_the_access_trail_names_the_same_address_as_the_lock(reviewer, behind_one_proxy, settings):
    attempt(Client(), "6.6.6.6, 203.0.113.5", password="wrong")
    settings.TRUSTED_PROXY_COUNT = 0
    attempt(Client(), "203.0.113.9", password="wrong")

    addresses = list(
        AccessEvent.objects.filter(action=Action.LOGIN_FAILED).order_by("sequence").values_list("ip", flat=True)
    )
    assert addresses == ["203.0.113.5", NGINX]


@pytest.mark.parametrize("header", ["", "not-an-address", "   ,  "])
def test_a_missing_or_malformed_header_falls_back_to_the_connecting_address(reviewer, behind_one_proxy, header):
    attempt(Client(), header, password="wrong")

    assert AccessEvent.objects.get(action=Action.LOGIN_FAILED).ip == NGINX
