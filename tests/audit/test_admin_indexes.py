"""Issue 4: the trail admin's search and filters are index lookups on PostgreSQL, not scans.

Each test fills the table with 60,000 events, ANALYZEs it, and asks PostgreSQL's planner how it
would run the very queryset the admin builds for a request; the plan must use the index meant
for that search or filter. SQLite's planner is not the one production runs, so these skip there.
"""

import pytest
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory

from reviewportal.audit.models import AccessEvent

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="EXPLAIN plans are PostgreSQL's; production runs the trail there"
    ),
]
ROWS = 60_000


@pytest.fixture
def big_trail(auditor):
    """60,000 events from 600 labels over six weeks; a few lockouts, denials and the auditor's own; ANALYZE."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO audit_accessevent (sequence, at, actor_user_id, actor_token_id, actor_label, action,
                object_type, object_id, outcome, ip, user_agent, session_hash, request_id, detail, prev_hash, hash)
            SELECT g, now() - ((%s - g) || ' minutes')::interval, CASE WHEN g %% 3000 = 0 THEN %s END, NULL,
                'reviewer-' || (g %% 600),
                CASE WHEN g %% 5000 = 0 THEN 'lockout' WHEN g %% 2 = 0 THEN 'clip_claimed' ELSE 'audio_streamed' END,
                'clip', md5(g::text), CASE WHEN g %% 4000 = 0 THEN 'denied' ELSE 'allowed' END,
                NULL, '', '', '', '{}', '', ''
            FROM generate_series(1, %s) AS g
            """,
            [ROWS, auditor.pk, ROWS],
        )
        cursor.execute("ANALYZE audit_accessevent")
    return auditor


def plan_for(auditor, query: dict) -> str:
    """EXPLAIN of the list page's queryset for `query`, as the admin builds it."""
    model_admin = admin.site._registry[AccessEvent]
    request = RequestFactory().get("/admin/audit/accessevent/", query)
    request.user = auditor
    changelist = model_admin.get_changelist_instance(request)
    return changelist.get_queryset(request)[: model_admin.list_per_page].explain()


@pytest.mark.parametrize(
    ("query", "index"),
    [
        ({"q": "reviewer-17"}, "event_label_at"),
        ({"q": "b6d767d2f8ed5d21a44b0e5886680cb9"}, "event_object_at"),  # md5('22')
        ({"action__exact": "lockout"}, "event_action_at"),
        ({"outcome__exact": "denied"}, "event_outcome_at"),
        ({"actor": "AUDITOR"}, "event_actor_at"),
    ],
)
def test_search_and_filters_use_their_index(big_trail, query, index):
    query = {key: str(big_trail.pk) if value == "AUDITOR" else value for key, value in query.items()}
    plan = plan_for(big_trail, query)
    assert index in plan, plan
    assert "Seq Scan" not in plan, plan


def test_search_is_exact_and_case_sensitive_so_it_can_use_the_index(big_trail):
    """Django's "=field" search was iexact: UPPER(col) = UPPER(term), which no plain index serves."""
    plan = plan_for(big_trail, {"q": "reviewer-17"})
    assert "upper(" not in plan.lower(), plan
