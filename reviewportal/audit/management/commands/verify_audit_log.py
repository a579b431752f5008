from django.core.management.base import BaseCommand, CommandError
from django.db.models import Max, Min
from tqdm import tqdm

from reviewportal.audit.chain import verify
from reviewportal.audit.models import AccessEvent


class Command(BaseCommand):
    help = "Walk the access trail's HMAC chain in sequence order and name the first broken link (exit 1)."

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=5000)

    def handle(self, *args, chunk_size: int, **options):
        bounds = AccessEvent.objects.aggregate(first=Min("sequence"), last=Max("sequence"))
        total = (bounds["last"] - bounds["first"] + 1) if bounds["first"] is not None else 0
        with tqdm(total=total, unit="event", desc="verifying", file=self.stderr._out, disable=None) as bar:
            checked, broken = verify(chunk_size=chunk_size, progress=bar.update)
        if broken is not None:
            raise CommandError(
                f"Broken at sequence {broken.sequence}: {broken.reason} ({checked} events before it are intact)",
                returncode=1,
            )
        self.stdout.write(f"Intact: {checked} events, sequence {bounds['first'] or 0}–{bounds['last'] or 0}.")
