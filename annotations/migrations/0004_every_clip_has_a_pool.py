import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("annotations", "0003_put_existing_clips_in_locale_pools")]

    operations = [
        migrations.AlterField(
            model_name="clip",
            name="pool",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="clips", to="annotations.clippool"
            ),
        ),
    ]
