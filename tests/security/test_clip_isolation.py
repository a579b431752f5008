"""Promise 2: a reviewer reaches only the clip the queue leased to them, only while the lease lasts."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from guardian.shortcuts import assign_perm

from annotations.models import Clip, ClipPool, ClipUserObjectPermission, Lease
from tests.conftest import enrol_totp, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_leases(django_user_model, make_clips):
    """Three reviewers, each holding one of three clips, plus one clip still queued."""
    clips = make_clips(4)
    reviewers_group = Group.objects.get(name="reviewers")
    held = []
    for name in ("ada", "bo", "cy"):
        person = django_user_model.objects.create_user(name)
        person.groups.add(reviewers_group)
        client = signed_in(person)
        body = client.post("/api/v1/queue/claim").json()
        held.append((person, client, body["clip"]["id"], urlsplit(body["clip"]["audio_url"]).path))
    queued = next(c for c in clips if c.status == "queued" and str(c.public_id) not in {h[2] for h in held})
    return held, str(queued.public_id)


def requests_for(client, clip_id: str, audio_path: str):
    return {
        "detail": client.get(f"/api/v1/clips/{clip_id}"),
        "transcript": client.put(
            f"/api/v1/clips/{clip_id}/transcript", {"text": "x", "base_version": 0}, format="json"
        ),
        "submit": client.post(f"/api/v1/clips/{clip_id}/submit", {"played": True}, format="json"),
        "page": client.get(f"/clips/{clip_id}"),
        "audio": client.get(audio_path),
    }


def test_every_reviewer_clip_pair_but_the_leased_one_is_refused(three_leases):
    held, queued_id = three_leases
    refused = []
    for person, client, own_clip, _ in held:
        for _, _, clip_id, audio_path in held:
            if clip_id == own_clip:
                continue
            for door, response in requests_for(client, clip_id, audio_path).items():
                if response.status_code != 404:
                    refused.append(f"{person.username} {door} {clip_id}: {response.status_code}")
        for door, response in requests_for(client, queued_id, "/audio/not-a-token").items():
            if response.status_code not in (403, 404):
                refused.append(f"{person.username} {door} queued clip: {response.status_code}")
    assert refused == []


def test_the_holder_reaches_their_own_clip_on_every_door(three_leases):
    held, _ = three_leases
    _, client, clip_id, audio_path = held[0]

    assert client.get(f"/api/v1/clips/{clip_id}").status_code == 200
    assert client.get(f"/clips/{clip_id}").status_code == 200
    assert client.get(audio_path, HTTP_RANGE="bytes=0-9").status_code == 206


def test_another_reviewers_audio_link_answers_exactly_like_a_clip_that_does_not_exist(three_leases):
    """Issue 3: 404 on the audio door too, indistinguishable from a nonexistent clip."""
    from django.core import signing

    from annotations.audio import TOKEN_SALT

    held, _ = three_leases
    (_, _, _, theirs), (_, client, _, _) = held[0], held[1]
    signed_for_nothing = signing.dumps(
        {"c": "0" * 32, "l": "", "u": held[0][0].pk, "s": "", "n": "x"}, salt=TOKEN_SALT, compress=True
    )

    someone_elses = client.get(theirs)
    nonexistent = client.get(f"/audio/{signed_for_nothing}")

    assert someone_elses.status_code == nonexistent.status_code == 404
    assert someone_elses.content == nonexistent.content
    varying = {"X-Request-ID"}  # fresh for every request
    assert {k: v for k, v in someone_elses.headers.items() if k not in varying} == {
        k: v for k, v in nonexistent.headers.items() if k not in varying
    }


@pytest.mark.parametrize("ending", ["expired", "released"])
def test_an_ended_lease_loses_every_door_at_once(three_leases, ending):
    held, _ = three_leases
    person, client, clip_id, audio_path = held[0]
    lease = Lease.objects.get(reviewer=person)
    if ending == "expired":
        Lease.objects.filter(pk=lease.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    else:
        client.post(f"/api/v1/leases/{lease.public_id}/release", {"reason": "other"}, format="json")

    responses = requests_for(client, clip_id, audio_path)

    assert {door: r.status_code for door, r in responses.items()} == {
        "detail": 404,
        "transcript": 404,
        "submit": 404,
        "page": 404,
        "audio": 403,
    }


def test_grants_exist_only_for_open_leases(three_leases):
    held, _ = three_leases
    assert ClipUserObjectPermission.objects.count() == 3 * 2  # view_clip and transcribe_clip per lease
    _person, client, clip_id, _ = held[0]
    client.put(f"/api/v1/clips/{clip_id}/transcript", {"text": "x", "base_version": 0}, format="json")
    client.post(f"/api/v1/clips/{clip_id}/submit", {"played": True}, format="json")
    lease = Lease.objects.get(reviewer=held[1][0])
    held[1][1].post(f"/api/v1/leases/{lease.public_id}/release", {"reason": "other"}, format="json")

    remaining = set(ClipUserObjectPermission.objects.values_list("user__username", "permission__codename"))

    assert remaining == {("cy", "view_clip"), ("cy", "transcribe_clip")}


def test_an_expired_lease_sheds_its_grants_when_swept(three_leases):
    from annotations.services import lease_expire_overdue

    Lease.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    lease_expire_overdue()

    assert not ClipUserObjectPermission.objects.exists()


def test_a_grant_without_a_live_lease_opens_nothing(three_leases):
    """A stale grant row (say the sweep has not run) never outlives the lease's clock."""
    held, _ = three_leases
    person, client, clip_id, _ = held[0]
    Lease.objects.filter(reviewer=person).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert ClipUserObjectPermission.objects.filter(user=person).exists()

    assert client.get(f"/api/v1/clips/{clip_id}").status_code == 404


def test_a_superuser_is_no_exception(three_leases, django_user_model):
    held, _ = three_leases
    root = django_user_model.objects.create_superuser("root")
    client = signed_in(root)

    for _, _, clip_id, audio_path in held:
        assert client.get(f"/api/v1/clips/{clip_id}").status_code == 404
        assert client.get(audio_path).status_code == 404
    assert client.post("/api/v1/queue/claim").status_code == 204  # in no pool by being superuser


def test_the_claim_offers_only_pools_the_reviewer_may_review(reviewer_client, reviewer, make_clips):
    [english] = make_clips(1, locale="en-GB")
    [german] = make_clips(1, locale="de-DE", priority=9)
    german_pool = ClipPool.objects.get(slug="locale-de-de")
    german_pool.clippoolgroupobjectpermission_set.all().delete()  # reviewers lose the German pool

    body = reviewer_client.post("/api/v1/queue/claim").json()

    assert body["clip"]["id"] == str(english.public_id)
    assert Clip.objects.get(pk=german.pk).status == "queued"


def test_a_pool_granted_to_one_person_is_theirs_alone(reviewer, other_reviewer, make_clips):
    [restricted_clip] = make_clips(1, locale="en-ZA")
    pool = ClipPool.objects.get(slug="locale-en-za")
    pool.clippoolgroupobjectpermission_set.all().delete()
    assign_perm("annotations.review_pool", reviewer, pool)

    assert signed_in(other_reviewer).post("/api/v1/queue/claim").status_code == 204
    body = signed_in(reviewer).post("/api/v1/queue/claim").json()
    assert body["clip"]["id"] == str(restricted_clip.public_id)


def test_a_new_locale_pool_is_reviewable_by_nobody_until_granted(reviewer_client, tmp_path):
    import io

    from django.core.management import call_command

    from tests.audio_files import metadata, write_audio, write_manifest

    write_audio(tmp_path / "a.wav")
    manifest = write_manifest(tmp_path / "m.jsonl", [{**metadata(locale="pt-BR"), "audio": "a.wav"}])
    call_command("ingest_clips", str(manifest), stdout=io.StringIO(), stderr=io.StringIO())

    assert ClipPool.objects.get(slug="locale-pt-br").clips.count() == 1
    assert reviewer_client.post("/api/v1/queue/claim").status_code == 204


def test_audio_links_check_the_live_grant_not_only_the_signature(three_leases):
    held, _ = three_leases
    person, client, _, audio_path = held[0]
    ClipUserObjectPermission.objects.filter(user=person).delete()

    assert client.get(audio_path).status_code == 403


def test_an_unverified_session_of_the_holder_is_refused_audio(three_leases):
    held, _ = three_leases
    person, _, _, audio_path = held[0]
    enrol_totp(person)
    password_only = signed_in(person, verified=False)

    response = password_only.get(audio_path)

    assert response.status_code == 403
