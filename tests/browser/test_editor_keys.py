"""Issue 5: the editor's keys in a real browser, and the promise that plain keys never fire while typing.

The keys are pressed by code, as a keyboard sends them ("KeyJ", "Shift+ArrowLeft"); the keymap
comes from the page itself, so a key added later is covered by the typing test without editing it.
"""

import pytest

from tests.browser.editor_page import (
    AUDIO,
    RECORD_PLAYBACK,
    audio,
    keymap,
    open_editor,
    playback_since_first_seek,
    playwright_key,
    wait_for_time,
    wait_paused,
    wait_playing_past,
    waveform_scale,
)
from tests.browser.test_editor import assert_nothing_leaked

pytestmark = pytest.mark.django_db(transaction=True)

SECONDS = 12.0


def test_seek_keys_move_one_and_a_half_seconds_and_five_with_shift(page, reviewer, make_clips):
    make_clips(1, seconds=SECONDS)
    open_editor(page, reviewer)
    page.focus("#waveform")
    for key, position in [
        ("KeyL", 1.5),
        ("ArrowRight", 3.0),
        ("Shift+KeyL", 8.0),
        ("Shift+ArrowRight", SECONDS),  # not past the end
        ("KeyJ", 10.5),
        ("ArrowLeft", 9.0),
        ("Shift+KeyJ", 4.0),
        ("Shift+ArrowLeft", 0.0),  # not before the start
        ("KeyL", 1.5),
        ("Digit0", 0.0),
        ("ArrowRight", 1.5),
        ("Home", 0.0),
    ]:
        page.keyboard.press(key)
        wait_for_time(page, position)
    assert audio(page)["paused"]
    assert_nothing_leaked(page)


def test_keys_pressed_faster_than_the_audio_seeks_all_count_and_never_stall_it(page, reviewer, make_clips):
    """Issue 5 audit: wavesurfer.js dropped a seek asked for mid-seek (J J moved back once), and
    setting the element's time mid-seek now and again left Chromium seeking for good."""
    make_clips(1, seconds=SECONDS)
    open_editor(page, reviewer)
    page.focus("#waveform")
    there = ("Shift+KeyL", "KeyL", "KeyJ", "Shift+KeyJ", "KeyL")  # 5, 6.5, 5, 0, 1.5
    for expected, keys in [(0.0, (*there, "Digit0")), (3.0, (*there, "KeyL"))] * 12:
        for key in keys:
            page.keyboard.press(key)
        page.wait_for_function(
            f"() => {{ const a = {AUDIO}; return !a.seeking && a.readyState >= 2 && a.currentTime === {expected}; }}"
        )
    assert page.inner_text("#time").startswith("0:03.0 /")
    assert_nothing_leaked(page)


def test_ctrl_space_plays_and_pauses_everywhere_and_the_help_shows_and_hides(page, reviewer, make_clips):
    make_clips(1, seconds=SECONDS)
    open_editor(page, reviewer)
    typed = page.input_value("#transcript")

    assert page.evaluate("document.activeElement.id") == "transcript"
    page.keyboard.press("Control+Space")
    wait_playing_past(page, 0.2)
    page.keyboard.press("Control+Space")
    wait_paused(page)
    assert page.input_value("#transcript") == typed  # no space typed

    page.focus("#waveform")
    page.keyboard.press("Control+Space")
    wait_playing_past(page, audio(page)["time"] + 0.2)
    page.keyboard.press("KeyK")
    wait_paused(page)

    assert page.is_visible("#help")
    page.keyboard.press("Shift+Slash")  # ?
    assert page.is_hidden("#help")
    page.keyboard.press("Shift+Slash")
    assert page.is_visible("#help")
    assert_nothing_leaked(page)


def test_down_and_up_select_the_next_and_previous_segment_and_play_it(page, reviewer, make_clips):
    make_clips(1, seconds=SECONDS)
    open_editor(page, reviewer)
    for key in ("KeyL", "Shift+KeyL"):  # segments at 1.5-3.5 s and 6.5-8.5 s
        page.focus("#waveform")
        page.keyboard.press(key)
        page.keyboard.press("KeyN")
    assert page.locator("#segments li.segment").count() == 2
    page.focus("#waveform")
    page.select_option("#speed", "2")
    page.focus("#waveform")

    for key, index, start_at in [("ArrowUp", 0, 1.5), ("ArrowDown", 1, 6.5), ("ArrowUp", 0, 1.5)]:
        page.evaluate(RECORD_PLAYBACK)
        page.keyboard.press(key)
        page.wait_for_selector(f"#segments li.segment.selected[data-index='{index}']")
        # It plays that segment from its start, and stops at its end.
        page.wait_for_function(f"() => {AUDIO}.paused && Math.abs({AUDIO}.currentTime - {start_at + 2}) < 0.3")
        seeks, times = playback_since_first_seek(page)
        assert seeks[0] == pytest.approx(start_at, abs=0.05), seeks
        assert times and start_at - 0.05 < min(times) and max(times) < start_at + 2.3, times
    assert page.locator("#segments li.segment.selected").count() == 1
    assert_nothing_leaked(page)


def editor_snapshot(page, duration: float) -> dict:
    """Everything a plain key could change, but typing must not."""
    state = page.evaluate(
        f"""() => {{
          const a = {AUDIO};
          return {{
            time: a.currentTime, paused: a.paused, rate: a.playbackRate,
            segments: document.querySelectorAll('#segments li').length,
            selected: document.querySelector('#segments li.selected')?.dataset.index ?? null,
            help: document.getElementById('help').hidden,
            loop: document.getElementById('loop').getAttribute('aria-pressed'),
            dialogs: document.querySelectorAll('dialog[open]').length,
            notice: document.getElementById('notice').hidden,
            clip: document.getElementById('editor').dataset.clip,
            focus: document.activeElement.id || document.activeElement.className,
          }};
        }}"""
    )
    return {**state, "zoom": round(waveform_scale(page, duration)["pps"])}


def test_no_plain_key_fires_while_typing_in_the_transcript_or_a_segment(page, reviewer, make_clips):
    make_clips(1, seconds=SECONDS)
    open_editor(page, reviewer)
    plain = [
        playwright_key(key)
        for keys in keymap(page).values()
        for key in keys
        if not key.startswith(("Ctrl+", "Alt+")) and key != "Escape"
    ]
    assert {"KeyJ", "Shift+KeyL", "ArrowLeft", "Digit0", "Comma", "Equal", "KeyN", "KeyW", "Delete"} <= set(plain)

    # The cursor mid-clip and a segment selected, so that any plain key firing would show.
    page.keyboard.press("Alt+Shift+KeyL")
    page.keyboard.press("Alt+KeyN")
    page.wait_for_selector("#segments li.segment.selected")
    page.keyboard.press("Alt+KeyT")
    wait_for_time(page, 5.0)

    submits = []
    page.on("request", lambda request: "/submit" in request.url and submits.append(request))
    for box in ("#transcript", "#segments .seg-text"):
        page.focus(box)
        page.evaluate("(box) => { const b = document.querySelector(box); b.value = ''; }", box)
        before = editor_snapshot(page, SECONDS)
        for key in plain:
            page.keyboard.press(key)
        assert editor_snapshot(page, SECONDS) == before, box
        # The keys went to the box (arrows, Home and Delete moved the caret and ate some of them).
        typed = page.input_value(box)
        assert len(typed) >= 15 and set("rtwsx=-?") <= set(typed), typed
    assert submits == []
    assert_nothing_leaked(page)


def test_the_alt_keys_work_while_typing(page, reviewer, make_clips):
    make_clips(1, seconds=SECONDS)
    open_editor(page, reviewer)
    text = page.input_value("#transcript")
    fitted = waveform_scale(page, SECONDS)["pps"]

    for key, position in [
        ("Alt+Shift+KeyL", 5.0),
        ("Alt+KeyL", 6.5),
        ("Alt+KeyJ", 5.0),
        ("Alt+Shift+KeyJ", 0.0),
        ("Alt+KeyL", 1.5),
        ("Alt+Digit0", 0.0),
    ]:
        page.keyboard.press(key)
        wait_for_time(page, position)
    page.keyboard.press("Alt+Period")
    assert audio(page)["rate"] == 1.25
    page.keyboard.press("Alt+Comma")
    assert audio(page)["rate"] == 1
    page.keyboard.press("Alt+Equal")
    assert waveform_scale(page, SECONDS)["pps"] == pytest.approx(2 * fitted, rel=0.02)
    page.keyboard.press("Alt+Minus")
    assert waveform_scale(page, SECONDS)["pps"] == pytest.approx(fitted, rel=0.02)
    page.keyboard.press("Alt+KeyK")
    wait_playing_past(page, 0.2)
    page.keyboard.press("Alt+KeyK")
    wait_paused(page)
    assert page.evaluate("document.activeElement.id") == "transcript"
    assert page.input_value("#transcript") == text  # none of them typed anything

    # In a segment's text box.
    page.keyboard.press("Alt+Digit0")
    page.keyboard.press("Alt+KeyN")
    page.wait_for_selector("#segments li.segment.selected")
    assert page.evaluate("document.activeElement.classList.contains('seg-text')")
    page.keyboard.press("Alt+KeyR")
    assert page.get_attribute("#loop", "aria-pressed") == "true"
    wait_playing_past(page, 0.1)
    page.keyboard.press("Alt+KeyR")
    assert page.get_attribute("#loop", "aria-pressed") == "false"
    page.keyboard.press("Escape")
    wait_paused(page)
    page.keyboard.press("Alt+Digit0")
    page.keyboard.press("Alt+ArrowDown")  # the segment plays (2 s, then it stops)
    page.wait_for_function(f"() => {AUDIO}.currentTime > 0.1")
    page.evaluate(f"{AUDIO}.pause()")
    page.keyboard.press("Alt+Delete")
    page.wait_for_selector("#segments-empty:not([hidden])")
    assert page.input_value("#transcript") == text

    page.keyboard.press("Alt+KeyT")
    assert page.evaluate("document.activeElement.id") == "transcript"
    page.keyboard.press("Alt+Shift+Slash")
    assert page.is_hidden("#help")
    page.keyboard.press("Alt+Shift+Slash")
    assert page.is_visible("#help")
    page.keyboard.press("Alt+KeyS")
    page.wait_for_selector("#skip-dialog[open]")
    page.keyboard.press("Escape")
    page.wait_for_selector("#skip-dialog:not([open])", state="attached")
    page.focus("#transcript")
    page.keyboard.press("Alt+KeyX")
    page.wait_for_selector("#escalate-dialog[open]")
    page.keyboard.press("Escape")
    page.wait_for_selector("#escalate-dialog:not([open])", state="attached")
    page.focus("#transcript")
    page.keyboard.press("Alt+KeyW")  # false wake: refused until the clip was heard, but it fired
    page.wait_for_selector("#notice:not([hidden])")
    assert "Play the whole clip" in page.inner_text("#notice")
    assert page.input_value("#transcript") == text
    assert_nothing_leaked(page)
