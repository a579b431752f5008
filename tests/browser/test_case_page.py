"""Issue 3 on the escalation case page: the escalation team's player offers nothing to save.

Regression: the case page loaded the clip editor's script, which threw at its first line there
(no editor config on that page) before it blocked the context menu, so right-click "Save audio
as" worked on the one page that plays the most sensitive clips.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import Group

from escalations.models import Escalation
from tests.browser.conftest import sign_in
from tests.browser.test_editor import assert_nothing_leaked
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db(transaction=True)

# True when the page let the browser open its menu; false when a listener prevented it.
CONTEXT_MENU_ALLOWED = """(selector) => document.querySelector(selector).dispatchEvent(
  new MouseEvent("contextmenu", {bubbles: true, cancelable: true, button: 2}))"""


def _flag(reviewer) -> Escalation:
    client = signed_in(reviewer)
    clip_id = client.post("/api/v1/queue/claim").json()["clip"]["id"]
    response = client.post(
        f"/api/v1/clips/{clip_id}/escalations",
        {"category": "violence_or_abuse", "start_ms": 0, "end_ms": 900},
        format="json",
    )
    assert response.status_code == 201, response.content
    return Escalation.objects.get()


@pytest.fixture
def case(reviewer, supervisor, make_clips):
    supervisor.groups.add(Group.objects.get(name="escalation_team"))
    make_clips(1)
    # Off the test's thread: Playwright runs an event loop there, and a flag tells the supervisors'
    # sockets through the channel layer from synchronous code.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(_flag, reviewer).result()


def test_the_case_page_player_has_no_download_and_no_context_menu(page, supervisor, case):
    sign_in(page, supervisor)
    page.goto(f"/supervise/escalations/{case.public_id}")
    page.wait_for_selector("body[data-player=protected]")

    assert page.evaluate(CONTEXT_MENU_ALLOWED, "audio#player") is False
    controls = page.evaluate("[...document.querySelector('audio#player').controlsList]")
    assert "nodownload" in controls and "noplaybackrate" in controls
    assert page.evaluate("document.querySelector('audio#player').disableRemotePlayback") is True
    assert page.evaluate("document.querySelector('audio#player').volume") == pytest.approx(0.3)
    assert page.evaluate("document.querySelectorAll('a[download], [href^=blob], [href^=data]').length") == 0
    assert_nothing_leaked(page)


def test_the_clip_editor_blocks_the_context_menu_on_both_players_and_the_waveform(page, reviewer, make_clips):
    make_clips(2)
    sign_in(page, reviewer)
    page.click("#start")
    page.wait_for_selector("#editor[data-waveform=drawn]")

    for selector in ("#player", "#player-next", "#waveform"):
        assert page.evaluate(CONTEXT_MENU_ALLOWED, selector) is False, selector
    assert "nodownload" in page.evaluate("[...document.querySelector('#player').controlsList]")
    assert_nothing_leaked(page)


def test_the_no_script_player_has_no_download_control(chromium, live_server, http_only_cookies, reviewer, make_clips):
    """Without script nothing can block a context menu; the player still shows no download button,
    and its link is bound to the session and lease and dies within minutes (tests/security)."""
    from tests.browser.conftest import Watched

    make_clips(1)
    context = chromium.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    page.watched = Watched()
    page.on("download", lambda download: page.watched.downloads.append(download))
    try:
        sign_in(page, reviewer)
        page.click("#start")
        page.wait_for_selector("noscript audio, audio[controls]")
        players = page.query_selector_all("audio[controls]")
        assert len(players) == 1
        assert "nodownload" in (players[0].get_attribute("controlslist") or "").split()
        assert page.query_selector_all("a[download], [href^=blob], [href^=data]") == []
        assert page.watched.downloads == []
    finally:
        context.close()
