"""The clip editor's keyboard map and settings: one list that both the help and the script read.

Keys are written as the editor's script normalises a key press: modifiers in the order Ctrl, Alt,
Shift, then the key's name from KeyboardEvent.code without its "Key"/"Digit"/"Arrow" prefix ("J",
"0", "Left", "Enter", "Escape", "Comma", "Slash"). A key without Ctrl or Alt never fires while the
reviewer is typing in a text box, except Escape, which types nothing.
"""

from dataclasses import dataclass

from django.conf import settings

from annotations.models import ReleaseReason
from annotations.transcripts import Tag

# Saves wait this long after the last keystroke, and never longer than AUTOSAVE_MAX_WAIT_MS while
# someone keeps typing.
AUTOSAVE_DEBOUNCE_MS = 800
AUTOSAVE_MAX_WAIT_MS = 5000
# The lease is renewed only for a reviewer who touched a key or the mouse, or was playing audio,
# within this window; a tab left alone lets its lease run out.
ACTIVE_WINDOW_SECONDS = 120
# The clip after this one is claimed this long after the page is drawn, so it never competes
# with the current clip's first bytes.
PREFETCH_DELAY_MS = 1500
SPEEDS = (0.25, 0.5, 0.75, 1, 1.25, 1.5, 2)
# A clip counts as played when at most this much of it was never heard (end-of-media rounding).
PLAYED_TOLERANCE_MS = 250


@dataclass(frozen=True)
class Binding:
    action: str
    label: str
    keys: tuple[str, ...]


KEYMAP = (
    Binding("play_pause", "Play / pause", ("Escape", "Ctrl+Space", "Alt+K", "K")),
    Binding("back_short", "Back 1.5 s", ("Alt+J", "J", "Left")),
    Binding("forward_short", "Forward 1.5 s", ("Alt+L", "L", "Right")),
    Binding("back_long", "Back 5 s", ("Alt+Shift+J", "Shift+J", "Shift+Left")),
    Binding("forward_long", "Forward 5 s", ("Alt+Shift+L", "Shift+L", "Shift+Right")),
    Binding("slower", "Slower", ("Alt+Comma", "Comma")),
    Binding("faster", "Faster", ("Alt+Period", "Period")),
    Binding("to_start", "Back to start", ("Alt+0", "0", "Home")),
    Binding("add_segment", "Add segment at cursor", ("Alt+N", "N")),
    Binding("next_segment", "Next segment (plays it)", ("Alt+Down", "Down")),
    Binding("previous_segment", "Previous segment (plays it)", ("Alt+Up", "Up")),
    Binding("delete_segment", "Delete selected segment", ("Alt+Delete", "Delete")),
    Binding("loop", "Loop selection / segment", ("Alt+R", "R")),
    Binding("zoom_in", "Zoom in / out", ("Alt+Equal", "Equal")),
    Binding("zoom_out", "Zoom out", ("Alt+Minus", "Minus")),
    Binding("focus_transcript", "Go to the transcript", ("Alt+T", "T")),
    Binding("submit_next", "Submit & next", ("Ctrl+Enter",)),
    Binding("false_wake", "False wake: tag, submit & next", ("Ctrl+Shift+Enter", "Alt+W", "W")),
    Binding("skip", "Skip, with a reason", ("Alt+S", "S")),
    Binding("escalate", "Escalate (distress)", ("Alt+X", "X")),
    Binding("help", "Show / hide these keys", ("Alt+Shift+Slash", "Shift+Slash")),
)
# Shown together on one line of the help.
HELP_MERGED = {"zoom_out": "zoom_in"}

# Segment rows have room for short tag labels; the full label is each checkbox's accessible name.
SHORT_TAG_LABELS = {
    Tag.UNINTELLIGIBLE: "unintell.",
    Tag.BACKGROUND_SPEECH: "bg speech",
    Tag.NOT_ADDRESSED: "false wake",
    Tag.MUSIC: "music",
    Tag.SEVERAL_SPEAKERS: "speakers",
}

KEY_NAMES = {
    "Left": "←",
    "Right": "→",
    "Up": "↑",
    "Down": "↓",
    "Escape": "Esc",
    "Comma": ",",
    "Period": ".",
    "Equal": "=",
    "Minus": "-",
    "Slash": "/",
    "Shift+Slash": "?",
}


def key_label(key: str) -> str:
    """How the help shows a key: "Alt+Shift+J", "Shift+←", "?"."""
    if key in KEY_NAMES:
        return KEY_NAMES[key]
    *modifiers, name = key.split("+")
    return "+".join([*modifiers, KEY_NAMES.get(name, name)])


def keyboard_help() -> list[dict]:
    """One row per action, with the keys that work outside text boxes and the ones that always work.

    Every plain letter, digit or punctuation key also works with Alt held, in a text box too;
    the help says so once instead of listing each Alt+ twin.
    """
    rows: dict[str, dict] = {}
    for binding in KEYMAP:
        shown = [key_label(key) for key in binding.keys if not key.startswith("Alt+")]
        merged_into = HELP_MERGED.get(binding.action)
        if merged_into:
            rows[merged_into]["keys"] += ["/", *shown]
            continue
        rows[binding.action] = {"label": binding.label, "keys": shown}
    return list(rows.values())


def editor_config(*, style_nonce: str) -> dict:
    """What the editor's script needs besides the clip: settings, vocabularies and the keymap."""
    return {
        "style_nonce": style_nonce,
        "keymap": {b.action: list(b.keys) for b in KEYMAP},
        "tags": [{"value": tag.value, "label": tag.label, "short": SHORT_TAG_LABELS[tag]} for tag in Tag],
        "skip_reasons": [{"value": value, "label": label} for value, label in ReleaseReason.choices],
        "require_full_playback": settings.REQUIRE_FULL_PLAYBACK,
        "played_tolerance_ms": PLAYED_TOLERANCE_MS,
        "lease_seconds": settings.LEASE_SECONDS,
        "audio_url_seconds": settings.AUDIO_URL_SECONDS,
        "autosave_debounce_ms": AUTOSAVE_DEBOUNCE_MS,
        "autosave_max_wait_ms": AUTOSAVE_MAX_WAIT_MS,
        "active_window_seconds": ACTIVE_WINDOW_SECONDS,
        "prefetch_delay_ms": PREFETCH_DELAY_MS,
        "speeds": list(SPEEDS),
    }
