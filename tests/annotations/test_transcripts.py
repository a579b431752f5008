"""Transcript revisions: every save is a new row, stale saves get 409, submit makes one final."""

import pytest

from annotations.models import Clip, ClipStatus, Lease, LeaseOutcome, TranscriptRevision

pytestmark = pytest.mark.django_db


@pytest.fixture
def leased(reviewer_client, make_clips):
    """A clip (2 s) leased to the reviewer; returns its public id."""
    make_clips(1)
    return reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"]


def save(client, clip_id, text="hello", base_version=0, **extra):
    return client.put(
        f"/api/v1/clips/{clip_id}/transcript", {"text": text, "base_version": base_version, **extra}, format="json"
    )


def test_each_save_is_a_new_revision_and_none_is_overwritten(reviewer_client, leased):
    assert save(reviewer_client, leased, "set a timer", 0).json() == {"version": 1}
    assert save(reviewer_client, leased, "set a timer for ten minutes", 1).json() == {"version": 2}

    revisions = list(TranscriptRevision.objects.order_by("version").values_list("version", "text", "based_on__version"))
    assert revisions == [(1, "set a timer", None), (2, "set a timer for ten minutes", 1)]
    detail = reviewer_client.get(f"/api/v1/clips/{leased}").json()
    assert detail["version"] == 2
    assert detail["transcript"]["text"] == "set a timer for ten minutes"


def test_a_revision_row_refuses_to_be_changed():
    revision = TranscriptRevision(pk=1, version=1, text="x")
    with pytest.raises(ValueError, match="never changed"):
        revision.save()


def test_a_stale_base_version_gets_409_with_the_current_revision(reviewer_client, leased):
    save(reviewer_client, leased, "first", 0)
    save(reviewer_client, leased, "second", 1)

    response = save(reviewer_client, leased, "from an old tab", 1)

    assert response.status_code == 409
    body = response.json()
    assert body["current"]["version"] == 2 and body["current"]["text"] == "second"
    assert TranscriptRevision.objects.count() == 2


def test_segments_and_tags_are_saved_with_the_revision(reviewer_client, leased):
    segments = [
        {"start_ms": 0, "end_ms": 900, "text": "set a timer", "speaker": "A", "tags": []},
        {"start_ms": 900, "end_ms": 2000, "text": "", "speaker": "", "tags": ["background_speech"]},
    ]

    response = save(reviewer_client, leased, "set a timer", 0, segments=segments, tags=["not_addressed"])

    assert response.status_code == 200
    revision = TranscriptRevision.objects.get()
    assert revision.segments == segments and revision.tags == ["not_addressed"]


@pytest.mark.parametrize(
    ("segments", "message"),
    [
        ([{"start_ms": 0, "end_ms": 2500, "text": "x"}], "segment 0 (0–2500 ms): ends after the clip does"),
        ([{"start_ms": 500, "end_ms": 400, "text": "x"}], "segment 0 (500–400 ms): end_ms must be after start_ms"),
        (
            [{"start_ms": 1000, "end_ms": 1500, "text": "x"}, {"start_ms": 0, "end_ms": 500, "text": "y"}],
            "segment 1 (0–500 ms): overlaps or comes before segment 0",
        ),
        (
            [{"start_ms": 0, "end_ms": 1000, "text": "x"}, {"start_ms": 900, "end_ms": 1500, "text": "y"}],
            "segment 1 (900–1500 ms): overlaps or comes before segment 0, which ends at 1000 ms",
        ),
    ],
)
def test_bad_segments_get_400_naming_the_segment(reviewer_client, leased, segments, message):
    response = save(reviewer_client, leased, segments=segments)

    assert response.status_code == 400
    assert message in response.json()["segments"][0]
    assert not TranscriptRevision.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"text": "x"}, "base_version"),
        ({"base_version": 0}, "text"),
        ({"text": "x", "base_version": -1}, "base_version"),
        ({"text": "x", "base_version": 0, "tags": ["funny"]}, "tags"),
        ({"text": "x", "base_version": 0, "segments": [{"start_ms": 0}]}, "segments"),
    ],
)
def test_malformed_saves_get_400_naming_the_field(reviewer_client, leased, payload, field):
    response = reviewer_client.put(f"/api/v1/clips/{leased}/transcript", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_submit_makes_the_latest_revision_final_and_ends_access(reviewer_client, leased):
    save(reviewer_client, leased, "first", 0)
    save(reviewer_client, leased, "final words", 1)

    response = reviewer_client.post(f"/api/v1/clips/{leased}/submit", {"version": 2, "played": True}, format="json")

    assert response.status_code == 200 and response.json() == {"version": 2, "next_lease": None}
    clip = Clip.objects.get()
    assert clip.status == ClipStatus.SUBMITTED and clip.final_revision.text == "final words"
    assert Lease.objects.get().outcome == LeaseOutcome.SUBMITTED
    assert reviewer_client.get(f"/api/v1/clips/{leased}").status_code == 404
    assert save(reviewer_client, leased, "after the fact", 2).status_code == 404


def test_submit_without_a_saved_transcript_is_refused(reviewer_client, leased):
    response = reviewer_client.post(f"/api/v1/clips/{leased}/submit", {"played": True}, format="json")

    assert response.status_code == 400
    assert "save a transcript" in response.json()["transcript"][0]
    assert Clip.objects.get().status == ClipStatus.LEASED


def test_submit_of_a_version_that_is_not_the_latest_gets_409(reviewer_client, leased):
    save(reviewer_client, leased, "first", 0)
    save(reviewer_client, leased, "second", 1)

    response = reviewer_client.post(f"/api/v1/clips/{leased}/submit", {"version": 1, "played": True}, format="json")

    assert response.status_code == 409
    assert Clip.objects.get().status == ClipStatus.LEASED


@pytest.mark.parametrize(
    ("method", "suffix", "payload"),
    [("get", "", None), ("put", "/transcript", {"text": "x", "base_version": 0}), ("post", "/submit", {})],
)
def test_another_reviewer_gets_404_on_a_clip_they_do_not_hold(other_reviewer_client, leased, method, suffix, payload):
    response = getattr(other_reviewer_client, method)(f"/api/v1/clips/{leased}{suffix}", payload, format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": "No such clip"}


@pytest.mark.parametrize(
    ("method", "suffix", "payload"),
    [("get", "", None), ("put", "/transcript", {"text": "x", "base_version": 0}), ("post", "/submit", {})],
)
def test_an_unknown_clip_gets_the_same_404_as_someone_elses(reviewer_client, leased, method, suffix, payload):
    unknown = "00000000-0000-4000-8000-000000000000"
    response = getattr(reviewer_client, method)(f"/api/v1/clips/{unknown}{suffix}", payload, format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": "No such clip"}


def test_a_clip_never_claimed_is_404_even_for_a_reviewer(reviewer_client, make_clips):
    [clip] = make_clips(1)
    assert reviewer_client.get(f"/api/v1/clips/{clip.public_id}").status_code == 404


def test_anonymous_gets_403_on_every_clip_endpoint(client, leased):
    assert client.get(f"/api/v1/clips/{leased}").status_code == 403
    assert client.put(f"/api/v1/clips/{leased}/transcript", {}, content_type="application/json").status_code == 403
    assert client.post(f"/api/v1/clips/{leased}/submit").status_code == 403
