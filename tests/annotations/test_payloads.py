"""The review loop's answers are plain dicts built by hand (annotations/api/views.py); the
serializers are what the OpenAPI schema documents. Each function must give exactly its
serializer's output, or the schema would lie about the API."""

import pytest
from django.test import RequestFactory
from django.utils import timezone

from annotations import services
from annotations.api import views
from annotations.api.views import (
    ClipOutputSerializer,
    LeaseOutputSerializer,
    RevisionOutputSerializer,
    clip_payload,
    lease_payload,
    revision_payload,
)
from annotations.models import Clip

pytestmark = pytest.mark.django_db

SEGMENTS = [
    {"start_ms": 0, "end_ms": 900, "text": "turn the", "speaker": "A", "tags": ["noise"]},
    {"start_ms": 900, "end_ms": 1800, "text": " lights off ", "speaker": "", "tags": []},
]


@pytest.fixture(autouse=True)
def _fixed_audio_url(monkeypatch):
    # A signed link carries the time it was signed: the same for both ways of building the answer here.
    monkeypatch.setattr(views, "_audio_url", lambda request, clip, link_id: f"http://testserver/audio/{link_id}")


def both_ways(clip, audio_link="link-1") -> tuple[dict, dict]:
    request = RequestFactory().get("/")
    by_hand = clip_payload(request, clip, audio_link=audio_link)
    fresh = Clip.objects.get(pk=clip.pk)  # no revision read kept from the first build
    fresh.lease = clip.lease
    by_serializer = ClipOutputSerializer(fresh, context={"request": request, "audio_link": audio_link}).data
    return by_hand, dict(by_serializer)


def test_a_claimed_clip_without_a_transcript_answers_as_its_serializer_would(make_clips, reviewer):
    make_clips(1)
    lease = services.lease_claim(reviewer=reviewer)
    clip = lease.clip
    clip.lease = lease

    by_hand, by_serializer = both_ways(clip)

    assert by_hand == by_serializer
    assert by_hand["transcript"] is None and by_hand["version"] == 0
    assert lease_payload(lease) == LeaseOutputSerializer(lease).data


def test_a_clip_with_revisions_answers_as_its_serializer_would(make_clips, reviewer):
    make_clips(1)
    lease = services.lease_claim(reviewer=reviewer)
    services.transcript_save(lease=lease, text="turn the lights off", segments=SEGMENTS, tags=["noise"], base_version=0)
    revision = services.latest_revision(lease.clip_id)
    clip = Clip.objects.get(pk=lease.clip_id)
    clip.lease = lease

    by_hand, by_serializer = both_ways(clip)

    assert by_hand == by_serializer
    assert by_hand["transcript"]["segments"][1]["text"] == " lights off "  # as saved, untrimmed
    assert revision_payload(revision) == RevisionOutputSerializer(revision).data


def test_a_clip_seen_without_a_lease_answers_as_its_serializer_would(make_clips):
    [clip] = make_clips(1)
    clip.lease = None  # a group grant (the escalation team) holds no lease

    by_hand, by_serializer = both_ways(clip, audio_link="")

    assert by_hand == by_serializer
    assert by_hand["lease"] is None


def test_times_are_written_as_the_serializers_write_them(make_clips, reviewer):
    make_clips(1)
    lease = services.lease_claim(reviewer=reviewer)
    lease.expires_at = timezone.now().replace(microsecond=0)

    assert lease_payload(lease)["expires_at"].endswith("Z")
    assert lease_payload(lease) == LeaseOutputSerializer(lease).data
