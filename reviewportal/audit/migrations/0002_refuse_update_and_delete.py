"""On PostgreSQL, the database itself refuses UPDATE and DELETE on the access trail.

The only exception is the retention purge: it sets reviewportal.audit_purge_before for its own
transaction, and the trigger lets through deletes of rows older than that, and nothing else.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION audit_accessevent_refuse_change() RETURNS trigger AS $$
DECLARE
    purge_before text := current_setting('reviewportal.audit_purge_before', true);
BEGIN
    IF TG_OP = 'DELETE' AND purge_before IS NOT NULL AND purge_before <> ''
       AND OLD.at < purge_before::timestamptz THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_accessevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_accessevent_append_only
    BEFORE UPDATE OR DELETE ON audit_accessevent
    FOR EACH ROW EXECUTE FUNCTION audit_accessevent_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS audit_accessevent_append_only ON audit_accessevent;
DROP FUNCTION IF EXISTS audit_accessevent_refuse_change();
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # no placeholders: the % in RAISE is literal

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_access_event")]

    operations = [migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP))]
