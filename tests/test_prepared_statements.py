"""On PostgreSQL the parameters go apart from the SQL and a statement run often on a connection is
prepared there (settings.py: server_side_binding, prepare_threshold), so the server parses and plans
the review loop's statements once per connection. (The trail's multi-statement strings keep a
client-binding cursor: tests/audit/test_append_at_commit.py fails without it.)"""

import uuid

import pytest
from django.db import connection

from annotations.models import Clip

pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("server-side binding and prepared statements are PostgreSQL's")


def prepared_on_this_connection() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def read_a_clip() -> None:
    # A read no other test makes, so no earlier test prepared it on this pooled connection.
    list(Clip.objects.filter(public_id=uuid.uuid4()).values_list("sample_rate", "locale"))


def clip_reads() -> list[str]:
    return [sql for sql in prepared_on_this_connection() if sql.startswith('SELECT "annotations_clip"."sample_rate"')]


def test_a_statement_run_often_is_prepared_with_its_parameters_apart():
    read_a_clip()
    assert clip_reads() == []  # once is not often

    for _ in range(9):
        read_a_clip()

    [statement] = clip_reads()
    assert '"annotations_clip"."public_id" = $1' in statement  # one plan, whatever the id
