import re

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Max, Min
from tqdm import tqdm

from reviewportal.audit import high_water, trail
from reviewportal.audit.chain import verify
from reviewportal.audit.models import AccessEvent, Action

HEAD_PATTERN = re.compile(r"^(\d+):([0-9a-f]{64})$")


def head(value: str) -> tuple[int, str]:
    match = HEAD_PATTERN.match(value)
    if match is None:
        raise ValueError(value)
    return int(match.group(1)), match.group(2)


class Command(BaseCommand):
    help = (
        "Walk the access trail's HMAC chain in sequence order and name the first broken link (exit 1): a changed "
        "row, a deleted row, rows deleted from the start (beyond the last recorded purge) or from the end (behind "
        "the high-water mark, or a head kept from an earlier run). Prints the head to keep for next time."
    )

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=5000)
        parser.add_argument(
            "--expect-head",
            type=head,
            metavar="SEQUENCE:HASH",
            help="a head printed by an earlier run and kept outside the database: it must still be there, unchanged",
        )
        parser.add_argument(
            "--progress", action="store_true", help="draw the progress bar even when stderr is not a terminal"
        )
        parser.add_argument(
            "--forget-high-water",
            action="store_true",
            help="drop the high-water mark first (only after deliberately recreating the database)",
        )

    def handle(self, *args, chunk_size: int, expect_head, progress: bool, forget_high_water: bool, **options):
        if chunk_size < 1:
            raise CommandError("--chunk-size: must be at least 1")
        with trail.as_command("verify_audit_log"):
            if forget_high_water:
                high_water.forget()
                trail.record(Action.AUDIT_VERIFIED, object_type="access_events", detail={"forgot_high_water": True})
            bounds = AccessEvent.objects.aggregate(first=Min("sequence"), last=Max("sequence"))
            total = (bounds["last"] - bounds["first"] + 1) if bounds["first"] is not None else 0
            with tqdm(
                total=total, unit="event", desc="verifying", file=self.stderr._out, disable=False if progress else None
            ) as bar:
                checked, broken = verify(chunk_size=chunk_size, progress=bar.update, expect_head=expect_head)
            last = AccessEvent.objects.filter(sequence=bounds["last"]).values("sequence", "hash").first()
            detail = {"checked": checked, "intact": broken is None}
            if broken is not None:
                detail["broken_at"] = broken.sequence
            elif last is not None:
                detail.update(through=last["sequence"], through_hash=last["hash"])
            # Recorded after the walk, so it is the new head the next run starts from.
            trail.record(Action.AUDIT_VERIFIED, object_type="access_events", detail=detail)
        if broken is not None:
            raise CommandError(
                f"Broken at sequence {broken.sequence}: {broken.reason} ({checked} events before it are intact)",
                returncode=1,
            )
        self.stdout.write(f"Intact: {checked} events, sequence {bounds['first'] or 0}–{bounds['last'] or 0}.")
        if last is not None:
            self.stdout.write(
                f"Head: {last['sequence']}:{last['hash']} (keep it outside the database; "
                f"pass --expect-head {last['sequence']}:{last['hash']} next time)"
            )
