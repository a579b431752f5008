"""The queue API: order, one lease per reviewer, expiry, release, and who may claim at all."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from annotations import services
from annotations.models import Clip, ClipStatus, Lease, LeaseOutcome
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db
CLAIM = "/api/v1/queue/claim"


def claim(client):
    response = client.post(CLAIM)
    assert response.status_code in (200, 204), response.content
    return response.json() if response.status_code == 200 else None


def test_claim_returns_the_lease_and_the_clip_page_data(reviewer_client, make_clips):
    [clip] = make_clips(1)

    body = claim(reviewer_client)

    assert body["clip"]["id"] == str(clip.public_id)
    assert body["clip"]["duration_ms"] == clip.duration_ms
    assert body["clip"]["asr_text"] == "set a timer for ten minutes"
    assert body["clip"]["peaks"]["per_second"] == 100
    assert body["clip"]["version"] == 0 and body["clip"]["transcript"] is None
    assert body["clip"]["audio_url"].startswith("http://testserver/audio/")
    lease = Lease.objects.get()
    assert body["lease"]["id"] == str(lease.public_id)
    assert lease.expires_at - lease.started_at == timedelta(seconds=600)
    clip.refresh_from_db()
    assert clip.status == ClipStatus.LEASED


def test_claim_takes_the_highest_priority_first_then_the_oldest(reviewer, make_clips):
    old, newer = make_clips(2)
    [urgent] = make_clips(1, priority=5)
    Clip.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(hours=1))

    order = []
    for _ in range(3):
        lease = services.lease_claim(reviewer=reviewer)
        order.append(lease.clip_id)
        services.lease_release(lease=lease, reason="other")
    assert order == [urgent.pk, old.pk, newer.pk]


def test_claiming_again_returns_the_lease_already_held(reviewer_client, make_clips):
    make_clips(3)

    first = claim(reviewer_client)
    second = claim(reviewer_client)

    assert first["lease"]["id"] == second["lease"]["id"]
    assert Lease.objects.count() == 1


def test_two_reviewers_get_different_clips(reviewer_client, other_reviewer_client, make_clips):
    make_clips(2)

    assert claim(reviewer_client)["clip"]["id"] != claim(other_reviewer_client)["clip"]["id"]


def test_claim_answers_204_when_the_queue_is_empty(reviewer_client, other_reviewer_client, make_clips):
    make_clips(1)
    claim(reviewer_client)

    assert other_reviewer_client.post(CLAIM).status_code == 204


def test_an_expired_lease_returns_its_clip_to_the_queue_and_its_holder_loses_access(
    reviewer_client, other_reviewer_client, make_clips
):
    [clip] = make_clips(1)
    claim(reviewer_client)
    Lease.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert reviewer_client.get(f"/api/v1/clips/{clip.public_id}").status_code == 404
    taken = claim(other_reviewer_client)

    assert taken["clip"]["id"] == str(clip.public_id)
    assert Lease.objects.get(reviewer__username="rita").outcome == LeaseOutcome.EXPIRED


def test_the_expiry_sweep_requeues_clips_without_anyone_claiming(reviewer, make_clips):
    [clip] = make_clips(1)
    services.lease_claim(reviewer=reviewer)
    Lease.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert services.lease_expire_overdue() == 1
    clip.refresh_from_db()
    assert clip.status == ClipStatus.QUEUED


def test_a_reviewer_whose_lease_expired_gets_a_fresh_lease_on_the_next_claim(reviewer_client, make_clips):
    make_clips(2)
    first = claim(reviewer_client)
    Lease.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    second = claim(reviewer_client)

    assert second["lease"]["id"] != first["lease"]["id"]
    assert Lease.objects.filter(ended_at__isnull=True).count() == 1


def test_release_puts_the_clip_back_for_others_but_not_for_the_reviewer_who_skipped_it(
    reviewer_client, other_reviewer_client, make_clips
):
    [clip] = make_clips(1)
    lease_id = claim(reviewer_client)["lease"]["id"]

    response = reviewer_client.post(f"/api/v1/leases/{lease_id}/release", {"reason": "wrong_language"}, format="json")

    assert response.status_code == 204
    assert Lease.objects.get().release_reason == "wrong_language"
    assert reviewer_client.get(f"/api/v1/clips/{clip.public_id}").status_code == 404
    assert reviewer_client.post(CLAIM).status_code == 204
    assert claim(other_reviewer_client)["clip"]["id"] == str(clip.public_id)


def test_a_clip_given_back_with_a_saved_transcript_comes_with_it_to_the_next_reviewer(
    reviewer_client, other_reviewer_client, make_clips
):
    make_clips(1)
    first = claim(reviewer_client)
    body = {"text": "turn the lights off", "segments": [], "tags": [], "base_version": 0}
    assert (
        reviewer_client.put(f"/api/v1/clips/{first['clip']['id']}/transcript", body, format="json").status_code == 200
    )
    reviewer_client.post(f"/api/v1/leases/{first['lease']['id']}/release", {"reason": "other"}, format="json")

    second = claim(other_reviewer_client)["clip"]

    assert first["clip"]["version"] == 0 and first["clip"]["transcript"] is None
    assert second["version"] == 1
    assert second["transcript"]["text"] == "turn the lights off"


def test_release_needs_a_known_reason(reviewer_client, make_clips):
    make_clips(1)
    lease_id = claim(reviewer_client)["lease"]["id"]

    response = reviewer_client.post(f"/api/v1/leases/{lease_id}/release", {"reason": "bored"}, format="json")

    assert response.status_code == 400
    assert "reason" in response.json()


def test_someone_elses_lease_cannot_be_released_or_renewed(reviewer_client, other_reviewer_client, make_clips):
    make_clips(1)
    lease_id = claim(reviewer_client)["lease"]["id"]

    assert (
        other_reviewer_client.post(f"/api/v1/leases/{lease_id}/release", {"reason": "other"}, format="json").status_code
        == 404
    )
    assert other_reviewer_client.post(f"/api/v1/leases/{lease_id}/renew").status_code == 404
    assert Lease.objects.get().ended_at is None


def test_renew_pushes_the_expiry_out(reviewer_client, make_clips):
    make_clips(1)
    lease_id = claim(reviewer_client)["lease"]["id"]
    Lease.objects.update(expires_at=timezone.now() + timedelta(seconds=30))

    response = reviewer_client.post(f"/api/v1/leases/{lease_id}/renew")

    assert response.status_code == 200
    assert Lease.objects.get().expires_at > timezone.now() + timedelta(seconds=590)


@pytest.mark.parametrize("persona", ["supervisor", "auditor", "outsider"])
def test_only_reviewers_may_claim(request, persona, make_clips):
    make_clips(1)
    client = signed_in(request.getfixturevalue(persona))

    response = client.post(CLAIM)

    assert response.status_code == 403
    assert not Lease.objects.exists()


def test_anonymous_claim_is_refused(client, make_clips):
    make_clips(1)
    assert client.post(CLAIM).status_code == 403


def test_claim_by_get_is_refused(reviewer_client, make_clips):
    make_clips(1)
    assert reviewer_client.get(CLAIM).status_code == 405


def test_claim_from_a_browser_session_needs_the_csrf_token(reviewer, make_clips):
    from django.test import Client

    make_clips(1)
    browser = signed_in(reviewer, lambda: Client(enforce_csrf_checks=True))

    response = browser.post(CLAIM)

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sixteen_concurrent_claimers_lease_every_clip_exactly_once(django_user_model, make_clips, settings):
    """Issue 2: on PostgreSQL, 16 threads with their own connections drain 500 clips; none leased twice."""
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED claims need PostgreSQL; SQLite serialises writers, so there is no race to test")
    settings.VOLUME_LIMITS = {"claim": (0, 60), "audio_link": (0, 60)}  # machines, not people
    from django.contrib.auth.models import Group

    make_clips(500, seconds=0.2)
    reviewers_group = Group.objects.get(name="reviewers")
    workers = []
    for i in range(16):
        user = django_user_model.objects.create_user(username=f"claimer{i}")
        user.groups.add(reviewers_group)
        workers.append(user)
    leased: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(workers))

    def drain(user):
        try:
            start.wait()
            while (lease := services.lease_claim(reviewer=user)) is not None:
                leased.append(lease.clip_id)
                _finish(lease)
        except BaseException as error:  # noqa: BLE001  reported by the main thread below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=drain, args=(user,)) for user in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    counts = Counter(leased)
    assert len(counts) == 500
    assert max(counts.values()) == 1
    assert len({lease.reviewer_id for lease in Lease.objects.all()}) > 1


def _finish(lease):
    services.transcript_save(lease=lease, text="ok", segments=[], tags=[], base_version=0)
    services.clip_submit(lease=lease, played=True)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_claim_walks_past_a_clip_another_transaction_has_locked_instead_of_waiting(reviewer, make_clips):
    """SKIP LOCKED itself: with the queue's head row locked elsewhere, the claim takes the next clip at once."""
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED claims need PostgreSQL; SQLite takes clips with a conditional UPDATE")
    from django.db import transaction

    first, second = make_clips(2)
    locked, done = threading.Event(), threading.Event()

    def hold_the_head():
        try:
            with transaction.atomic():
                Clip.objects.select_for_update().get(pk=first.pk)
                locked.set()
                done.wait(10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_head)
    holder.start()
    try:
        assert locked.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '1s'")  # a claim that waited for the row would fail here
        lease = services.lease_claim(reviewer=reviewer)
    finally:
        done.set()
        holder.join()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")

    assert lease.clip_id == second.pk
