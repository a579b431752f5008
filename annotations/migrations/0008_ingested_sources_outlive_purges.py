"""Remember every ingested source_id apart from SourceIdentity, which a purge deletes.

Sources of clips purged before this migration are gone with their identity and cannot be
recovered; every clip that still has its identity is remembered here.
"""

import django.utils.timezone
from django.db import migrations, models


def remember_ingested_sources(apps, schema_editor):
    SourceIdentity = apps.get_model("annotations", "SourceIdentity")
    IngestedSource = apps.get_model("annotations", "IngestedSource")
    rows = SourceIdentity.objects.values_list("source_id_hash", "created_at").iterator(chunk_size=5000)
    batch = []
    for source_id_hash, created_at in rows:
        batch.append(IngestedSource(source_id_hash=source_id_hash, ingested_at=created_at))
        if len(batch) == 5000:
            IngestedSource.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    IngestedSource.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0007_lease_claimed_ahead"),
    ]

    operations = [
        migrations.CreateModel(
            name="IngestedSource",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("source_id_hash", models.CharField(max_length=64, unique=True)),
                ("ingested_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.RunPython(remember_ingested_sources, migrations.RunPython.noop),
    ]
