"""A real browser against a live server: Playwright for Python driving Debian's Chromium.

The browser is Debian's (/usr/bin/chromium, or CHROMIUM_PATH); Playwright's own browser
downloads are never used. CI installs the package with apt-get when it is missing. The live
server is pytest-django's (static files through the finders, so node_modules is served exactly as
in production), over plain http on localhost, so the cookies are not marked Secure here.
"""

import io
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from guardian.shortcuts import assign_perm

from reviewportal.accounts.mfa import totp_secret
from reviewportal.accounts.roles import REVIEWERS
from tests.audio_files import metadata, write_audio, write_manifest
from tests.conftest import PASSWORD, enrol_totp
from tests.totp import totp

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"

# Records, from before the page's own scripts run, what the test must be able to see: CSP
# violations, and how many waveform pixels were painted when the audio element began to load.
WATCH_PAGE = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
}, true);
window.__waveformPixels = () => {
  const host = document.querySelector("#waveform > div");
  const root = host && host.shadowRoot;
  if (!root) return 0;
  let painted = 0;
  for (const canvas of root.querySelectorAll("canvas")) {
    if (!canvas.width || !canvas.height) continue;
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
  }
  return painted;
};
window.__audioLoads = [];
document.addEventListener("loadstart", (e) => {
  if (e.target.id === "player") window.__audioLoads.push({src: e.target.currentSrc, pixels: window.__waveformPixels()});
}, true);
"""


@pytest.fixture(scope="session")
def live_server():
    """pytest-django's live server, started with a MEDIA_URL its media handler can parse.

    This project has no media URL at all (MEDIA_URL = None: audio is reachable only through the
    audio view), which Django's test server cannot wrap; it gets a path no route uses while the
    server's handlers are built. SecurityMiddleware reads its https redirect once, then: the
    server speaks plain http like `make demo` (SECURE_COOKIES=0).
    """
    from django.test.utils import override_settings
    from pytest_django.live_server_helper import LiveServer

    with override_settings(MEDIA_URL="/media-is-never-served/", SECURE_SSL_REDIRECT=False, SECURE_HSTS_SECONDS=0):
        server = LiveServer("localhost")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chromium():
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.fail(f"No Chromium at {CHROMIUM}: `apt-get install chromium` (CI does), or set CHROMIUM_PATH")
    # Playwright's sync API keeps an event loop in this thread; Django's guard against database
    # calls from async code would then refuse the test's own (synchronous) queries.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def http_only_cookies(settings):
    """The live server speaks plain http; Secure cookies would never come back from the browser."""
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_SSL_REDIRECT = False


@dataclass
class Watched:
    """What happened in the page: requests, answers, downloads, CSP violations, console errors."""

    requests: list = field(default_factory=list)
    responses: list = field(default_factory=list)
    downloads: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)  # uncaught exceptions, which the console list misses

    def audio_responses(self):
        return [(r.status, r.request.headers.get("range")) for r in self.responses if "/audio/" in r.url]

    def audio_requests(self):
        return [r for r in self.requests if "/audio/" in r.url]


@pytest.fixture
def page(chromium, live_server, http_only_cookies):
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, base_url=live_server.url)
    page = context.new_page()
    page.add_init_script(WATCH_PAGE)
    watched = Watched()
    page.on("request", lambda request: watched.requests.append(request))
    page.on("response", lambda response: watched.responses.append(response))
    page.on("download", lambda download: watched.downloads.append(download))
    page.on("console", lambda message: message.type == "error" and watched.console_errors.append(message.text))
    page.on("pageerror", lambda error: watched.page_errors.append(str(error)))
    page.watched = watched
    page.set_default_timeout(10000)
    yield page
    context.close()


def sign_in(page, user) -> None:
    """Both factors, through the real pages: password, then a TOTP code computed from the device's secret."""
    device = enrol_totp(user)
    page.goto("/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/login/verify"))
    page.fill("#id_code", totp(totp_secret(device)))
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


@pytest.fixture
def long_clips(tmp_path):
    """Ingest n 30 s clips of 48 kHz stereo WAV (5.8 MB each, so a far seek needs a second Range request)."""

    def make(n: int, *, seconds: float = 30.0):
        from annotations.models import Clip

        entries = []
        for i in range(n):
            name = f"long-{i}.wav"
            write_audio(tmp_path / name, seconds, sample_rate=48000, channels=2)
            entries.append({**metadata(f"browser-{i}"), "audio": name})
        manifest = write_manifest(tmp_path / "manifest.jsonl", entries)
        call_command("ingest_clips", str(manifest), stdout=io.StringIO(), stderr=io.StringIO())
        clips = list(Clip.objects.order_by("id"))
        for pool in {clip.pool for clip in clips}:
            assign_perm("annotations.review_pool", Group.objects.get(name=REVIEWERS), pool)
        return clips

    return make
