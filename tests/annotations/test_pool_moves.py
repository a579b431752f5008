"""Issue 3, restricted pools: a supervisor moves clips into a pool, and from then on only the
people granted that pool get them. Regression: `is_restricted` was a flag nothing could use,
because no door put a clip into such a pool."""

import pytest
from django.contrib.auth.models import Group
from guardian.shortcuts import assign_perm

from annotations.models import Clip, ClipPool, ClipUserObjectPermission, Lease, LeaseOutcome
from reviewportal.audit.models import AccessEvent, Action
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def restricted(reviewer):
    """A restricted pool granted to one trained reviewer (rita) and nobody else."""
    pool = ClipPool.objects.create(slug="sensitive", name="Sensitive clips", is_restricted=True)
    assign_perm("annotations.review_pool", reviewer, pool)
    return pool


def move(client, pool_slug: str, clips, reason: str = "sensitive_content"):
    return client.post(
        f"/api/v1/pools/{pool_slug}/clips",
        {"clips": [str(c.public_id) for c in clips], "reason": reason},
        format="json",
    )


def test_only_reviewers_granted_the_restricted_pool_get_the_moved_clips(
    restricted, reviewer, other_reviewer, supervisor, make_clips
):
    sensitive, ordinary = make_clips(2)
    response = move(signed_in(supervisor), "sensitive", [sensitive])
    assert response.status_code == 200, response.content
    assert response.json() == {"moved": [str(sensitive.public_id)], "unchanged": [], "withdrawn": []}

    others = signed_in(other_reviewer)
    assert others.post("/api/v1/queue/claim").json()["clip"]["id"] == str(ordinary.public_id)
    assert others.post("/api/v1/queue/claim-next").status_code == 204  # the sensitive clip is not theirs
    assert signed_in(reviewer).post("/api/v1/queue/claim").json()["clip"]["id"] == str(sensitive.public_id)


def test_a_clip_moved_away_from_its_holder_is_taken_from_them_at_once(
    restricted, other_reviewer, supervisor, make_clips
):
    [clip] = make_clips(1)
    holder = signed_in(other_reviewer)
    assert holder.post("/api/v1/queue/claim").json()["clip"]["id"] == str(clip.public_id)

    response = move(signed_in(supervisor), "sensitive", [clip])

    assert response.json()["withdrawn"] == [str(clip.public_id)]
    # The former holder is told the clip was taken away (410), as for an opt-out; nobody else learns anything.
    gone = holder.get(f"/api/v1/clips/{clip.public_id}")
    assert (gone.status_code, gone.json()["reason"]) == (410, "withdrawn")
    assert Lease.objects.get(clip=clip).outcome == LeaseOutcome.WITHDRAWN
    assert not ClipUserObjectPermission.objects.filter(content_object=clip).exists()
    assert Clip.objects.get(pk=clip.pk).status == "queued"


def test_a_holder_granted_the_new_pool_keeps_the_clip(restricted, reviewer, supervisor, make_clips):
    [clip] = make_clips(1)
    holder = signed_in(reviewer)
    holder.post("/api/v1/queue/claim")

    assert move(signed_in(supervisor), "sensitive", [clip]).json()["withdrawn"] == []
    assert holder.get(f"/api/v1/clips/{clip.public_id}").status_code == 200


def test_each_move_is_in_the_access_trail_with_pools_and_reason(restricted, supervisor, make_clips):
    [clip] = make_clips(1)
    move(signed_in(supervisor), "sensitive", [clip])

    event = AccessEvent.objects.get(action=Action.CLIP_MOVED)
    assert (event.actor_user_id, event.object_id) == (supervisor.pk, str(clip.public_id))
    assert event.detail == {
        "from": "locale-en-us",
        "to": "sensitive",
        "reason": "sensitive_content",
        "lease_withdrawn": False,
    }


@pytest.mark.parametrize("persona", ["reviewer", "auditor", "outsider"])
def test_only_supervisors_move_clips(request, persona, restricted, make_clips):
    [clip] = make_clips(1)
    original = clip.pool_id

    assert move(signed_in(request.getfixturevalue(persona)), "sensitive", [clip]).status_code == 403
    assert Clip.objects.get(pk=clip.pk).pool_id == original


def test_bad_input_is_refused_naming_the_field_and_moves_nothing(restricted, supervisor, make_clips):
    [clip] = make_clips(1)
    client = signed_in(supervisor)
    ghost = Clip(public_id="00000000-0000-4000-8000-000000000000")

    assert "reason" in move(client, "sensitive", [clip], reason="because").json()
    unknown = move(client, "sensitive", [clip, ghost])
    assert unknown.status_code == 400
    assert unknown.json() == {"clips": [f"no such clip: {ghost.public_id}"]}
    assert "clips" in client.post("/api/v1/pools/sensitive/clips", {"reason": "workload"}, format="json").json()
    assert move(client, "no-such-pool", [clip]).status_code == 404
    assert Clip.objects.get(pk=clip.pk).pool.slug == "locale-en-us"
    assert not AccessEvent.objects.filter(action=Action.CLIP_MOVED).exists()


def test_a_group_granted_the_pool_draws_from_it(restricted, other_reviewer, supervisor, make_clips):
    trained = Group.objects.create(name="trained for sensitive clips")
    other_reviewer.groups.add(trained)
    assign_perm("annotations.review_pool", trained, restricted)
    [clip] = make_clips(1)
    move(signed_in(supervisor), "sensitive", [clip])

    assert signed_in(other_reviewer).post("/api/v1/queue/claim").json()["clip"]["id"] == str(clip.public_id)
