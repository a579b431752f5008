"""Issue 2: the review loop's statements per call, pinned, so a regression shows.

Each ORM statement costs about as much CPU to build as to run, and claim, save and submit are the
calls a reviewer makes hundreds of times a shift. The counts include everything a request runs:
the session's user with their second-factor device (one read), the role check, the transaction and the access
trail's statements. On PostgreSQL the trail's INSERT carries the COMMIT, one statement less;
without Redis (SQLite here) the session is read from the database, one statement more.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db

# Before issue 2's work: claim 27, save 11, submit 15 (PostgreSQL).
MAX_STATEMENTS = {
    # The trail's lock and head read share a round trip (once per transaction), and its events go
    # in with the COMMIT (reviewportal.audit.postgresql); the user and their device are one read.
    "postgresql": {"claim": 15, "save": 8, "submit": 10},
    "sqlite": {"claim": 18, "save": 10, "submit": 12},
}


def _statements(call) -> tuple[object, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    return response, [query["sql"] for query in captured.captured_queries]


def _one_cycle(client):
    claimed, claim_sql = _statements(lambda: client.post("/api/v1/queue/claim"))
    assert claimed.status_code == 200
    clip = claimed.json()["clip"]
    body = {"text": "turn the lights off", "segments": [], "tags": [], "base_version": clip["version"]}
    saved, save_sql = _statements(lambda: client.put(f"/api/v1/clips/{clip['id']}/transcript", body, format="json"))
    assert saved.status_code == 200
    version = saved.json()["version"]
    submitted, submit_sql = _statements(
        lambda: client.post(f"/api/v1/clips/{clip['id']}/submit", {"version": version, "played": True}, format="json")
    )
    assert submitted.status_code == 200
    return {"claim": claim_sql, "save": save_sql, "submit": submit_sql}


# Committed for real, as each request is served: inside the test's own transaction, events of
# earlier requests would still be pending and the trail would skip their lock and head read.
@pytest.mark.django_db(transaction=True)
def test_claim_save_and_submit_stay_within_their_statement_counts(reviewer_client, make_clips):
    make_clips(3)
    _one_cycle(reviewer_client)  # the first request of a session writes it; permission ids get cached

    counts = {call: len(sql) for call, sql in _one_cycle(reviewer_client).items()}

    allowed = MAX_STATEMENTS[connection.vendor]
    assert all(counts[call] <= allowed[call] for call in allowed), f"{counts}, allowed {allowed}"


def test_a_claim_commits_once_and_reads_the_clip_with_its_lease(reviewer_client, make_clips):
    make_clips(2)
    _one_cycle(reviewer_client)

    claim_sql = _one_cycle(reviewer_client)["claim"]

    # One transaction (in tests, a savepoint inside the test's own) for the claim and its audio link.
    assert sum(sql.startswith(("SAVEPOINT", "BEGIN")) for sql in claim_sql) == 1, claim_sql
    # The clip is read once, under the claim's lock, not again to answer.
    clip_reads = [sql for sql in claim_sql if sql.startswith('SELECT "annotations_clip"."id"')]
    assert len(clip_reads) == 1, clip_reads


def test_reviewable_pools_are_what_guardian_would_answer(reviewer, other_reviewer, supervisor, django_user_model):
    """reviewable_pool_ids reads guardian's grant tables with SQL of its own: same answer, both ways in."""
    from django.contrib.auth.models import Group
    from guardian.shortcuts import assign_perm, get_objects_for_user

    from annotations.models import ClipPool
    from annotations.queue import reviewable_pool_ids

    own, via_group, other_groups, nobodys = (
        ClipPool.objects.create(slug=slug, name=slug) for slug in ("own", "via-group", "other-group", "nobodys")
    )
    team = Group.objects.create(name="night shift")
    reviewer.groups.add(team)
    assign_perm("annotations.review_pool", reviewer, own)
    assign_perm("annotations.review_pool", team, via_group)
    assign_perm("annotations.review_pool", Group.objects.create(name="day shift"), other_groups)
    assign_perm("annotations.view_clippool", reviewer, nobodys)  # another permission on a pool is no grant
    boss = django_user_model.objects.create_superuser(username="root", password="x")

    for person in (reviewer, other_reviewer, supervisor, boss):
        expected = get_objects_for_user(
            person, "annotations.review_pool", klass=ClipPool, accept_global_perms=False, with_superuser=False
        )
        assert reviewable_pool_ids(person) == sorted(expected.values_list("pk", flat=True)), person.username
    assert own.pk in reviewable_pool_ids(reviewer) and via_group.pk in reviewable_pool_ids(reviewer)
    assert reviewable_pool_ids(boss) == []
