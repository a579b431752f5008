import re

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Max, Min
from tqdm import tqdm

from reviewportal.audit import chain, high_water, trail
from reviewportal.audit.lanes import SHARED
from reviewportal.audit.models import AccessEvent, Action

HEAD_PATTERN = re.compile(r"^(?:(\d+):)?(\d+):([0-9a-f]{64})$")


def head(value: str) -> tuple[int, int, str]:
    """LANE:SEQUENCE:HASH, or SEQUENCE:HASH for the shared lane (as heads were printed before lanes)."""
    match = HEAD_PATTERN.match(value)
    if match is None:
        raise ValueError(value)
    return int(match.group(1) or SHARED), int(match.group(2)), match.group(3)


class Command(BaseCommand):
    help = (
        "Walk each lane of the access trail's HMAC chains in sequence order and name the first broken link "
        "(exit 1): a changed row, a deleted row, rows deleted from a lane's start (beyond the last recorded "
        "purge) or end (behind the high-water mark, or a head kept from an earlier run). Prints the heads to keep "
        "for next time."
    )

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=5000)
        parser.add_argument(
            "--expect-head",
            type=head,
            action="append",
            default=[],
            metavar="LANE:SEQUENCE:HASH",
            help="a head printed by an earlier run and kept outside the database: it must still be there, "
            "unchanged (once per lane)",
        )
        parser.add_argument(
            "--progress", action="store_true", help="draw the progress bar even when stderr is not a terminal"
        )
        parser.add_argument(
            "--forget-high-water",
            action="store_true",
            help="drop the high-water marks first (only after deliberately recreating the database)",
        )

    def handle(self, *args, chunk_size: int, expect_head, progress: bool, forget_high_water: bool, **options):
        if chunk_size < 1:
            raise CommandError("--chunk-size: must be at least 1")
        expected = {lane: (sequence, hash_) for lane, sequence, hash_ in expect_head}
        with trail.as_command("verify_audit_log"):
            if forget_high_water:
                high_water.forget()
                trail.record(Action.AUDIT_VERIFIED, object_type="access_events", detail={"forgot_high_water": True})
            total = 0
            for lane in chain.lanes_in_use():
                bounds = AccessEvent.objects.filter(lane=lane).aggregate(first=Min("sequence"), last=Max("sequence"))
                total += bounds["last"] - bounds["first"] + 1
            with tqdm(
                total=total, unit="event", desc="verifying", file=self.stderr._out, disable=False if progress else None
            ) as bar:
                checked, broken = chain.verify(chunk_size=chunk_size, progress=bar.update, expect_heads=expected)
            heads = chain.heads()
            detail = {"checked": checked, "intact": broken is None}
            if broken is not None:
                detail.update(broken_lane=broken.lane, broken_at=broken.sequence)
            else:
                detail["heads"] = {str(lane): [sequence, hash_] for lane, (sequence, hash_) in heads.items()}
            # Recorded after the walk, so it is a new head the next run starts from.
            trail.record(Action.AUDIT_VERIFIED, object_type="access_events", detail=detail)
        if broken is not None:
            raise CommandError(
                f"Broken at {broken} ({checked} events before it are intact)",
                returncode=1,
            )
        self.stdout.write(f"Intact: {checked} events in {len(heads)} lane(s).")
        if heads:
            kept = " ".join(f"--expect-head {lane}:{sequence}:{hash_}" for lane, (sequence, hash_) in heads.items())
            self.stdout.write(f"Heads (keep them outside the database; pass them next time): {kept}")
