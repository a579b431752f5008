"""Issue 5: the clip editor in a real browser, from sign-in to Submit & next.

Chromium drives the real pages against a live server: both factors with a real TOTP code, the
waveform drawn from peaks before any audio request, playback, a far seek answered with 206, a
segment added and typed from the keyboard, autosave reaching the database, and Submit & next
landing on the clip claimed ahead. No download may start and no CSP violation may happen.
"""

import re

import pytest

from annotations.models import Clip, ClipStatus, Lease, TranscriptRevision
from tests.browser.conftest import SCREENSHOTS, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def editor_state(page) -> dict:
    return page.evaluate("({...document.getElementById('editor').dataset})")


def play_to_the_end(page) -> None:
    """Hear the whole clip, fast: the played-ranges tracking is the page's own."""
    page.evaluate("document.querySelector('audio[data-current]').playbackRate = 16")
    page.keyboard.press("Alt+0")
    if page.evaluate("document.querySelector('audio[data-current]').paused"):
        page.keyboard.press("Escape")
    page.wait_for_selector("#editor[data-played=complete]", timeout=15000)


def assert_nothing_leaked(page, *, expected_statuses=()) -> None:
    """No CSP violation, no download, no script error, nothing kept in the browser's storage.

    Chromium logs every 4xx answer as a console error; `expected_statuses` names the ones the test
    provoked on purpose.
    """
    assert page.evaluate("window.__csp") == []
    assert page.watched.downloads == []
    assert page.watched.page_errors == []
    # The live server is pytest-django's WSGI server, which has no websockets: the page's live
    # events socket fails here (it is tested through Channels in tests/escalations/test_live.py).
    errors = [
        message
        for message in page.watched.console_errors
        if not any(f"status of {status} " in message for status in expected_statuses)
        and "WebSocket connection to" not in message
    ]
    assert errors == []
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0


def test_a_reviewer_works_a_clip_from_the_keyboard_and_submit_and_next_shows_the_next_at_once(
    page, reviewer, long_clips
):
    first, second, _third = long_clips(3)
    sign_in(page, reviewer)
    assert page.inner_text("#shift-count") == "0"
    page.click("#start")

    # The waveform is painted from the peaks before the audio element asks for a single byte.
    page.wait_for_selector("#editor[data-waveform=drawn]")
    assert page.url.endswith(f"/clips/{first.public_id}")
    page.wait_for_function("() => window.__audioLoads.length > 0")
    [first_load] = page.evaluate("window.__audioLoads")
    assert first_load["pixels"] > 1000, first_load
    assert page.get_attribute("#player", "preload") == "metadata"
    assert page.input_value("#transcript") == "set a timer for ten minutes"  # the ASR hypothesis

    # Before anything plays (preload=metadata: the browser holds only the first bytes), a click far
    # into the clip seeks past them: a new Range request, answered 206.
    page.wait_for_selector("#editor[data-audio=ready]")
    box = page.locator("#waveform").bounding_box()

    def far_range(response) -> bool:
        return (
            "/audio/" in response.url
            and response.status == 206
            and not response.request.headers.get("range", "").startswith("bytes=0-")
        )

    with page.expect_response(far_range) as seek:
        page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + 40)
    assert seek.value.headers["content-range"].startswith("bytes ")
    assert 19 < page.evaluate("document.getElementById('player').currentTime") < 21.5

    # Play advances the media clock from there (Esc works while the transcript has the focus).
    page.keyboard.press("Escape")
    page.wait_for_function("() => document.getElementById('player').currentTime > 21.5")
    page.keyboard.press("Escape")
    assert page.evaluate("document.getElementById('player').paused")

    # A segment at the cursor by keyboard, with its own text; then the whole transcript.
    page.focus("#transcript")
    page.keyboard.press("Alt+N")
    page.wait_for_selector("#segments li.segment")
    assert page.evaluate("document.activeElement.classList.contains('seg-text')")
    page.keyboard.type("ten minutes")
    page.keyboard.press("Alt+T")
    page.keyboard.press("Control+A")
    page.keyboard.type("set a timer for 10 minutes")

    # Autosave reaches the server as a revision, with the segment.
    page.wait_for_function(
        "() => { const s = document.getElementById('save-status');"
        " return s.dataset.state === 'saved' && !/v0/.test(s.textContent); }"
    )
    revision = TranscriptRevision.objects.filter(clip=first).order_by("-version").first()
    assert revision.text == "set a timer for 10 minutes"
    [segment] = revision.segments
    assert segment["text"] == "ten minutes" and 19000 < segment["start_ms"] < 23000

    # The clip after this one was claimed ahead while the reviewer worked.
    page.wait_for_selector("#editor[data-next=ready]")
    ahead = Lease.objects.get(reviewer=reviewer, is_next=True, ended_at__isnull=True)
    assert ahead.clip_id == second.pk

    # Submit is refused until the whole clip has been heard; then Submit & next lands on the next clip.
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#notice:not([hidden])")
    assert "Play the whole clip" in page.inner_text("#notice")
    assert Clip.objects.get(pk=first.pk).status == ClipStatus.LEASED
    play_to_the_end(page)
    page.focus("#transcript")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector(f"#editor[data-clip='{second.public_id}'][data-waveform=drawn]")
    page.wait_for_url(re.compile(f"/clips/{second.public_id}$"))
    assert page.input_value("#transcript") == "set a timer for ten minutes"
    assert page.locator("#segments li").count() == 0

    first.refresh_from_db()
    assert first.status == ClipStatus.SUBMITTED
    assert first.final_revision.text == "set a timer for 10 minutes"
    current = Lease.objects.get(reviewer=reviewer, ended_at__isnull=True, is_next=False)
    assert current.clip_id == second.pk

    # The next clip's audio started loading in the spare player while the submit was on its way;
    # it is the one that plays now.
    page.wait_for_selector("#editor[data-audio=ready]")
    assert page.get_attribute("#player-next", "data-current") == ""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "clip-page.png"))
    page.keyboard.press("Escape")
    page.wait_for_function("() => document.querySelector('audio[data-current]').currentTime > 0.3")
    page.keyboard.press("Escape")
    # 1280 x 800 holds the whole page for a 30 s clip: nothing to scroll.
    assert page.evaluate("document.documentElement.scrollHeight <= window.innerHeight")
    assert_nothing_leaked(page)
