"""The ingest API and the service tokens that alone may use it."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from annotations.models import Clip, SourceIdentity
from reviewportal.integrations.models import ServiceToken
from tests.audio_files import metadata, write_audio
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db
INGEST = "/api/v1/ingest/clips"


def issue(*scopes: str, name: str = "asr-pipeline") -> str:
    out = io.StringIO()
    call_command(
        "create_service_token", name, *[arg for s in scopes for arg in ("--scope", s)], stdout=out, stderr=io.StringIO()
    )
    return out.getvalue().strip()


def with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def push(client, path, meta):
    with path.open("rb") as audio:
        return client.post(INGEST, {"audio": audio, "metadata": json.dumps(meta)}, format="multipart")


@pytest.fixture
def ingest_client():
    return with_token(issue("ingest"))


def test_a_service_token_with_the_ingest_scope_pushes_a_clip(ingest_client, tmp_path, audio_root):
    response = push(ingest_client, write_audio(tmp_path / "a.opus", seconds=2), metadata())

    assert response.status_code == 201
    clip = Clip.objects.get()
    assert response.json() == {"outcome": "ingested", "id": str(clip.public_id)}
    assert clip.audio_format == "OGG" and clip.audio_codec == "OPUS"
    assert SourceIdentity.objects.get().clip_id == clip.pk


def test_a_large_upload_spooled_to_disk_is_ingested_too(ingest_client, tmp_path, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = push(ingest_client, write_audio(tmp_path / "a.wav", seconds=2), metadata())
    assert response.status_code == 201


def test_the_same_source_id_twice_is_a_duplicate_and_stores_nothing_more(ingest_client, tmp_path, audio_root):
    path = write_audio(tmp_path / "a.wav")
    push(ingest_client, path, metadata())

    response = push(ingest_client, path, metadata())

    assert response.status_code == 200 and response.json() == {"outcome": "duplicate", "id": None}
    assert Clip.objects.count() == 1 and len(list(audio_root.rglob("*.wav"))) == 1


def test_an_opt_out_is_dropped_through_the_api_too(ingest_client, tmp_path, audio_root):
    response = push(ingest_client, write_audio(tmp_path / "a.wav"), metadata(human_review_opt_out=True))

    assert response.json() == {"outcome": "opted_out", "id": None}
    assert not Clip.objects.exists() and not list(audio_root.rglob("*.*"))


@pytest.mark.parametrize(
    ("meta", "field"),
    [
        ("{not json", "metadata"),
        ({k: v for k, v in metadata().items() if k != "account_id"}, "account_id"),
        (metadata(recorded_at="yesterday"), "recorded_at"),
    ],
)
def test_bad_metadata_gets_400_naming_the_field(ingest_client, tmp_path, meta, field):
    with write_audio(tmp_path / "a.wav").open("rb") as audio:
        payload = meta if isinstance(meta, str) else json.dumps(meta)
        response = ingest_client.post(INGEST, {"audio": audio, "metadata": payload}, format="multipart")

    assert response.status_code == 400
    assert field in response.json()
    assert not Clip.objects.exists()


def test_bad_audio_gets_400_naming_the_audio_field(ingest_client, tmp_path, audio_root):
    path = tmp_path / "a.flac"
    path.write_bytes(write_audio(tmp_path / "real.wav").read_bytes())

    response = push(ingest_client, path, metadata())

    assert response.status_code == 400
    assert response.json() == {"audio": ["content is WAV audio but the file name says .flac"]}
    assert not list(audio_root.rglob("*.*"))


def test_a_missing_audio_part_gets_400(ingest_client):
    response = ingest_client.post(INGEST, {"metadata": json.dumps(metadata())}, format="multipart")
    assert response.status_code == 400 and "audio" in response.json()


def test_an_upload_over_the_byte_limit_gets_400(ingest_client, tmp_path, settings):
    settings.INGEST_MAX_BYTES = 5000
    response = push(ingest_client, write_audio(tmp_path / "a.wav", seconds=1), metadata())
    assert response.status_code == 400 and "over the limit of 5000" in response.json()["audio"][0]


def test_no_token_gets_401(tmp_path):
    response = push(APIClient(), write_audio(tmp_path / "a.wav"), metadata())
    assert response.status_code == 401


def test_an_unknown_token_gets_401(tmp_path):
    response = push(with_token("rpt_000000000000_" + "x" * 43), write_audio(tmp_path / "a.wav"), metadata())
    assert response.status_code == 401


def test_a_revoked_token_stops_working_at_once(tmp_path):
    token = issue("ingest")
    call_command("revoke_service_token", "asr-pipeline", stdout=io.StringIO())

    response = push(with_token(token), write_audio(tmp_path / "a.wav"), metadata())

    assert response.status_code == 401


def test_a_token_without_the_ingest_scope_gets_403(tmp_path):
    response = push(with_token(issue("export")), write_audio(tmp_path / "a.wav"), metadata())

    assert response.status_code == 403
    assert "ingest" in response.json()["detail"]


@pytest.mark.parametrize("persona", ["reviewer", "supervisor", "auditor"])
def test_a_signed_in_person_cannot_ingest(request, persona, tmp_path):
    client = signed_in(request.getfixturevalue(persona))
    response = push(client, write_audio(tmp_path / "a.wav"), metadata())
    assert response.status_code == 401
    assert not Clip.objects.exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/queue/claim"),
        ("get", "/api/v1/clips/00000000-0000-4000-8000-000000000000"),
        ("get", "/api/v1/schema"),
    ],
)
def test_a_service_token_never_reaches_a_person_endpoint(ingest_client, method, path):
    response = getattr(ingest_client, method)(path)
    assert response.status_code == 403


def test_tokens_are_stored_only_as_digests_and_shown_once(tmp_path):
    token = issue("ingest", "export")

    stored = ServiceToken.objects.get()
    assert token.startswith(f"rpt_{stored.key_id}_")
    secret = token.split("_", 2)[2]
    assert secret not in stored.secret_digest and stored.secret_digest != secret
    assert stored.scopes == ["export", "ingest"]
    listing = io.StringIO()
    call_command("list_service_tokens", stdout=listing)
    assert "asr-pipeline" in listing.getvalue() and secret not in listing.getvalue()


def test_creating_a_token_with_a_taken_name_is_a_command_error():
    issue("ingest")
    with pytest.raises(CommandError, match="already exists"):
        issue("ingest")


def test_revoking_an_unknown_token_is_a_command_error():
    with pytest.raises(CommandError, match="No service token"):
        call_command("revoke_service_token", "nobody")
