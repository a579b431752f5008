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
        "the purge in the trail with the sequence and hash it removed each lane through, which anchors each "
        "lane's new start. Refuses a retention shorter than six years, and a trail whose start is already broken."
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
                # The shared lane's lock: nothing is appended there while its start moves. The
                # other lanes need none: their appends touch only their newest rows.
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [trail.ADVISORY_LOCK_KEY])
            starts = {lane: chain.anchor(lane) for lane in sorted(set(chain.lanes_in_use()) | set(chain.anchors()))}
            for lane, start in starts.items():
                first = (
                    AccessEvent.objects.filter(lane=lane).order_by("sequence").values("sequence", "prev_hash").first()
                )
                if broken := chain.check_start(first, start, lane):
                    # Purging now would hide that rows were deleted: someone must look first.
                    raise CommandError(f"Not purging: the trail is broken at {broken}")
            if connection.vendor == "postgresql":
                # The append-only trigger lets a delete through only for rows older than this, in
                # this transaction only.
                cursor.execute("SELECT set_config('reviewportal.audit_purge_before', %s, true)", [before.isoformat()])
            removed, marks = 0, {}
            with tqdm(unit="event", desc="purging", file=self.stderr._out, disable=False if progress else None) as bar:
                for lane, start in starts.items():
                    through, through_hash = self._purge_lane(cursor, lane, start, before, chunk_size, bar)
                    removed += through - start.sequence
                    if through:  # a lane nothing was ever purged from starts at its genesis
                        marks[str(lane)] = [through, through_hash]
            trail.record(
                Action.AUDIT_PURGED,
                object_type="access_events",
                object_id=str(removed),
                detail={"lanes": marks, "removed": removed, "before": before.isoformat(timespec="seconds")},
            )
        self.stdout.write(f"removed {removed} event(s) older than {before:%Y-%m-%d}")
        for lane, (through, _) in marks.items():
            self.stdout.write(f"lane {lane} now starts after sequence {through}")

    def _purge_lane(self, cursor, lane: int, start, before, chunk_size: int, bar) -> tuple[int, str]:
        """Delete a lane's rows older than `before`; return the (sequence, hash) it now starts after."""
        # `at` grows with the sequence within a lane (both are set while one transaction has the lane), so the
        # newest old row by time is the last one to go; found through the index on `at`.
        last_old = (
            AccessEvent.objects.filter(lane=lane, at__lt=before)
            .order_by("-at", "-sequence")
            .values("sequence", "hash")
            .first()
        )
        if last_old is None:
            return start.sequence, start.hash
        through = last_old["sequence"]
        expected = through - start.sequence
        removed = 0
        bar.total = (bar.total or 0) + expected
        bar.refresh()
        # Raw SQL: the model and queryset refuse deletes, so no other code path can do this. In
        # slices by sequence (one transaction still), so a long purge shows its progress.
        for low in range(start.sequence, through, chunk_size):
            cursor.execute(
                "DELETE FROM audit_accessevent WHERE lane = %s AND sequence > %s AND sequence <= %s AND at < %s",
                [lane, low, min(low + chunk_size, through), before],
            )
            removed += cursor.rowcount
            bar.update(cursor.rowcount)
        if removed != expected:
            raise CommandError(
                f"Not purging: rows {start.sequence + 1}–{through} of lane {lane} should all go ({expected}), but "
                f"{removed} of them are there and older than the retention (a gap, or a clock that went "
                "backwards); nothing was removed"
            )
        return through, last_old["hash"]
