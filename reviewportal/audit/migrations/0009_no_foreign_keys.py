"""Drop the trail's foreign keys to its actors (a user, a service token); docs/decisions.md.

Checked at every event's commit, each locked the actor's row (FOR KEY SHARE): more of the trail's
cost in PostgreSQL than the event's own row and indexes, and an event waited for anyone holding
that row FOR UPDATE. The ids stay, sealed in each row's HMAC. Django's PROTECT still refuses to
delete a user or token that events name, and on PostgreSQL so does a trigger on their tables, for
a delete by hand: checked when such a row is deleted, which is never on a request's path, instead
of at every event.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

KEEP_NAMED_ACTORS = """
CREATE OR REPLACE FUNCTION audit_keep_named_actors() RETURNS trigger AS $$
BEGIN
    IF (TG_ARGV[0] = 'user' AND EXISTS (SELECT 1 FROM audit_accessevent WHERE actor_user_id = OLD.id))
       OR (TG_ARGV[0] = 'token' AND EXISTS (SELECT 1 FROM audit_accessevent WHERE actor_token_id = OLD.id)) THEN
        RAISE EXCEPTION 'access events name this % (id %): it cannot be deleted', TG_ARGV[0], OLD.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;
"""


# The tables whose rows events name, and what the trigger calls each.
NAMED_ACTORS = ((settings.AUTH_USER_MODEL, "user"), ("integrations.ServiceToken", "token"))


def _keep_named_actors(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(KEEP_NAMED_ACTORS, params=None)  # no placeholders: the % in RAISE is literal
    for model, kind in NAMED_ACTORS:
        table = schema_editor.quote_name(apps.get_model(model)._meta.db_table)
        schema_editor.execute(
            f"CREATE TRIGGER audit_keep_named_actor BEFORE DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION audit_keep_named_actors('{kind}')",
            params=None,
        )


def _let_named_actors_go(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model, _ in NAMED_ACTORS:
        table = schema_editor.quote_name(apps.get_model(model)._meta.db_table)
        schema_editor.execute(f"DROP TRIGGER IF EXISTS audit_keep_named_actor ON {table}", params=None)
    schema_editor.execute("DROP FUNCTION IF EXISTS audit_keep_named_actors()", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0008_append_function"),
        ("integrations", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="accessevent",
            name="actor_token",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="integrations.servicetoken",
            ),
        ),
        migrations.AlterField(
            model_name="accessevent",
            name="actor_user",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(_keep_named_actors, _let_named_actors_go),
    ]
