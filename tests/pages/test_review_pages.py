"""The server-rendered loop: sign in, next clip, listen, save, submit & next, skip."""

import re

import pytest
from django.test import Client

from annotations.models import ClipStatus, Lease, LeaseOutcome, TranscriptRevision
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(reviewer):
    return signed_in(reviewer, Client)


@pytest.mark.parametrize("path", ["/", "/clips/00000000-0000-4000-8000-000000000000"])
def test_pages_send_anonymous_visitors_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_next_clip_opens_the_clip_page_with_player_and_transcript(browser, make_clips):
    [clip] = make_clips(1)

    response = browser.post("/queue/next", follow=True)

    assert response.redirect_chain[-1][0] == f"/clips/{clip.public_id}"
    html = response.content.decode()
    # The editor's player has no source until the waveform is drawn; the no-script player has one.
    players = re.findall(
        r'<audio id="player(?:-next)?" preload="metadata" controlsList="nodownload[^"]*" data-protected[^>]*>', html
    )
    assert len(players) == 2 and not any("src=" in player for player in players)
    assert re.search(
        r'<noscript>.*<audio controls preload="metadata" controlsList="nodownload[^"]*" disableRemotePlayback '
        r'data-protected src="http://testserver/audio/',
        html,
        re.S,
    )
    assert "set a timer for ten minutes" in html  # the ASR hypothesis pre-fills the transcript
    audio_src = re.search(r'src="http://testserver(/audio/[^"]+)"', html).group(1)
    assert browser.get(audio_src, HTTP_RANGE="bytes=0-9").status_code == 206


def test_save_then_submit_and_next_moves_to_the_next_clip(browser, make_clips):
    first, second = make_clips(2)
    browser.post("/queue/next")

    saved = browser.post(
        f"/clips/{first.public_id}/transcript",
        {"text": "set a timer for ten minutes", "base_version": 0, "action": "save"},
        follow=True,
    )
    assert b"Saved as version 1" in saved.content
    done = browser.post(
        f"/clips/{first.public_id}/transcript",
        {"text": "set a timer for 10 minutes", "base_version": 1, "action": "submit", "played": "on"},
        follow=True,
    )

    assert done.redirect_chain[-1][0] == f"/clips/{second.public_id}"
    first.refresh_from_db()
    assert first.status == ClipStatus.SUBMITTED
    assert first.final_revision.text == "set a timer for 10 minutes"
    assert TranscriptRevision.objects.filter(clip=first).count() == 2


def test_a_stale_form_is_not_saved_and_says_why(browser, make_clips):
    [clip] = make_clips(1)
    browser.post("/queue/next")
    browser.post(f"/clips/{clip.public_id}/transcript", {"text": "one", "base_version": 0, "action": "save"})

    response = browser.post(
        f"/clips/{clip.public_id}/transcript", {"text": "two", "base_version": 0, "action": "save"}, follow=True
    )

    assert b"Not saved" in response.content
    assert TranscriptRevision.objects.count() == 1


def test_skip_returns_the_clip_and_goes_home(browser, make_clips):
    make_clips(1)
    browser.post("/queue/next")
    lease = Lease.objects.get()

    response = browser.post(f"/leases/{lease.public_id}/release", {"reason": "no_speech"}, follow=True)

    assert response.redirect_chain[-1][0] == "/"
    lease.refresh_from_db()
    assert lease.outcome == LeaseOutcome.RELEASED and lease.release_reason == "no_speech"


def test_an_empty_queue_says_so(browser):
    response = browser.post("/queue/next", follow=True)
    assert response.redirect_chain[-1][0] == "/?empty=1"
    assert b"The queue is empty" in response.content and b"Look again" in response.content


def test_another_reviewer_gets_404_on_the_clip_page_and_its_forms(make_clips, browser, other_reviewer):
    [clip] = make_clips(1)
    browser.post("/queue/next")
    lease = Lease.objects.get()
    intruder = signed_in(other_reviewer, Client)

    assert intruder.get(f"/clips/{clip.public_id}").status_code == 404
    assert intruder.post(f"/clips/{clip.public_id}/transcript", {"text": "x", "base_version": 0}).status_code == 404
    assert intruder.post(f"/leases/{lease.public_id}/release", {"reason": "other"}).status_code == 404


def test_a_non_reviewer_has_no_queue(supervisor, make_clips):
    make_clips(1)
    client = signed_in(supervisor, Client)

    assert b"not in the reviewers group" in client.get("/").content
    assert client.post("/queue/next").status_code == 403
