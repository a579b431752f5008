"""The audio door: byte ranges for seeking, protective headers, and links bound to user, session and lease."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.core.files.storage import storages
from django.utils import timezone

from annotations.audio import MAX_RANGE_BYTES
from annotations.models import Clip, Lease
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def leased(reviewer_client, make_clips):
    """(clip, audio path) for a 40 s WAV leased to the reviewer: 1.28 MB, bigger than one range chunk."""
    make_clips(1, seconds=40)
    body = reviewer_client.post("/api/v1/queue/claim").json()
    return Clip.objects.get(), urlsplit(body["clip"]["audio_url"]).path


def audio_bytes(clip) -> bytes:
    with clip.open_audio() as f:
        return f.read()


def test_a_range_request_gets_206_with_exactly_those_bytes(reviewer_client, leased):
    clip, url = leased

    response = reviewer_client.get(url, HTTP_RANGE="bytes=100-1099")

    assert response.status_code == 206
    assert response.content == audio_bytes(clip)[100:1100]
    assert response["Content-Range"] == f"bytes 100-1099/{clip.audio_bytes}"
    assert response["Content-Length"] == "1000"
    assert response["Content-Type"] == "audio/wav"


def test_an_open_ended_range_is_answered_in_chunks_the_browser_can_follow(reviewer_client, leased):
    clip, url = leased
    whole = audio_bytes(clip)

    first = reviewer_client.get(url, HTTP_RANGE="bytes=0-")
    rest = reviewer_client.get(url, HTTP_RANGE=f"bytes={MAX_RANGE_BYTES}-")

    assert first.status_code == rest.status_code == 206
    assert first["Content-Range"] == f"bytes 0-{MAX_RANGE_BYTES - 1}/{len(whole)}"
    assert first.content + rest.content == whole


def test_a_suffix_range_gets_the_last_bytes(reviewer_client, leased):
    clip, url = leased

    response = reviewer_client.get(url, HTTP_RANGE="bytes=-500")

    assert response.status_code == 206
    assert response.content == audio_bytes(clip)[-500:]


def test_an_impossible_range_gets_416(reviewer_client, leased):
    clip, url = leased

    response = reviewer_client.get(url, HTTP_RANGE=f"bytes={clip.audio_bytes + 10}-")

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{clip.audio_bytes}"


def test_no_range_gets_the_whole_file(reviewer_client, leased):
    clip, url = leased

    response = reviewer_client.get(url)

    assert response.status_code == 200
    assert response.content == audio_bytes(clip)


def test_head_answers_the_headers_without_the_body(reviewer_client, leased):
    _, url = leased

    response = reviewer_client.head(url, HTTP_RANGE="bytes=0-99")

    assert response.status_code == 206
    assert response.content == b""
    assert response["Content-Length"] == "100"


@pytest.mark.parametrize("range_header", [None, "bytes=0-99", "bytes=999999999-"])
def test_every_audio_answer_carries_the_protective_headers(reviewer_client, leased, range_header):
    _, url = leased
    headers = {"HTTP_RANGE": range_header} if range_header else {}

    response = reviewer_client.get(url, **headers)

    assert response["Cache-Control"] == "no-store"
    assert response["Content-Disposition"] == "inline"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"


def test_a_post_to_the_audio_view_is_refused(reviewer_client, leased):
    _, url = leased
    assert reviewer_client.post(url).status_code == 405


def test_the_link_is_refused_in_another_session_of_the_same_user(reviewer, leased):
    _, url = leased
    second_browser = signed_in(reviewer)

    response = second_browser.get(url, HTTP_RANGE="bytes=0-99")

    assert response.status_code == 403
    assert b"another session" in response.content


def test_the_link_is_refused_to_another_user(other_reviewer_client, leased):
    """Someone else's link to a clip they may not hear: 404, as every door answers (issue 3)."""
    _, url = leased

    response = other_reviewer_client.get(url)

    assert response.status_code == 404
    assert response.content == b"No such clip"
    assert response["Cache-Control"] == "no-store"


def test_the_link_is_refused_to_anonymous(client, leased):
    _, url = leased
    assert client.get(url).status_code == 403


def test_the_link_dies_after_its_lifetime(reviewer_client, leased, settings, monkeypatch):
    _, url = leased
    later = timezone.now().timestamp() + settings.AUDIO_URL_SECONDS + 1
    monkeypatch.setattr(signing.time, "time", lambda: later)

    response = reviewer_client.get(url)

    assert response.status_code == 403
    assert b"expired" in response.content


@pytest.mark.parametrize("how", ["released", "submitted", "expired"])
def test_the_link_dies_with_the_lease(reviewer_client, leased, how):
    clip, url = leased
    lease = Lease.objects.get()
    if how == "released":
        reviewer_client.post(f"/api/v1/leases/{lease.public_id}/release", {"reason": "other"}, format="json")
    elif how == "submitted":
        reviewer_client.put(
            f"/api/v1/clips/{clip.public_id}/transcript", {"text": "x", "base_version": 0}, format="json"
        )
        reviewer_client.post(f"/api/v1/clips/{clip.public_id}/submit", {"played": True}, format="json")
    else:
        Lease.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = reviewer_client.get(url)

    assert response.status_code == 403
    assert b"lease behind this audio link has ended" in response.content


def test_a_link_from_an_old_lease_does_not_open_the_same_clip_under_a_new_one(reviewer_client, leased):
    clip, url = leased
    Lease.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    fresh = reviewer_client.post("/api/v1/queue/claim").json()
    assert fresh["clip"]["id"] == str(clip.public_id)  # the same clip, leased again

    assert reviewer_client.get(url).status_code == 403
    assert reviewer_client.get(urlsplit(fresh["clip"]["audio_url"]).path).status_code == 200


def test_a_tampered_link_is_refused(reviewer_client, leased):
    _, url = leased
    tampered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    assert reviewer_client.get(tampered).status_code == 403


def test_with_an_nginx_location_the_app_decides_and_hands_off(reviewer_client, leased, settings):
    clip, url = leased
    settings.AUDIO_X_ACCEL_PREFIX = "/protected-audio/"

    response = reviewer_client.get(url, HTTP_RANGE="bytes=0-99")

    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/protected-audio/{clip.audio_name}"
    assert response.content == b""
    assert response["Cache-Control"] == "no-store"


def test_the_audio_storage_has_no_url_and_no_other_route_serves_it(reviewer_client, leased):
    clip, _ = leased
    with pytest.raises(ValueError, match="not accessible via a URL"):
        storages["audio"].url(clip.audio_name)
    for guess in (
        f"/media/{clip.audio_name}",
        f"/audio/{clip.audio_name}",
        f"/var/audio/{clip.audio_name}",
        f"/static/{clip.audio_name}",
    ):
        assert reviewer_client.get(guess).status_code in (403, 404), guess
