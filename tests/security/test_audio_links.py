"""Issue 3, section 5: audio-link replay. A link is bound to user, session and lease and dies
within minutes; each replay is refused, with a real session and a real signed link every time.

(tests/annotations/test_audio.py covers the same door for ranges and headers; these are the
replay cases the issue lists, kept with the other promise-breaking tests.)
"""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from annotations.models import Lease
from reviewportal.audit.models import AccessEvent, Action
from tests.conftest import PASSWORD, enrol_totp, signed_in
from tests.security.test_second_factor import password_step
from tests.totp import totp

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(reviewer, make_clips):
    """The reviewer's browser, signed in through the real pages, and the audio path it was given."""
    from reviewportal.accounts.mfa import totp_secret

    make_clips(1)
    secret = totp_secret(enrol_totp(reviewer))
    browser = Client()
    password_step(browser, reviewer.username, PASSWORD)
    assert browser.post("/login/verify", {"code": totp(secret)}).status_code == 302
    body = browser.post("/api/v1/queue/claim", content_type="application/json").json()
    path = urlsplit(body["clip"]["audio_url"]).path
    assert browser.get(path, HTTP_RANGE="bytes=0-9").status_code == 206
    return browser, path


def test_a_link_replayed_from_another_session_of_the_same_person_is_refused(reviewer, link):
    _, path = link
    second_session = signed_in(reviewer, Client)

    response = second_session.get(path, HTTP_RANGE="bytes=0-9")

    assert response.status_code == 403
    assert response.content == b"This audio link belongs to another session"
    assert AccessEvent.objects.filter(action=Action.PERMISSION_DENIED, object_type="audio").exists()


def test_a_link_replayed_after_it_expired_is_refused_even_while_the_lease_lasts(link, settings, monkeypatch):
    browser, path = link
    later = timezone.now().timestamp() + settings.AUDIO_URL_SECONDS + 1
    monkeypatch.setattr(signing.time, "time", lambda: later)
    assert Lease.objects.get().is_active(timezone.now())

    response = browser.get(path, HTTP_RANGE="bytes=0-9")

    assert response.status_code == 403
    assert response.content == b"This audio link has expired; reload the clip page"


def test_a_link_replayed_after_sign_out_and_in_again_is_refused(reviewer, link):
    """A new sign-in is a new session: the old link does not follow the person."""
    browser, path = link
    browser.post("/logout/")
    again = signed_in(reviewer, Client)

    assert again.get(path, HTTP_RANGE="bytes=0-9").status_code == 403


def test_a_link_replayed_by_another_person_is_answered_as_no_such_clip(other_reviewer, link):
    _, path = link
    assert signed_in(other_reviewer, Client).get(path, HTTP_RANGE="bytes=0-9").status_code == 404


def test_a_link_replayed_after_the_lease_ended_is_refused(link):
    browser, path = link
    Lease.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert browser.get(path, HTTP_RANGE="bytes=0-9").status_code == 403
