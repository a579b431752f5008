"""Issue 5: the editor's other paths in a real browser: conflict, skip, false wake, empty queue, lease."""

import time

import pytest

from annotations import editor, services
from annotations.models import ClipStatus, Lease, LeaseOutcome, TranscriptRevision
from reviewportal.audit.models import AccessEvent, Action
from tests.browser.conftest import sign_in
from tests.browser.test_editor import assert_nothing_leaked, play_to_the_end

pytestmark = pytest.mark.django_db(transaction=True)


def start(page, reviewer) -> None:
    sign_in(page, reviewer)
    page.click("#start")
    page.wait_for_selector("#editor[data-waveform=drawn]")


def test_a_conflicting_save_shows_the_other_version_and_the_reviewer_may_keep_theirs(page, reviewer, make_clips):
    [clip] = make_clips(1)
    start(page, reviewer)
    lease = Lease.objects.get(reviewer=reviewer, ended_at__isnull=True)
    services.transcript_save(lease=lease, text="from another tab", segments=[], tags=[], base_version=0)

    page.keyboard.type(" please")
    page.wait_for_selector("#conflict:not([hidden])")
    assert page.inner_text("#conflict-text") == "from another tab"
    assert page.get_attribute("#save-status", "data-state") == "conflict"
    page.click("#conflict-keep-mine")
    page.wait_for_selector("#save-status[data-state=saved]")

    latest = TranscriptRevision.objects.filter(clip=clip).order_by("-version").first()
    assert (latest.version, latest.text) == (2, "set a timer for ten minutes please")
    assert_nothing_leaked(page, expected_statuses=(409,))


def test_skip_with_a_reason_then_false_wake_then_the_empty_queue(page, reviewer, make_clips):
    first, second = make_clips(2)
    start(page, reviewer)
    page.wait_for_selector("#editor[data-next=ready]")

    page.keyboard.press("Alt+S")
    page.wait_for_selector("#skip-dialog[open]")
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#editor[data-clip='{second.public_id}'][data-waveform=drawn]")
    skipped = Lease.objects.get(clip=first)
    assert (skipped.outcome, skipped.release_reason) == (LeaseOutcome.RELEASED, "wrong_language")

    play_to_the_end(page)
    page.keyboard.press("Control+Shift+Enter")
    page.wait_for_selector("#queue-empty:not([hidden])")
    second.refresh_from_db()
    assert second.status == ClipStatus.SUBMITTED and "not_addressed" in second.final_revision.tags
    assert not Lease.objects.filter(ended_at__isnull=True).exists()
    assert_nothing_leaked(page)


def test_the_lease_is_renewed_for_an_active_reviewer_and_not_for_an_idle_tab(page, reviewer, make_clips, settings):
    settings.LEASE_SECONDS = 6
    settings.REQUIRE_FULL_PLAYBACK = False
    editor.ACTIVE_WINDOW_SECONDS, window = 1, editor.ACTIVE_WINDOW_SECONDS
    try:
        # Playing counts as activity: a short clip is over long before the half-time renewal, even
        # when a busy machine starts it late.
        [clip] = make_clips(1, seconds=0.5)
        start(page, reviewer)
        assert page.get_attribute("#lease-status", "data-state") == "warning"  # the last minute
        page.keyboard.press("Alt+T")  # activity in the last minute renews at once

        renewals = AccessEvent.objects.filter(action=Action.LEASE_RENEWED, object_id=str(clip.public_id))
        deadline = time.monotonic() + 5
        while not renewals.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert renewals.count() == 1

        page.wait_for_selector("#lease-status[data-state=ended]", timeout=10000)  # then idle: it runs out
        assert renewals.count() == 1
        assert "lease on this clip ended" in page.inner_text("#notice")
    finally:
        editor.ACTIVE_WINDOW_SECONDS = window


def test_a_conflicting_save_shows_the_other_version_and_the_reviewer_may_take_theirs(page, reviewer, make_clips):
    [clip] = make_clips(1)
    start(page, reviewer)
    lease = Lease.objects.get(reviewer=reviewer, ended_at__isnull=True)
    theirs = [{"start_ms": 200, "end_ms": 900, "text": "set", "speaker": "", "tags": ["music"]}]
    services.transcript_save(lease=lease, text="from another tab", segments=theirs, tags=["music"], base_version=0)

    page.keyboard.type(" please")
    page.wait_for_selector("#conflict:not([hidden])")
    page.click("#conflict-take-theirs")

    # The page shows their version, whole: text, segments and tags; nothing of mine is saved.
    assert page.is_hidden("#conflict")
    assert page.input_value("#transcript") == "from another tab"
    assert page.input_value("#segments .seg-text") == "set"
    assert page.is_checked("[aria-label='Segment 1: music']")
    assert page.is_checked("#clip-tags input[value=music]")
    assert page.inner_text("#save-status") == "Saved · v1"
    assert page.evaluate("document.activeElement.id") == "transcript"
    assert TranscriptRevision.objects.filter(clip=clip).count() == 1

    # Saving goes on from theirs: the next save is version 2, made on top of version 1.
    page.keyboard.press("End")
    page.keyboard.type(" again")
    page.wait_for_selector("#save-status[data-state=saved]:has-text('v2')")
    latest = TranscriptRevision.objects.filter(clip=clip).order_by("-version").first()
    assert (latest.version, latest.text, latest.tags) == (2, "from another tab again", ["music"])
    [segment] = latest.segments
    assert (segment["start_ms"], segment["end_ms"], segment["text"], segment["tags"]) == (200, 900, "set", ["music"])
    assert page.is_hidden("#conflict")
    assert_nothing_leaked(page, expected_statuses=(409,))
