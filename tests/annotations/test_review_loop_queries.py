"""Issue 2: the review loop's statements per call, pinned, so a regression shows.

Each ORM statement costs about as much CPU to build as to run, and claim, save and submit are the
calls a reviewer makes hundreds of times a shift. The counts include everything a request runs:
the session's user and second-factor device, the role check, the transaction and the access
trail's statements. On PostgreSQL the trail takes an advisory lock per event, one statement more;
without Redis (SQLite here) the session is read from the database, one statement more.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db

# Before issue 2's work: claim 27, save 11, submit 15 (PostgreSQL).
MAX_STATEMENTS = {
    "postgresql": {"claim": 21, "save": 11, "submit": 13},
    "sqlite": {"claim": 20, "save": 11, "submit": 13},
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
