"""Issue 5: the clip page carries the editor: its data, its keys, its nonce, and wavesurfer.js from npm."""

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from annotations.editor import KEYMAP, keyboard_help
from annotations.models import Lease, LeaseOutcome
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db
VENDOR = (
    "vendor/wavesurfer/wavesurfer.esm.js",
    "vendor/wavesurfer/plugins/regions.esm.js",
    "vendor/wavesurfer/plugins/timeline.esm.js",
)


def test_wavesurfer_is_served_from_node_modules():
    """Fails loudly when `npm ci` has not run: the editor cannot draw a waveform without these."""
    for path in VENDOR:
        found = finders.find(path)
        assert found, f"static file {path} is missing: run `npm ci` (make test does) to install wavesurfer.js"
        assert "/node_modules/wavesurfer.js/dist/" in found


def test_every_module_the_editor_imports_is_a_static_file():
    from pathlib import Path

    root = Path(finders.find("js/clip-page.js")).parent
    for script in [*sorted(root.glob("*.js")), *sorted((root / "editor").glob("*.js"))]:
        for target in re.findall(r'from "(\.[^"]+)"', script.read_text()):
            resolved = (script.parent / target).resolve()
            relative = resolved.relative_to(root.parent) if resolved.is_relative_to(root.parent) else None
            assert relative and finders.find(str(relative)), f"{script.name} imports {target}, which is not served"


@pytest.fixture
def page(reviewer, make_clips):
    make_clips(1)
    browser = signed_in(reviewer, Client)
    path = browser.post("/queue/next")["Location"]
    return browser.get(path)


def _json_script(html: str, element_id: str):
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


def test_the_clip_page_hands_the_editor_the_api_shape_and_its_settings(page):
    html = page.content.decode()
    data = _json_script(html, "clip-data")
    config = _json_script(html, "editor-config")

    assert data["clip"]["asr_text"] == "set a timer for ten minutes"
    assert data["clip"]["peaks"]["encoding"] == "int8-minmax-base64"
    assert data["lease"]["id"] == str(Lease.objects.get().public_id)
    assert config["require_full_playback"] is True
    assert config["keymap"]["submit_next"] == ["Ctrl+Enter"]
    assert [tag["value"] for tag in config["tags"]] == [
        "unintelligible",
        "background_speech",
        "not_addressed",
        "music",
        "several_speakers",
    ]
    assert "Wilhelmina" not in html and "ACCT-TEST-0001" not in html  # never who was recorded


def test_the_style_nonce_the_editor_gets_is_the_one_in_the_policy(page):
    config = _json_script(page.content.decode(), "editor-config")
    directives = dict(part.strip().split(" ", 1) for part in page["Content-Security-Policy"].split(";"))
    assert directives["style-src"] == f"'self' 'nonce-{config['style_nonce']}'"
    assert directives["script-src"] == "'self'"  # scripts get no nonce: every script is a file


def test_the_nonce_is_new_on_every_load(reviewer, make_clips):
    make_clips(1)
    browser = signed_in(reviewer, Client)
    path = browser.post("/queue/next")["Location"]
    nonces = {_json_script(browser.get(path).content.decode(), "editor-config")["style_nonce"] for _ in range(3)}
    assert len(nonces) == 3


def test_no_key_is_bound_to_two_actions():
    keys = [key for binding in KEYMAP for key in binding.keys]
    assert len(keys) == len(set(keys))


PUNCTUATION = {"Comma", "Period", "Equal", "Minus", "Slash"}


def test_keys_that_type_also_work_with_alt_so_they_can_be_used_while_typing():
    """Letters, digits and punctuation, with or without Shift (issue 5: "?" had no Alt twin)."""
    for binding in KEYMAP:
        for key in binding.keys:
            *modifiers, name = key.split("+")
            if set(modifiers) - {"Shift"} or not ((len(name) == 1 and name.isalnum()) or name in PUNCTUATION):
                continue
            assert f"Alt+{key}" in binding.keys, (binding.action, key)


def test_the_help_on_the_page_lists_every_action(page):
    html = page.content.decode()
    for row in keyboard_help():
        assert row["label"].replace("&", "&amp;") in html


def test_the_queue_home_counts_this_shift_and_offers_the_start_button(reviewer, make_clips):
    make_clips(2)
    browser = signed_in(reviewer, Client)
    home = browser.get("/").content.decode()
    assert re.search(r'<strong id="shift-count">0</strong> clips this shift', home)
    assert 'id="start"' in home and "Start reviewing" in home

    clip_path = browser.post("/queue/next")["Location"]
    clip_id = clip_path.rsplit("/", 1)[1]
    browser.post(f"/clips/{clip_id}/transcript", {"text": "x", "base_version": 0, "action": "submit", "played": "on"})
    assert Lease.objects.filter(outcome=LeaseOutcome.SUBMITTED).count() == 1
    home = browser.get("/").content.decode()
    assert re.search(r'<strong id="shift-count">1</strong> clip this shift', home)
