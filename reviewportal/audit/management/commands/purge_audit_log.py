from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from reviewportal.audit import chain, trail
from reviewportal.audit.models import AccessEvent, Action


class Command(BaseCommand):
    help = (
        "Remove access events older than AUDIT_RETENTION_DAYS (default six years), oldest first, and record "
        "the purge in the trail with the sequence and hash it removed through, which anchors the chain's new "
        "start. Refuses a retention shorter than six years, and a trail whose start is already broken."
    )

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=10_000)
        parser.add_argument(
            "--progress", action="store_true", help="draw the progress bar even when stderr is not a terminal"
        )

    def handle(self, *args, chunk_size: int, progress: bool, **options):
        if chunk_size < 1:
            raise CommandError("--chunk-size: must be at least 1")
        if settings.AUDIT_RETENTION_DAYS < settings.AUDIT_MIN_RETENTION_DAYS:
            raise CommandError(
                f"AUDIT_RETENTION_DAYS={settings.AUDIT_RETENTION_DAYS} is too short: keep events at least "
                f"{settings.AUDIT_MIN_RETENTION_DAYS} days (six years)"
            )
        before = timezone.now() - timedelta(days=settings.AUDIT_RETENTION_DAYS)
        with trail.as_command("purge_audit_log"), transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # The same lock record() takes: no event is appended while the start moves.
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [trail.ADVISORY_LOCK_KEY])
            start = chain.anchor()
            first = AccessEvent.objects.order_by("sequence").values("sequence", "prev_hash").first()
            if broken := chain.check_start(first, start):
                # Purging now would hide that rows were deleted: someone must look first.
                raise CommandError(f"Not purging: the trail is broken at sequence {broken.sequence}: {broken.reason}")
            # `at` grows with the sequence (both are set under the append lock), so the newest old
            # row by time is the last one to go; found through the index on `at`.
            last_old = (
                AccessEvent.objects.filter(at__lt=before)
                .order_by("-at", "-sequence")
                .values("sequence", "hash")
                .first()
            )
            through, through_hash, removed = start.sequence, start.hash, 0
            if last_old is not None:
                through, through_hash = last_old["sequence"], last_old["hash"]
                expected = through - start.sequence
                if connection.vendor == "postgresql":
                    # The append-only trigger lets a delete through only for rows older than this,
                    # in this transaction only.
                    cursor.execute(
                        "SELECT set_config('reviewportal.audit_purge_before', %s, true)", [before.isoformat()]
                    )
                # Raw SQL: the model and queryset refuse deletes, so no other code path can do this.
                # In slices by sequence (one transaction still), so a long purge shows its progress.
                with tqdm(
                    total=expected,
                    unit="event",
                    desc="purging",
                    file=self.stderr._out,
                    disable=False if progress else None,
                ) as bar:
                    for low in range(start.sequence, through, chunk_size):
                        cursor.execute(
                            "DELETE FROM audit_accessevent WHERE sequence > %s AND sequence <= %s AND at < %s",
                            [low, min(low + chunk_size, through), before],
                        )
                        removed += cursor.rowcount
                        bar.update(cursor.rowcount)
                if removed != expected:
                    raise CommandError(
                        f"Not purging: rows {start.sequence + 1}–{through} should all go ({expected}), but {removed} "
                        "of them are there and older than the retention (a gap, or a clock that went backwards); "
                        "nothing was removed"
                    )
            trail.record(
                Action.AUDIT_PURGED,
                object_type="access_events",
                object_id=str(through),
                detail={
                    "through": through,
                    "through_hash": through_hash,
                    "removed": removed,
                    "before": before.isoformat(timespec="seconds"),
                },
            )
        self.stdout.write(
            f"removed {removed} event(s) older than {before:%Y-%m-%d}; the trail now starts after {through}"
        )
