"""Issue 5: the editor's controls in a real browser: zoom, speed, timeline and time, segments, loops, tags.

Short clips (6 s): what reviewers mostly get from a voice assistant, and fast to play through.
"""

import pytest

from annotations.models import TranscriptRevision
from tests.browser.editor_page import (
    AUDIO,
    RECORD_PLAYBACK,
    audio,
    drag,
    playback_since_first_seek,
    wait_for_seeks,
    wait_paused,
    wait_playing_past,
    waveform_scale,
    waveform_y,
    x_at,
)
from tests.browser.test_editor import assert_nothing_leaked
from tests.browser.test_editor_paths import start

pytestmark = pytest.mark.django_db(transaction=True)

SECONDS = 6.0


def latest_revision(clip):
    return TranscriptRevision.objects.filter(clip=clip).order_by("-version").first()


def wait_saved_past(page, version: int) -> None:
    """Autosave reached the server with a version after `version`."""
    page.wait_for_function(
        "(v) => { const s = document.getElementById('save-status');"
        " return s.dataset.state === 'saved' && Number(s.textContent.split('v').pop()) > v; }",
        arg=version,
    )


def test_zoom_steps_from_the_fitted_waveform_and_speed_stays_within_a_quarter_to_double(page, reviewer, make_clips):
    make_clips(1, seconds=SECONDS)
    start(page, reviewer)
    fitted = waveform_scale(page, SECONDS)
    assert fitted["width"] == pytest.approx(fitted["shown"], abs=2)  # the whole clip fits

    # = zooms in: each step doubles the pixels per second, up to 16 times the fitted width.
    page.focus("#waveform")
    for factor in (2, 4, 8, 16, 16):
        page.keyboard.press("Equal")
        assert waveform_scale(page, SECONDS)["pps"] == pytest.approx(fitted["pps"] * factor, rel=0.02)
    assert waveform_scale(page, SECONDS)["width"] > 15 * fitted["shown"]
    page.keyboard.press("Minus")
    assert waveform_scale(page, SECONDS)["pps"] == pytest.approx(fitted["pps"] * 8, rel=0.02)
    for _ in range(4):
        page.click("#zoom-out")
    assert waveform_scale(page, SECONDS)["width"] == pytest.approx(fitted["shown"], abs=2)
    page.click("#zoom-in")
    assert waveform_scale(page, SECONDS)["pps"] == pytest.approx(fitted["pps"] * 2, rel=0.02)

    # The speed selector and , / . set the audio's rate, never below a quarter nor above double.
    page.select_option("#speed", "0.25")
    assert audio(page)["rate"] == 0.25
    page.focus("#waveform")
    page.keyboard.press("Comma")
    assert (audio(page)["rate"], page.input_value("#speed")) == (0.25, "0.25")
    rates = []
    for _ in range(7):
        page.keyboard.press("Period")
        rates.append(audio(page)["rate"])
    assert rates == [0.5, 0.75, 1, 1.25, 1.5, 2, 2]
    assert page.input_value("#speed") == "2"
    page.keyboard.press("Comma")
    assert audio(page)["rate"] == 1.5
    page.select_option("#speed", "1")
    assert audio(page)["rate"] == 1
    assert_nothing_leaked(page)


def test_the_timeline_is_drawn_and_the_time_readout_follows_playback(page, reviewer, make_clips):
    make_clips(1, seconds=SECONDS)
    start(page, reviewer)

    notches = page.evaluate(
        """() => [...document.querySelector('#waveform > div').shadowRoot
              .querySelectorAll('[part~=timeline-notch]')]
              .map((n) => ({label: n.textContent, left: parseFloat(n.style.left)}))"""
    )
    labelled = {notch["label"]: notch["left"] for notch in notches if notch["label"]}
    assert len(notches) >= SECONDS  # a notch at least every second
    pps = waveform_scale(page, SECONDS)["pps"]
    assert labelled["0"] == 0 and labelled["5"] == pytest.approx(5 * pps, abs=2)

    assert page.inner_text("#time") == "0:00.0 / 0:06.0"
    page.focus("#waveform")
    page.keyboard.press("Escape")
    readouts = set()
    for seconds in (0.4, 1.0):
        wait_playing_past(page, seconds)
        page.wait_for_function(
            "(s) => Number(document.getElementById('time').textContent.split(':')[1].split(' ')[0]) >= s", arg=seconds
        )
        readouts.add(page.inner_text("#time"))
    page.keyboard.press("Escape")
    assert len(readouts) == 2 and all(readout.endswith(" / 0:06.0") for readout in readouts)
    wait_paused(page)
    shown = float(page.inner_text("#time").split(":")[1].split(" ")[0])
    assert shown == pytest.approx(audio(page)["time"], abs=0.1)


def test_the_next_clip_is_drawn_fitted_and_keeps_the_reviewers_speed(page, reviewer, make_clips, settings):
    settings.REQUIRE_FULL_PLAYBACK = False
    _first, second = make_clips(2, seconds=SECONDS)
    start(page, reviewer)
    fitted = waveform_scale(page, SECONDS)
    page.focus("#waveform")
    page.keyboard.press("Equal")
    page.keyboard.press("Equal")
    page.keyboard.press("Period")
    assert waveform_scale(page, SECONDS)["pps"] == pytest.approx(4 * fitted["pps"], rel=0.02)
    page.wait_for_selector("#editor[data-next=ready]")

    page.keyboard.press("Control+Enter")
    page.wait_for_selector(f"#editor[data-clip='{second.public_id}'][data-waveform=drawn]")
    assert waveform_scale(page, SECONDS)["width"] == pytest.approx(fitted["shown"], abs=2)
    assert audio(page)["rate"] == 1.25
    page.focus("#waveform")
    page.keyboard.press("Equal")  # and zoom counts from the fitted width again
    assert waveform_scale(page, SECONDS)["pps"] == pytest.approx(2 * fitted["pps"], rel=0.02)
    assert_nothing_leaked(page)


def test_segments_are_made_by_dragging_resized_by_a_handle_deleted_and_their_tags_saved(page, reviewer, make_clips):
    [clip] = make_clips(1, seconds=SECONDS)
    start(page, reviewer)
    y = waveform_y(page)

    # Drag from 1 s to 2 s: a segment, its text box focused.
    drag(page, x_at(page, 1.0, SECONDS), x_at(page, 2.0, SECONDS), y)
    page.wait_for_selector("#segments li.segment")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Segment 1 text"
    page.keyboard.type("set a timer")
    page.check("[aria-label='Segment 1: music']")
    page.check("#clip-tags input[value=several_speakers]")
    wait_saved_past(page, 0)
    page.wait_for_function("() => document.getElementById('save-status').dataset.state === 'saved'")
    revision = latest_revision(clip)
    [segment] = revision.segments
    assert segment["start_ms"] == pytest.approx(1000, abs=60) and segment["end_ms"] == pytest.approx(2000, abs=60)
    assert (segment["text"], segment["tags"], revision.tags) == ("set a timer", ["music"], ["several_speakers"])

    # Its right handle, dragged to 3 s, makes it longer.
    handle = page.locator("#waveform [part~=region-handle-right]").bounding_box()
    drag(page, handle["x"] + handle["width"] / 2, x_at(page, 3.0, SECONDS), y)
    wait_saved_past(page, revision.version)
    revision = latest_revision(clip)
    [segment] = revision.segments
    assert segment["end_ms"] == pytest.approx(3000, abs=60) and segment["text"] == "set a timer"

    # Played from the list: from its start, and it stops at its end.
    page.evaluate(RECORD_PLAYBACK)
    page.select_option("#speed", "2")
    page.click("[aria-label^='Play segment 1']")
    end = segment["end_ms"] / 1000
    page.wait_for_function(f"() => {AUDIO}.paused && Math.abs({AUDIO}.currentTime - {end}) < 0.3")
    seeks, times = playback_since_first_seek(page)
    assert seeks[0] == pytest.approx(segment["start_ms"] / 1000, abs=0.05)
    assert times and min(times) > seeks[0] - 0.05 and max(times) < end + 0.3

    # A second segment, deleted by its ✕; then the first, selected on the waveform, by Delete.
    drag(page, x_at(page, 4.0, SECONDS), x_at(page, 5.0, SECONDS), y)
    page.wait_for_selector("#segments li.segment >> nth=1")
    page.click("[aria-label='Delete segment 2']")
    assert page.locator("#segments li.segment").count() == 1
    page.mouse.click(x_at(page, 2.0, SECONDS), y)
    page.wait_for_selector("#segments li.segment.selected")
    assert page.evaluate("document.activeElement.id") == "waveform"
    page.keyboard.press("Delete")
    page.wait_for_selector("#segments-empty:not([hidden])")
    wait_saved_past(page, revision.version)
    page.wait_for_function("() => document.getElementById('save-status').dataset.state === 'saved'")
    revision = latest_revision(clip)
    assert (revision.segments, revision.tags) == ([], ["several_speakers"])
    assert_nothing_leaked(page)


def test_loop_replays_the_selected_segment_even_one_that_ends_with_the_clip(page, reviewer, make_clips):
    make_clips(1, seconds=SECONDS)
    start(page, reviewer)
    page.focus("#waveform")
    page.keyboard.press("KeyL")  # 1.5 s
    page.keyboard.press("KeyN")  # a segment 1.5-3.5 s
    page.focus("#waveform")
    page.keyboard.press("Home")
    page.keyboard.press("Shift+KeyL")
    page.keyboard.press("KeyN")  # a segment 5-6 s, up to the clip's end
    assert page.locator("#segments li.segment").count() == 2
    page.focus("#waveform")
    page.keyboard.press("ArrowUp")  # the first segment, playing
    page.keyboard.press("Escape")
    wait_paused(page)
    page.select_option("#speed", "2")
    page.focus("#waveform")

    page.evaluate(RECORD_PLAYBACK)
    page.keyboard.press("KeyR")
    assert page.get_attribute("#loop", "aria-pressed") == "true"
    wait_for_seeks(page, 1.5, 3)
    _, times = playback_since_first_seek(page)
    assert min(times) > 1.5 - 0.05 and max(times) < 3.5 + 0.4
    assert not audio(page)["paused"]

    # The next segment ends with the clip: the loop goes on past the media's end.
    page.evaluate(RECORD_PLAYBACK)
    page.keyboard.press("ArrowDown")
    wait_for_seeks(page, 5, 3)
    _, times = playback_since_first_seek(page)
    assert min(times) > 5 - 0.05

    # R again: the loop stops, playback runs on to the end.
    page.keyboard.press("KeyR")
    assert page.get_attribute("#loop", "aria-pressed") == "false"
    wait_paused(page)
    assert audio(page)["time"] == pytest.approx(SECONDS, abs=0.05)
    assert_nothing_leaked(page)


def test_shift_drag_selects_a_stretch_to_loop_that_is_never_a_segment(page, reviewer, make_clips):
    [clip] = make_clips(1, seconds=SECONDS)
    start(page, reviewer)
    y = waveform_y(page)
    page.select_option("#speed", "2")

    drag(page, x_at(page, 1.0, SECONDS), x_at(page, 2.0, SECONDS), y, shift=True)
    selection = page.locator("#waveform [part~=loop-selection]")
    selection.wait_for()
    assert page.locator("#segments li").count() == 0

    page.evaluate(RECORD_PLAYBACK)
    page.focus("#waveform")
    page.keyboard.press("KeyR")
    wait_for_seeks(page, 1.0, 3)
    _, times = playback_since_first_seek(page)
    assert min(times) > 0.9 and max(times) < 2.0 + 0.4

    # Loop off: the selection goes, playback runs on past it.
    page.keyboard.press("KeyR")
    assert selection.count() == 0
    page.wait_for_function(f"() => {AUDIO}.currentTime > 2.6")

    # The selection was never a segment and never saved.
    assert page.locator("#segments li").count() == 0
    assert page.get_attribute("#save-status", "data-state") == "saved"
    assert not TranscriptRevision.objects.filter(clip=clip).exists()
    assert_nothing_leaked(page)
