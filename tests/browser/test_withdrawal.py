"""Issue 7: a clip withdrawn mid-lease while the page's websocket is down. The next save or submit
is refused with 410 "withdrawn", and the page says the clip was withdrawn, not that the lease
ran out and it went back to the queue."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from annotations import privacy
from annotations.models import ClipStatus, Lease, LeaseOutcome
from tests.browser.conftest import sign_in
from tests.browser.test_editor import assert_nothing_leaked

pytestmark = pytest.mark.django_db(transaction=True)

# The live events socket never connects: the page has to learn of the withdrawal from the API.
NO_WEBSOCKET = """
window.__sockets = 0;
window.WebSocket = class {
  constructor() { window.__sockets += 1; }
  addEventListener() {}
  close() {}
};
"""


@pytest.mark.parametrize("how", ["autosave", "submit"])
def test_a_clip_withdrawn_while_the_websocket_is_down_is_said_to_be_withdrawn(
    page, reviewer, make_clips, settings, how
):
    settings.REQUIRE_FULL_PLAYBACK = False  # the submit goes out without playing the clip first
    page.add_init_script(NO_WEBSOCKET)
    [mine] = make_clips(1)
    [theirs] = make_clips(1, account_id="ACCT-OTHER-9", first_name="Bertil", device_serial="SER-OTHER")
    sign_in(page, reviewer)
    page.click("#start")
    page.wait_for_selector(f"#editor[data-clip='{mine.public_id}'][data-waveform=drawn]")
    page.wait_for_selector("#editor[data-next=ready]")  # the other account's clip, claimed ahead
    assert page.evaluate("window.__sockets") >= 1  # the page tried, and is not connected

    # Off Playwright's event-loop thread, as a request to the integration API would run.
    with ThreadPoolExecutor(1) as pool:
        report = pool.submit(privacy.account_opt_out, account_id="ACCT-TEST-0001", via="test").result()
    assert report.done == [str(mine.public_id)]

    if how == "autosave":
        page.keyboard.type(" please")  # the autosave's PUT is refused
    else:
        page.keyboard.press("Control+Enter")  # the submit is refused
    page.wait_for_selector("#editor[data-lease=withdrawn]")

    notice = page.inner_text("#notice")
    assert "was withdrawn" in notice and "went back to the queue" not in notice
    assert page.input_value("#transcript") == ""  # the withdrawn recording's words leave the screen
    assert page.inner_text("#lease-status") == "Withdrawn"
    assert Lease.objects.get(clip=mine).outcome == LeaseOutcome.WITHDRAWN

    page.keyboard.press("Control+Enter")  # and the reviewer moves on
    page.wait_for_selector(f"#editor[data-clip='{theirs.public_id}'][data-waveform=drawn]")
    assert Lease.objects.get(clip=theirs, ended_at__isnull=True).reviewer == reviewer
    mine.refresh_from_db()
    assert mine.status == ClipStatus.PURGED
    assert_nothing_leaked(page, expected_statuses=(410,))
