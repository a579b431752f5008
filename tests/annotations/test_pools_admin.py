"""Pools are managed in the admin: a supervisor grants a group a pool and its reviewers draw from it."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from annotations.models import ClipPool, ClipPoolGroupObjectPermission
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db


def test_a_supervisor_grants_a_pool_to_reviewers_in_the_admin(supervisor, reviewer_client, make_clips):
    [clip] = make_clips(1, locale="nl-NL")
    pool = ClipPool.objects.get(slug="locale-nl-nl")
    ClipPoolGroupObjectPermission.objects.filter(content_object=pool).delete()
    assert reviewer_client.post("/api/v1/queue/claim").status_code == 204
    reviewers = Group.objects.get(name="reviewers")
    admin = signed_in(supervisor, Client)

    page = admin.get(f"/admin/annotations/clippool/{pool.pk}/permissions/group-manage/{reviewers.pk}/")
    assert page.status_code == 200
    saved = admin.post(
        f"/admin/annotations/clippool/{pool.pk}/permissions/group-manage/{reviewers.pk}/",
        {"permissions": ["review_pool"]},
    )

    assert saved.status_code == 302
    assert ClipPoolGroupObjectPermission.objects.filter(content_object=pool, group=reviewers).exists()
    assert reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"] == str(clip.public_id)


def test_the_pool_list_shows_queued_counts(supervisor, make_clips):
    make_clips(3, locale="nl-NL")
    html = signed_in(supervisor, Client).get("/admin/annotations/clippool/").content.decode()
    assert "nl-NL clips" in html


@pytest.mark.parametrize("persona", ["reviewer", "auditor"])
def test_reviewers_and_auditors_cannot_manage_pools(request, persona, make_clips):
    make_clips(1)
    pool = ClipPool.objects.get()
    client = signed_in(request.getfixturevalue(persona), Client)

    response = client.post(f"/admin/annotations/clippool/{pool.pk}/change/", {"name": "mine", "slug": "mine"})

    assert response.status_code in (302, 403)
    pool.refresh_from_db()
    assert pool.name != "mine"


def test_clips_transcripts_and_identities_are_not_in_the_admin(supervisor):
    admin = signed_in(supervisor, Client)
    for model in ("clip", "transcriptrevision", "sourceidentity", "lease"):
        assert admin.get(f"/admin/annotations/{model}/").status_code == 404
