"""The audio link a claim hands out is recorded in the claim's own transaction (issue 2: one commit
for both, not two), and is still checked and counted against the audio volume limit."""

import json
from urllib.parse import urlsplit

import pytest
from django.core import signing

from annotations.audio import TOKEN_SALT
from annotations.models import Lease
from reviewportal.audit import trail
from reviewportal.audit.models import AccessEvent, Action
from reviewportal.security import volume
from reviewportal.security.models import VolumeLimitHit

pytestmark = pytest.mark.django_db


def _link_of(audio_url: str) -> str:
    token = urlsplit(audio_url).path.rstrip("/").rsplit("/", 1)[-1]
    return signing.loads(token, salt=TOKEN_SALT)["n"]


def test_the_claims_audio_link_is_the_one_recorded_right_after_the_claim(reviewer_client, make_clips):
    make_clips(1)

    body = reviewer_client.post("/api/v1/queue/claim").json()

    wanted = [Action.CLIP_CLAIMED, Action.AUDIO_TOKEN_ISSUED]
    claimed, issued = AccessEvent.objects.filter(action__in=wanted).order_by("sequence")
    assert (claimed.action, issued.action) == (Action.CLIP_CLAIMED, Action.AUDIO_TOKEN_ISSUED)
    assert issued.sequence == claimed.sequence + 1 and issued.request_id == claimed.request_id
    assert issued.object_id == body["clip"]["id"]
    assert issued.detail == {"link": _link_of(body["clip"]["audio_url"])}
    assert reviewer_client.get(urlsplit(body["clip"]["audio_url"]).path).status_code == 200


def test_a_claim_whose_audio_link_cannot_be_recorded_leases_nothing(reviewer_client, make_clips, monkeypatch):
    """The link's event is part of the claim's transaction: if it fails, the claim never happened."""
    make_clips(1)
    hmac_of, action_at, sealed_actions = trail._hmac, trail.SEALED_FIELDS.index("action"), []

    def seal_all_but_audio_links(sealed: bytes) -> str:  # what the append hashes: the row's sealed JSON
        action = json.loads(sealed)[action_at]
        if action == Action.AUDIO_TOKEN_ISSUED:
            raise RuntimeError("HMAC key unavailable")
        sealed_actions.append(action)
        return hmac_of(sealed)

    monkeypatch.setattr(trail, "_hmac", seal_all_but_audio_links)
    reviewer_client.raise_request_exception = False

    assert reviewer_client.post("/api/v1/queue/claim").status_code == 500

    assert sealed_actions == [Action.CLIP_CLAIMED]  # only the link's event failed

    assert not Lease.objects.exists()
    assert not AccessEvent.objects.filter(action=Action.CLIP_CLAIMED).exists()


def test_each_claim_counts_one_audio_link(reviewer, reviewer_client, make_clips, settings):
    settings.VOLUME_LIMITS = {**settings.VOLUME_LIMITS, "audio_link": (2, 60)}
    make_clips(1)

    reviewer_client.post("/api/v1/queue/claim")
    reviewer_client.post("/api/v1/queue/claim")  # the same lease again, and a second link

    assert volume.used_up(reviewer, "audio_link")
    assert reviewer_client.post("/api/v1/queue/claim").status_code == 429


def test_with_its_audio_links_used_up_a_reviewer_is_refused_before_any_clip_is_leased(
    reviewer_client, make_clips, settings
):
    settings.VOLUME_LIMITS = {**settings.VOLUME_LIMITS, "audio_link": (1, 60)}
    make_clips(2)
    first = reviewer_client.post("/api/v1/queue/claim").json()
    reviewer_client.post(f"/api/v1/leases/{first['lease']['id']}/release", {"reason": "other"}, format="json")

    refused = reviewer_client.post("/api/v1/queue/claim")

    assert refused.status_code == 429
    assert "more audio than a person can listen to" in refused.json()["detail"]
    assert Lease.objects.count() == 1  # only the released one: nobody holds a clip they cannot hear
    assert VolumeLimitHit.objects.get().kind == "audio_link"
    assert AccessEvent.objects.filter(action=Action.RATE_LIMITED).count() == 1
