"""Issue 5: the clip after the current one is claimed ahead, so Submit & next needs no claim.

A reviewer holds at most a current lease and one claimed ahead. The one ahead may be viewed (to
prefetch it) but not transcribed, expires with the current one, and becomes current with a
fresh lease period when the current clip is submitted or skipped.
"""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotations import services
from annotations.models import ClipStatus, ClipUserObjectPermission, Lease
from reviewportal.audit.models import AccessEvent, Action

pytestmark = pytest.mark.django_db
CLAIM, CLAIM_NEXT = "/api/v1/queue/claim", "/api/v1/queue/claim-next"


def put(client, clip_id, text="hello", base_version=0):
    return client.put(
        f"/api/v1/clips/{clip_id}/transcript", {"text": text, "base_version": base_version}, format="json"
    )


@pytest.fixture
def working(reviewer_client, make_clips):
    """The reviewer holds a current clip and has claimed the next; returns (current body, ahead body)."""
    make_clips(3)
    current = reviewer_client.post(CLAIM).json()
    ahead = reviewer_client.post(CLAIM_NEXT)
    assert ahead.status_code == 200, ahead.content
    return current, ahead.json()


def test_claim_next_leases_a_second_clip_that_can_be_viewed_but_not_transcribed(reviewer_client, working):
    current, ahead = working

    assert ahead["clip"]["id"] != current["clip"]["id"]
    assert ahead["clip"]["peaks"]["data"] and ahead["clip"]["audio_url"].startswith("http://testserver/audio/")
    lease = Lease.objects.get(public_id=ahead["lease"]["id"])
    assert lease.is_next and lease.clip.status == ClipStatus.LEASED
    assert reviewer_client.get(f"/api/v1/clips/{ahead['clip']['id']}").status_code == 200
    assert reviewer_client.get(ahead["clip"]["audio_url"].removeprefix("http://testserver")).status_code == 200
    assert put(reviewer_client, ahead["clip"]["id"]).status_code == 404
    assert reviewer_client.post(f"/api/v1/clips/{ahead['clip']['id']}/submit", {"played": True}).status_code == 404
    assert reviewer_client.get(f"/clips/{ahead['clip']['id']}").status_code == 404
    grants = set(ClipUserObjectPermission.objects.filter(content_object=lease.clip).values_list("permission__codename"))
    assert grants == {("view_clip",)}


def test_a_clip_claimed_ahead_expires_with_the_current_one(working):
    current, ahead = working
    assert (
        Lease.objects.get(public_id=ahead["lease"]["id"]).expires_at
        == Lease.objects.get(public_id=current["lease"]["id"]).expires_at
    )


def test_claiming_ahead_again_returns_the_same_clip_and_claim_still_returns_the_current(reviewer_client, working):
    current, ahead = working

    assert reviewer_client.post(CLAIM_NEXT).json()["lease"]["id"] == ahead["lease"]["id"]
    assert reviewer_client.post(CLAIM).json()["lease"]["id"] == current["lease"]["id"]
    assert Lease.objects.filter(ended_at__isnull=True).count() == 2


def test_claim_next_without_a_current_clip_is_refused(reviewer_client, make_clips):
    make_clips(2)
    response = reviewer_client.post(CLAIM_NEXT)
    assert response.status_code == 409
    assert not Lease.objects.exists()


def test_claim_next_answers_204_when_nothing_is_left(reviewer_client, make_clips):
    make_clips(1)
    reviewer_client.post(CLAIM)
    assert reviewer_client.post(CLAIM_NEXT).status_code == 204


@pytest.mark.parametrize("persona", ["supervisor", "auditor", "outsider"])
def test_only_reviewers_may_claim_ahead(request, persona, make_clips):
    from tests.conftest import signed_in

    make_clips(2)
    assert signed_in(request.getfixturevalue(persona)).post(CLAIM_NEXT).status_code == 403


def test_claim_next_by_get_and_anonymous_are_refused(reviewer_client, client, working):
    assert reviewer_client.get(CLAIM_NEXT).status_code == 405
    assert client.post(CLAIM_NEXT).status_code == 403


def test_submit_makes_the_clip_claimed_ahead_current_with_a_fresh_lease_period(reviewer_client, working):
    current, ahead = working
    Lease.objects.filter(is_next=True).update(expires_at=timezone.now() + timedelta(seconds=30))
    put(reviewer_client, current["clip"]["id"])

    response = reviewer_client.post(f"/api/v1/clips/{current['clip']['id']}/submit", {"played": True}, format="json")

    assert response.status_code == 200
    assert response.json()["next_lease"]["id"] == ahead["lease"]["id"]
    promoted = Lease.objects.get(public_id=ahead["lease"]["id"])
    assert not promoted.is_next and promoted.expires_at > timezone.now() + timedelta(seconds=590)
    assert put(reviewer_client, ahead["clip"]["id"]).status_code == 200  # transcribable now
    assert reviewer_client.get(f"/clips/{ahead['clip']['id']}").status_code == 200
    promotion = AccessEvent.objects.filter(action=Action.LEASE_RENEWED).get()
    assert promotion.object_id == ahead["clip"]["id"] and promotion.detail["promoted"] is True


def test_skipping_makes_the_clip_claimed_ahead_current(reviewer_client, working):
    current, ahead = working

    response = reviewer_client.post(
        f"/api/v1/leases/{current['lease']['id']}/release", {"reason": "no_speech"}, format="json"
    )

    assert response.status_code == 204
    assert reviewer_client.post(CLAIM).json()["lease"]["id"] == ahead["lease"]["id"]
    assert not Lease.objects.get(public_id=ahead["lease"]["id"]).is_next


def test_renewing_the_current_lease_renews_the_one_ahead_too(reviewer_client, working):
    current, _ahead = working
    Lease.objects.update(expires_at=timezone.now() + timedelta(seconds=30))

    assert reviewer_client.post(f"/api/v1/leases/{current['lease']['id']}/renew").status_code == 200

    for lease in Lease.objects.all():
        assert lease.expires_at > timezone.now() + timedelta(seconds=590)
    assert AccessEvent.objects.filter(action=Action.LEASE_RENEWED).count() == 2


def test_an_idle_reviewer_loses_both_clips_at_once(reviewer_client, working):
    _current, ahead = working
    Lease.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert services.lease_expire_overdue() == 2
    assert reviewer_client.get(f"/api/v1/clips/{ahead['clip']['id']}").status_code == 404
    assert not ClipUserObjectPermission.objects.exists()
    assert set(Lease.objects.values_list("outcome", flat=True)) == {"expired"}


def test_claiming_ahead_counts_towards_the_volume_limit_once(reviewer_client, make_clips, settings):
    settings.VOLUME_LIMITS = {**settings.VOLUME_LIMITS, "claim": (2, 60)}
    make_clips(3)
    reviewer_client.post(CLAIM)
    assert reviewer_client.post(CLAIM_NEXT).status_code == 200
    assert reviewer_client.post(CLAIM_NEXT).status_code == 200  # the same one again: not counted

    lease_id = Lease.objects.get(is_next=False).public_id
    reviewer_client.post(f"/api/v1/leases/{lease_id}/release", {"reason": "other"}, format="json")
    assert reviewer_client.post(CLAIM_NEXT).status_code == 429


def test_the_database_refuses_a_second_lease_ahead(reviewer, working):
    _current, _ = working
    from annotations.models import Clip

    spare = Clip.objects.filter(status=ClipStatus.QUEUED).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Lease.objects.create(
            clip=spare, reviewer=reviewer, is_next=True, expires_at=timezone.now() + timedelta(minutes=5)
        )
