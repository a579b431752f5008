"""Reading the clip editor's state in the browser: the playing audio, the waveform's scale, keys.

Every wait here is on a condition in the page, never a fixed sleep: the machine may be slow.
"""

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.test_editor_paths import start

AUDIO = "document.querySelector('audio[data-current]')"

# Records, on the current audio element, where each seek landed and every position reported
# while playing, so a test can tell a loop that wraps from one that runs on. Calling it again
# starts a fresh record.
RECORD_PLAYBACK = """() => {
  window.__playback = [];
  if (window.__recording) return;
  window.__recording = true;
  for (const audio of document.querySelectorAll('audio')) {
    for (const type of ['seeking', 'timeupdate']) {
      audio.addEventListener(type, () => {
        if (audio.hasAttribute('data-current')) __playback.push([type, audio.currentTime]);
      });
    }
  }
}"""


def open_editor(page, reviewer) -> None:
    """Sign in, start, and wait until the first clip is drawn and its audio can play."""
    start(page, reviewer)
    page.wait_for_selector("#editor[data-audio=ready]")


def audio(page) -> dict:
    """Where the playing audio is, whether it is paused, and how fast it plays."""
    return page.evaluate(f"(a => ({{time: a.currentTime, paused: a.paused, rate: a.playbackRate}}))({AUDIO})")


def playback_since_first_seek(page) -> tuple[list[float], list[float]]:
    """Where each seek landed, and the positions reported from the first seek on."""
    events = page.evaluate("window.__playback")
    first = next(i for i, (kind, _) in enumerate(events) if kind == "seeking")
    events = events[first:]
    return [t for kind, t in events if kind == "seeking"], [t for kind, t in events if kind == "timeupdate"]


def wait_for_seeks(page, seconds: float, count: int, *, tolerance: float = 0.08) -> None:
    """Wait until playback has jumped to `seconds` `count` times since the record started."""
    page.wait_for_function(
        "([s, n, tol]) => window.__playback.filter(([k, t]) => k === 'seeking' && Math.abs(t - s) < tol).length >= n",
        arg=[seconds, count, tolerance],
    )


def wait_for_time(page, seconds: float, *, tolerance: float = 0.05) -> None:
    """Wait until the current audio's position is `seconds` (a seek by key lands at once)."""
    page.wait_for_function(f"() => Math.abs({AUDIO}.currentTime - {seconds}) <= {tolerance}")


def wait_playing_past(page, seconds: float) -> None:
    """Wait until the audio plays beyond `seconds`; playing needs the server's audio bytes, so wait longer."""
    try:
        page.wait_for_function(f"() => !{AUDIO}.paused && {AUDIO}.currentTime > {seconds}", timeout=20000)
    except PlaywrightTimeout:
        raise AssertionError(f"not playing past {seconds} s: {media_state(page)}") from None


def media_state(page) -> dict:
    """What the audio element was doing, and what the page said, for a failure's message."""
    return page.evaluate(
        f"""(a => ({{time: a.currentTime, paused: a.paused, seeking: a.seeking, ready: a.readyState,
              network: a.networkState, error: a.error && a.error.code,
              notice: document.getElementById('notice').textContent}}))({AUDIO})"""
    )


def wait_paused(page) -> None:
    page.wait_for_function(f"() => {AUDIO}.paused")


def waveform_scale(page, duration: float) -> dict:
    """The waveform's drawn width and left edge, the width it is shown in, and pixels per second."""
    scale = page.evaluate(
        """() => {
          const root = document.querySelector('#waveform > div').shadowRoot;
          const box = root.querySelector('[part~=wrapper]').getBoundingClientRect();
          return {left: box.left, width: box.width, shown: root.querySelector('[part~=scroll]').clientWidth};
        }"""
    )
    return {**scale, "pps": scale["width"] / duration}


def x_at(page, seconds: float, duration: float) -> float:
    """Where on screen the waveform shows `seconds` (scrolled to its start)."""
    scale = waveform_scale(page, duration)
    return scale["left"] + seconds * scale["pps"]


def waveform_y(page) -> float:
    box = page.locator("#waveform").bounding_box()
    return box["y"] + 50


def drag(page, x_from: float, x_to: float, y: float, *, shift: bool = False) -> None:
    if shift:
        page.keyboard.down("Shift")
    page.mouse.move(x_from, y)
    page.mouse.down()
    for step in range(1, 6):
        page.mouse.move(x_from + (x_to - x_from) * step / 5, y)
    page.mouse.up()
    if shift:
        page.keyboard.up("Shift")


def keymap(page) -> dict[str, list[str]]:
    """The keymap the page's script binds (annotations/editor.py, through json_script)."""
    return page.evaluate("JSON.parse(document.getElementById('editor-config').textContent).keymap")


def playwright_key(key: str) -> str:
    """The editor's key name ("Shift+J", "Alt+Comma", "Left") as Playwright presses it, by code."""
    *modifiers, name = key.split("+")
    modifiers = ["Control" if modifier == "Ctrl" else modifier for modifier in modifiers]
    if len(name) == 1 and name.isalpha():
        name = f"Key{name}"
    elif len(name) == 1 and name.isdigit():
        name = f"Digit{name}"
    elif name in ("Left", "Right", "Up", "Down"):
        name = f"Arrow{name}"
    return "+".join([*modifiers, name])
