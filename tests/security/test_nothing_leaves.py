"""Promise 3: nothing leaves the tool — headers, no download affordances, volume limits, deploy checks."""

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.test import Client

from reviewportal.security.models import VolumeLimitHit
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pages(reviewer, supervisor, outsider, make_clips):
    """(client, path) for every HTML page a person can see in the review loop."""
    make_clips(1)
    first_sign_in = Client()
    first_sign_in.post("/login/", {"username": "olga", "password": "correct horse battery staple"})
    browser = signed_in(reviewer, Client)
    clip_path = browser.post("/queue/next")["Location"]
    boss = signed_in(supervisor, Client)
    password_only = Client()
    password_only.post("/login/", {"username": "sana", "password": "correct horse battery staple"})
    return [
        (Client(), "/login/"),
        (password_only, "/login/verify"),
        (browser, "/"),
        (browser, clip_path),
        (browser, "/account/backup-codes"),
        (boss, "/supervise/people"),
        (first_sign_in, "/login/enrol"),
    ]


def csp_directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def test_every_page_carries_a_strict_content_security_policy(pages):
    clip_path = pages[3][1]
    for client, path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        directives = csp_directives(response)
        assert directives["default-src"] == ["'self'"], path
        assert directives["script-src"] == ["'self'"], path
        # The clip editor's page alone adds a nonce, for wavesurfer.js's one <style> in its shadow root.
        style_src = directives["style-src"]
        if path == clip_path:
            assert style_src[0] == "'self'" and re.fullmatch(r"'nonce-[A-Za-z0-9+/=]{20,}'", style_src[1]), style_src
            assert len(style_src) == 2
        else:
            assert style_src == ["'self'"], path
        assert directives["media-src"] == ["'self'"], path
        assert directives["connect-src"] == ["'self'", "ws://testserver"], path
        assert directives["frame-ancestors"] == ["'none'"], path
        assert directives["form-action"] == ["'self'"], path
        assert directives["base-uri"] == ["'none'"], path
        assert directives["object-src"] == ["'none'"], path


def test_a_policy_kept_for_the_next_answer_follows_scheme_and_host_and_never_carries_a_nonce(pages):
    browser, clip_path = pages[3]  # one client, so one middleware instance and what it kept

    first, again = browser.get("/"), browser.get("/")
    secure = browser.get("/", secure=True)
    other_host = browser.get("/", HTTP_HOST="localhost")
    editor, after_editor = browser.get(clip_path), browser.get("/")
    another_editor = browser.get(clip_path)

    assert again["Content-Security-Policy"] == first["Content-Security-Policy"]
    assert csp_directives(again)["connect-src"] == ["'self'", "ws://testserver"]
    assert csp_directives(secure)["connect-src"] == ["'self'", "wss://testserver"]
    assert csp_directives(other_host)["connect-src"] == ["'self'", "ws://localhost"]
    nonces = [csp_directives(response)["style-src"][1] for response in (editor, another_editor)]
    assert nonces[0] != nonces[1]  # a page's nonce is its own, never kept
    assert csp_directives(after_editor)["style-src"] == ["'self'"]


def test_every_page_carries_the_other_protective_headers(pages):
    for client, path in pages:
        response = client.get(path)
        # same-origin, not no-referrer: under no-referrer browsers send `Origin: null` with every
        # POST, which the CSRF check refuses (found by the browser tests of issue 5).
        assert response["Referrer-Policy"] == "same-origin", path
        assert response["Cross-Origin-Opener-Policy"] == "same-origin", path
        assert response["X-Frame-Options"] == "DENY", path
        assert response["X-Content-Type-Options"] == "nosniff", path
        policy = response["Permissions-Policy"]
        for feature in ("camera=()", "microphone=()", "geolocation=()", "display-capture=()"):
            assert feature in policy, (path, feature)


def test_https_answers_carry_hsts(pages):
    client, path = pages[0]
    response = client.get(path, secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_a_websocket_connection_on_https_is_named_wss(pages):
    client, path = pages[0]
    assert "wss://testserver" in csp_directives(client.get(path, secure=True))["connect-src"]


def test_no_page_has_inline_script_or_style_or_a_download_affordance(pages):
    for client, path in pages:
        html = client.get(path).content.decode()
        # Page data travels as json_script (type="application/json"), which no browser runs.
        assert not re.search(r'<script(?![^>]*\s(?:src=|type="application/json"))[^>]*>', html), path
        assert "<style" not in html and " style=" not in html, path
        assert not re.search(r"\son[a-z]+=", html), path  # no inline event handlers
        assert " download" not in html and "data:" not in html and "blob:" not in html, path


def test_the_player_offers_no_download_and_no_context_menu(pages):
    client, path = pages[3]
    html = client.get(path).content.decode()
    player = re.search(r"<audio[^>]*>", html).group(0)
    assert 'controlsList="nodownload' in player
    assert "data-protected" in player
    protect = (ROOT / "static" / "js" / "protected-audio.js").read_text()
    assert 'addEventListener("contextmenu", (event) => event.preventDefault())' in protect
    assert "nodownload" in protect
    # Every page with a player loads a script that protects it (tests/browser/test_case_page.py runs them).
    for script in ("clip-page.js", "case-page.js"):
        assert 'from "./protected-audio.js"' in (ROOT / "static" / "js" / script).read_text(), script


def test_plain_http_is_redirected_to_https_in_production(settings, client):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/login/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/login/"


def test_more_audio_links_than_a_person_can_use_get_429_and_are_kept_for_supervisors(
    reviewer_client, make_clips, settings
):
    settings.VOLUME_LIMITS = {**settings.VOLUME_LIMITS, "audio_link": (3, 60)}
    make_clips(1)
    clip_id = reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"]  # link 1

    statuses = [reviewer_client.get(f"/api/v1/clips/{clip_id}").status_code for _ in range(4)]

    assert statuses == [200, 200, 429, 429]
    refused = reviewer_client.get(f"/api/v1/clips/{clip_id}")
    assert "more audio than a person can listen to" in refused.json()["detail"]
    assert int(refused["Retry-After"]) >= 1
    hit = VolumeLimitHit.objects.get()  # one record per window, however many refusals
    assert (hit.user.username, hit.kind, hit.limit) == ("rita", "audio_link", 3)


def test_more_clips_than_a_person_can_review_get_429(reviewer_client, make_clips, settings):
    settings.VOLUME_LIMITS = {**settings.VOLUME_LIMITS, "claim": (2, 60)}
    make_clips(4)
    taken = []
    for _ in range(2):
        body = reviewer_client.post("/api/v1/queue/claim").json()
        lease_id = body["lease"]["id"]
        taken.append(body["clip"]["id"])
        reviewer_client.post(f"/api/v1/leases/{lease_id}/release", {"reason": "other"}, format="json")

    refused = reviewer_client.post("/api/v1/queue/claim")

    assert refused.status_code == 429
    assert "more clips than a person can review" in refused.json()["detail"]
    assert VolumeLimitHit.objects.filter(kind="claim").count() == 1


def test_claiming_again_the_clip_already_held_does_not_count(reviewer_client, make_clips, settings):
    settings.VOLUME_LIMITS = {**settings.VOLUME_LIMITS, "claim": (1, 60), "audio_link": (100, 60)}
    make_clips(2)
    first = reviewer_client.post("/api/v1/queue/claim").json()
    again = reviewer_client.post("/api/v1/queue/claim")
    assert again.status_code == 200 and again.json()["lease"]["id"] == first["lease"]["id"]


def test_the_clip_page_says_slow_down_past_the_audio_limit(reviewer, make_clips, settings):
    settings.VOLUME_LIMITS = {**settings.VOLUME_LIMITS, "audio_link": (1, 60)}
    make_clips(1)
    browser = signed_in(reviewer, Client)
    clip_path = browser.post("/queue/next")["Location"]
    assert browser.get(clip_path).status_code == 200

    response = browser.get(clip_path)

    assert response.status_code == 429
    assert b"more audio than a person can listen to" in response.content


def test_supervisors_can_read_volume_limit_records_and_reviewers_cannot(supervisor, reviewer, make_clips, settings):
    from django.contrib.auth.models import Permission

    perm = Permission.objects.get(codename="view_volumelimithit")
    assert supervisor.has_perm(f"security.{perm.codename}")
    assert not reviewer.has_perm(f"security.{perm.codename}")


def test_no_reviewer_endpoint_offers_audio_as_a_download(reviewer_client, make_clips):
    make_clips(1)
    body = reviewer_client.post("/api/v1/queue/claim").json()
    response = reviewer_client.get(urlsplit(body["clip"]["audio_url"]).path)
    assert response["Content-Disposition"] == "inline"
    assert "attachment" not in response.get("Content-Disposition", "")


def test_check_deploy_prints_no_warnings_under_production_settings(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECURE_COOKIES", "SECURE_SSL_REDIRECT"}},
        "DEBUG": "0",
        "SECRET_KEY": "p" * 20 + "Q9!x" * 10,
        "ALLOWED_HOSTS": "review.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        ("http://testserver", 302),  # what a browser sends under Referrer-Policy: same-origin
        ("null", 403),  # what it would send under no-referrer: refused, hence same-origin
        ("https://evil.example", 403),
    ],
)
def test_same_origin_forms_work_and_cross_site_posts_fail(reviewer, origin, status):
    from tests.conftest import PASSWORD

    browser = Client(enforce_csrf_checks=True)
    browser.get("/login/")
    data = {"username": "rita", "password": PASSWORD, "csrfmiddlewaretoken": browser.cookies["csrftoken"].value}

    response = browser.post("/login/", data, HTTP_ORIGIN=origin)

    assert response.status_code == status


def test_a_same_origin_post_without_the_csrf_token_still_fails(reviewer):
    browser = Client(enforce_csrf_checks=True)
    browser.get("/login/")
    response = browser.post("/login/", {"username": "rita", "password": "x"}, HTTP_ORIGIN="http://testserver")
    assert response.status_code == 403
