"""Issue 5, deliverable 7: the editor is usable from the keyboard and by assistive technology.

Names come from Chromium's accessibility tree (Playwright's ARIA snapshot and role locators), not
from reading the template; the focus order is what Tab does in the browser; "visible" is the
computed outline or shadow while an element has keyboard focus, against the same element unfocused.
"""

import re

import pytest

from tests.browser.editor_page import open_editor
from tests.browser.test_editor import assert_nothing_leaked

pytestmark = pytest.mark.django_db(transaction=True)

CONTROL_ROLES = "button|checkbox|textbox|combobox|radio|spinbutton|slider|link|switch|searchbox|listbox|menuitem"
# A control line of an ARIA snapshot whose role is followed by no quoted name: `- button`, `- checkbox [checked]`.
UNNAMED = re.compile(rf"^\s*- ({CONTROL_ROLES})(\s*\[[^\]]*\])*(:.*)?$", re.MULTILINE)
NAMED = re.compile(rf"^\s*- '?({CONTROL_ROLES}) \"[^\"]+\"", re.MULTILINE)
TAGS = ["unintelligible", "background_speech", "not_addressed", "music", "several_speakers"]
SEGMENT_TAGS = ["unintelligible", "background speech", "not addressed to the assistant (false wake)", "music"]
SEGMENT_TAGS.append("several speakers")


def assert_every_control_is_named(snapshot: str, *, at_least: int) -> None:
    assert UNNAMED.findall(snapshot) == [], snapshot
    assert len(NAMED.findall(snapshot)) >= at_least, snapshot


def test_every_control_has_an_accessible_name(page, reviewer, make_clips):
    make_clips(1, seconds=6)
    open_editor(page, reviewer)
    page.keyboard.press("Alt+KeyN")  # a segment, so that its row's controls are there too
    page.wait_for_selector("#segments li.segment")

    snapshot = page.locator("#editor").aria_snapshot()
    assert_every_control_is_named(snapshot, at_least=24)
    waveform = page.get_by_role("group", name=re.compile(r"^Waveform: click to move the cursor"))
    assert waveform.get_attribute("tabindex") == "0"
    for role, name in [
        ("button", "Zoom in"),
        ("button", "Zoom out"),
        ("button", "Loop the selection or the selected segment"),
        ("combobox", "Speed"),
        ("textbox", "Transcript (pre-filled from the machine transcript)"),
        ("textbox", "Segment 1 text"),
        ("checkbox", "Segment 1: music"),
        ("checkbox", "not addressed to the assistant (false wake)"),
        ("button", "Delete segment 1"),
        ("button", "Submit & next"),
    ]:
        assert page.get_by_role(role, name=name, exact=True).count() == 1, (role, name)
    assert page.get_by_role("button", name=re.compile(r"^Play segment 1, 0:00\.0")).count() == 1

    # The dialogs, open.
    page.keyboard.press("Alt+KeyS")
    page.wait_for_selector("#skip-dialog[open]")
    assert_every_control_is_named(page.locator("#skip-dialog").aria_snapshot(), at_least=5)
    page.keyboard.press("Escape")
    page.focus("#transcript")
    page.keyboard.press("Alt+KeyX")
    page.wait_for_selector("#escalate-dialog[open]")
    assert_every_control_is_named(page.locator("#escalate-form").aria_snapshot(), at_least=6)
    for name in ("What did you hear?", "From (s)", "To (s)"):
        assert page.get_by_role("dialog").get_by_label(name, exact=True).count() == 1, name
    assert_nothing_leaked(page)


# What Tab reaches in the editor, in this order: waveform, playback, transcript, tags, the
# segment's row, then the actions.
TAB_ORDER = [
    "waveform",
    "play",
    "speed",
    "zoom-out",
    "zoom-in",
    "loop",
    "add-segment",
    "transcript",
    *(f"clip-tag:{tag}" for tag in TAGS),
    "Play segment 1",
    "Segment 1 text",
    *(f"Segment 1: {tag}" for tag in SEGMENT_TAGS),
    "Delete segment 1",
    "submit",
    "false-wake",
    "skip",
    "escalate",
]

WALK = """() => {
  const element = document.activeElement;
  window.__walked = window.__walked || [];
  window.__walked.push(element);
  const style = getComputedStyle(element);
  const name = element.id || (element.name ? `${element.name}:${element.value}` : '')
    || (element.getAttribute('aria-label') || '').split(',')[0];
  return {name, visible: element.matches(':focus-visible'),
          style: [style.outlineStyle, style.outlineWidth, style.outlineColor, style.boxShadow]};
}"""

UNFOCUSED = """() => window.__walked.map((element) => {
  const style = getComputedStyle(element);
  return element.isConnected ? [style.outlineStyle, style.outlineWidth, style.outlineColor, style.boxShadow] : null;
})"""


def test_tab_reaches_the_waveform_transcript_segments_and_buttons_in_order_with_visible_focus(
    page, reviewer, make_clips
):
    make_clips(1, seconds=6)
    open_editor(page, reviewer)
    page.keyboard.press("Alt+KeyN")
    page.wait_for_selector("#segments li.segment")

    page.focus(".topbar .brand")
    walked = []
    for _ in range(len(TAB_ORDER) + 10):
        page.keyboard.press("Tab")
        walked.append(page.evaluate(WALK))
        if walked[-1]["name"] == "escalate":
            break
    page.focus(".topbar .brand")
    unfocused = page.evaluate(UNFOCUSED)

    names = [step["name"] for step in walked]
    assert names[names.index("waveform") :] == TAB_ORDER
    for step, before in zip(walked, unfocused, strict=True):
        if step["name"] not in TAB_ORDER:
            continue  # the top bar's links
        outline_style, outline_width, _, shadow = step["style"]
        assert step["visible"], step
        assert (outline_style != "none" and float(outline_width.removesuffix("px")) >= 2) or shadow != "none", step
        assert before is not None and step["style"] != before, (step, before)
    assert_nothing_leaked(page)
