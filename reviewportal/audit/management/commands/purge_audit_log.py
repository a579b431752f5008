from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone


class Command(BaseCommand):
    help = (
        "Remove access events older than AUDIT_RETENTION_DAYS (default six years), oldest first. "
        "Refuses a retention shorter than six years. The oldest remaining row then anchors the chain."
    )

    def handle(self, *args, **options):
        if settings.AUDIT_RETENTION_DAYS < settings.AUDIT_MIN_RETENTION_DAYS:
            raise CommandError(
                f"AUDIT_RETENTION_DAYS={settings.AUDIT_RETENTION_DAYS} is too short: keep events at least "
                f"{settings.AUDIT_MIN_RETENTION_DAYS} days (six years)"
            )
        before = timezone.now() - timedelta(days=settings.AUDIT_RETENTION_DAYS)
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # The append-only trigger lets a delete through only for rows older than this, in
                # this transaction only.
                cursor.execute("SELECT set_config('reviewportal.audit_purge_before', %s, true)", [before.isoformat()])
            # Raw SQL: the model and queryset refuse deletes, so no other code path can do this.
            cursor.execute("DELETE FROM audit_accessevent WHERE at < %s", [before])
            removed = cursor.rowcount
        self.stdout.write(f"removed {removed} event(s) older than {before:%Y-%m-%d}")
