"""Submit & next in a real browser: key press to the next clip drawn and playable, and bytes per clip.

    .venv/bin/python bench/editor.py [--clips 50] [--database-url postgres://...]

Serves the app the production way (uvicorn, collected and compressed static files, DEBUG off)
on 127.0.0.1 from a throw-away VAR_DIR, with the demo clips (Opus, WAV, FLAC, MP3 speech, 1-5 s)
ingested twice over. One reviewer signs in with a real TOTP code in Debian's Chromium, then for
each clip: waits until the page has claimed the next clip ahead and its spare player can play it
(reviewers spend seconds on a clip; the page claims ahead 1.5 s after drawing), types a word,
presses Ctrl+Enter (the word goes with the submit), and reads the page's own marks:
`submit-pressed` (in the keydown handler), `submit-answered`, `clip-drawn` (waveform painted) and
`clip-playable` (the audio element can play). Latency = the later of the last two minus the first.
The script leaves the page alone for 0.6 s after the key press: Playwright's waits run script in
the page and would compete with the editor inside the window being measured.

Bytes: every response's headers and body as the browser received them (compressed where the
server compressed), for the cold first clip page (HTML, scripts, styles, vendor modules, JSON)
and for each following clip (the submit, the claim ahead, saves), audio excluded and counted
apart. Volume limits are off (a person does not do 50 clips a minute) and so is the full-playback
rule (playing 50 clips through would measure nothing but the clips' length); nothing else is.
"""

import sys
from pathlib import Path

# Run as `python bench/editor.py`, Python puts bench/ first on sys.path, where bench/queue.py
# would shadow the standard library's `queue` (which concurrent.futures imports). Put the
# repository root there instead, before anything else is imported.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime

ROOT = Path(__file__).resolve().parents[1]
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
PASSWORD = "bench password that is long enough"  # noqa: S105  a throw-away account in a throw-away database


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(share * (len(ordered) - 1))))
    return ordered[index]


def prepare(env: dict, var_dir: Path, clips: int) -> str:
    """Migrate, collect static files, ingest clips, make a reviewer; return their TOTP secret."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from guardian.shortcuts import assign_perm

    from annotations.models import ClipPool
    from reviewportal.accounts.mfa import totp_secret
    from reviewportal.accounts.roles import REVIEWERS

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    demo = [json.loads(line) for line in (ROOT / "demo" / "manifest.jsonl").read_text().splitlines() if line]
    demo = [entry for entry in demo if not entry["human_review_opt_out"]]
    manifest = var_dir / "manifest.jsonl"
    with manifest.open("w") as out:
        # A margin of spare clips: the queue holds back "possible distress" clips past the
        # per-shift cap (DISTRESS_CLIPS_PER_SHIFT), and the last submit needs a next clip too.
        for i in range(clips + 12):
            entry = dict(demo[i % len(demo)])
            entry["source_id"] = f"bench-{i:04d}"
            entry["audio"] = str(ROOT / "demo" / entry["audio"])
            entry["priority"] = 0
            out.write(json.dumps(entry) + "\n")
    call_command("ingest_clips", str(manifest), stdout=open(os.devnull, "w"), stderr=open(os.devnull, "w"))  # noqa: SIM115  closed with the process
    user = get_user_model().objects.create_user("bench-reviewer", password=PASSWORD)
    reviewers = Group.objects.get(name=REVIEWERS)
    user.groups.add(reviewers)
    for pool in ClipPool.objects.all():
        assign_perm("annotations.review_pool", reviewers, pool)
    device = TOTPDevice.objects.create(user=user, name="authenticator app", confirmed=True)
    return totp_secret(device)


def run(clips: int, database_url: str | None, redis_url: str | None) -> dict:

    var_dir = Path(tempfile.mkdtemp(prefix="bench-editor-"))
    port = free_port()
    env = {
        "VAR_DIR": str(var_dir),
        "SECRETS_FILE": str(ROOT / "var" / "secrets.env"),
        "DJANGO_SETTINGS_MODULE": "reviewportal.settings",
        "DEBUG": "0",
        "SECURE_COOKIES": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "VOLUME_AUDIO_LINKS_PER_MINUTE": "0",
        "VOLUME_CLAIMS_PER_MINUTE": "0",
        "REQUIRE_FULL_PLAYBACK": "0",
        "LOG_LEVEL": "WARNING",
    }
    if database_url:
        env["DATABASE_URL"] = database_url
    if redis_url:
        env["REDIS_URL"] = redis_url
    secret = prepare(env, var_dir, clips)
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "uvicorn"),
            "reviewportal.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        return drive(base, secret, clips)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
        shutil.rmtree(var_dir, ignore_errors=True)


def drive(base: str, secret: str, clips: int) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.totp import totp

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        version = browser.version
        context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=base)
        page = context.new_page()
        page.set_default_timeout(15000)
        transfers: list[tuple[float, str, int]] = []

        def finished(request):
            sizes = request.sizes()
            response = request.response()
            body = sizes["responseBodySize"]
            encoded = response.header_value("content-length") if response else None
            transfers.append(
                (time.monotonic(), request.url, sizes["responseHeadersSize"] + (int(encoded) if encoded else body))
            )

        page.on("requestfinished", finished)
        page.goto("/login/")
        page.fill("#id_username", "bench-reviewer")
        page.fill("#id_password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/login/verify")
        page.fill("#id_code", totp(secret))
        page.click("main button[type=submit]")
        page.wait_for_url(f"{base}/")

        cold_start = time.monotonic()
        page.click("#start")
        page.wait_for_selector("#editor[data-waveform=drawn][data-audio=ready]")
        page.wait_for_selector("#editor[data-next=ready]")
        cold = [t for t in transfers if t[0] >= cold_start]
        cold_bytes = sum(size for _, url, size in cold if "/audio/" not in url)
        cold_files = len([1 for _, url, _ in cold if "/audio/" not in url])

        latencies, drawn, answered, per_clip_bytes, audio_bytes = [], [], [], [], []
        for _ in range(clips):
            page.wait_for_selector("#editor[data-next=ready][data-audio=ready]")
            next_id = page.evaluate("document.getElementById('editor').dataset.clip")
            page.focus("#transcript")
            page.keyboard.type(" ok")
            window_start = time.monotonic()
            page.keyboard.press("Control+Enter")
            # Leave the page alone while it works: Playwright's waits run script in the page and
            # would take the main thread from the editor in the very window being measured.
            time.sleep(0.6)
            page.wait_for_function(
                "(previous) => { const e = document.getElementById('editor').dataset;"
                " return e.clip && e.clip !== previous && e.waveform === 'drawn' && e.audio === 'ready'; }",
                arg=next_id,
            )
            page.wait_for_selector("#editor[data-next=ready]", timeout=15000)
            marks = page.evaluate(
                "Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, m.startTime]))"
            )
            pressed = marks["submit-pressed"]
            latencies.append(max(marks["clip-drawn"], marks["clip-playable"]) - pressed)
            drawn.append(marks["clip-drawn"] - pressed)
            answered.append(marks["submit-answered"] - pressed)
            window = [t for t in transfers if t[0] >= window_start]
            per_clip_bytes.append(sum(size for _, url, size in window if "/audio/" not in url))
            audio_bytes.append(sum(size for _, url, size in window if "/audio/" in url))
        browser.close()
    return {
        "chromium": version,
        "clips": clips,
        "latency_ms": {
            "p50": round(statistics.median(latencies), 1),
            "p95": round(percentile(latencies, 0.95), 1),
            "p99": round(percentile(latencies, 0.99), 1),
            "max": round(max(latencies), 1),
        },
        "submit_answered_ms": {
            "p50": round(statistics.median(answered), 1),
            "p95": round(percentile(answered, 0.95), 1),
        },
        "drawn_ms": {"p50": round(statistics.median(drawn), 1), "p95": round(percentile(drawn, 0.95), 1)},
        "cold_clip_page_bytes_excluding_audio": cold_bytes,
        "cold_clip_page_requests_excluding_audio": cold_files,
        "next_clip_bytes_excluding_audio": {
            "p50": statistics.median(per_clip_bytes),
            "max": max(per_clip_bytes),
        },
        "next_clip_audio_bytes_p50": statistics.median(audio_bytes),
    }


def machine() -> dict:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.partition(":")[2].strip()
            break
    ram_kib = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(ram_kib / 2**20, 1),
        "load_average_1m_before": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=50)
    parser.add_argument(
        "--database-url", default=None, help="an empty database to fill; default: SQLite in a throw-away VAR_DIR"
    )
    parser.add_argument("--redis-url", default=None, help="cache, sessions and channel layer; default: in memory")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    result = {
        "machine": machine(),
        "database": "postgresql" if args.database_url else "sqlite",
        **run(args.clips, args.database_url, args.redis_url),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
