from django.db import migrations


def put_clips_in_locale_pools(apps, schema_editor):
    """Clips ingested before pools existed join their locale's pool, as new clips do at ingest."""
    Clip = apps.get_model("annotations", "Clip")
    ClipPool = apps.get_model("annotations", "ClipPool")
    for locale in Clip.objects.filter(pool__isnull=True).values_list("locale", flat=True).distinct():
        pool, _ = ClipPool.objects.get_or_create(slug=f"locale-{locale.lower()}", defaults={"name": f"{locale} clips"})
        Clip.objects.filter(pool__isnull=True, locale=locale).update(pool=pool)


class Migration(migrations.Migration):
    dependencies = [("annotations", "0002_pools_and_object_permissions")]

    operations = [migrations.RunPython(put_clips_in_locale_pools, migrations.RunPython.noop)]
