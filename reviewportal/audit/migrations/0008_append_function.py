"""On PostgreSQL, a function that appends the trail's rows, so the INSERT is planned once per session.

trail._insert sends each transaction's events with its COMMIT as one simple-protocol string,
which PostgreSQL parsed and planned again every time: a third of the INSERT's own CPU there
(docs/benchmarks.md, ninth round). A PL/pgSQL function keeps the plan of the statements in it
for the session. Its INSERT is trail._statements().insert_sealed with the parameter named:
tests/audit/test_tamper_evidence.py checks that they still match, so a column added to
AccessEvent without a new version of this function fails the tests, not production.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION audit_accessevent_append(rows jsonb) RETURNS void AS $$
BEGIN
    INSERT INTO "audit_accessevent" ("lane", "hash", "sequence", "at", "actor_user_id", "actor_token_id",
        "actor_label", "action", "object_type", "object_id", "outcome", "ip", "user_agent", "session_hash",
        "request_id", "detail", "prev_hash")
    SELECT (e->>0)::smallint, e->>1, (e->2->>0)::bigint, (e->2->>1)::timestamp with time zone,
        (e->2->>2)::bigint, (e->2->>3)::bigint, (e->2->>4)::text, (e->2->>5)::text, (e->2->>6)::text,
        (e->2->>7)::text, (e->2->>8)::text, (e->2->>9)::inet, (e->2->>10)::text, (e->2->>11)::text,
        (e->2->>12)::text, e->2->13, (e->2->>14)::text
    FROM jsonb_array_elements(rows) AS e;
END;
$$ LANGUAGE plpgsql;
"""

DROP = "DROP FUNCTION IF EXISTS audit_accessevent_append(jsonb);"


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0007_lanes")]

    operations = [migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP))]
