from django.core.management.base import BaseCommand

from annotations import privacy
from reviewportal.audit import trail


class Command(BaseCommand):
    help = (
        "Carry out a deletion request: every clip of the account loses its audio, peaks, transcripts and identity "
        "and becomes a tombstone; clips on legal hold stay and are listed. The account is opted out too."
    )

    def add_arguments(self, parser):
        parser.add_argument("account_id")

    def handle(self, *args, account_id: str, **options):
        with trail.as_command("delete_account"):
            report = privacy.account_delete(account_id=account_id, via="command")
        self.stdout.write(f"removed {len(report.done)}, held {len(report.held)}")
        for public_id in report.done:
            self.stdout.write(f"  removed {public_id}")
        for public_id in report.held:
            self.stdout.write(f"  held (legal hold) {public_id}")
