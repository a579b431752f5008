from django.core.management.base import BaseCommand

from annotations import privacy
from reviewportal.audit import trail


class Command(BaseCommand):
    help = (
        "Record that an account opted out of human review: its unreviewed clips go now (mid-lease too), "
        "later ingests are dropped, clips on legal hold stay. Prints public ids, never the account."
    )

    def add_arguments(self, parser):
        parser.add_argument("account_id")

    def handle(self, *args, account_id: str, **options):
        with trail.as_command("record_opt_out"):
            report = privacy.account_opt_out(account_id=account_id, via="command")
        self.stdout.write(f"withdrawn {len(report.done)}, held {len(report.held)}, untouched {report.untouched}")
        for public_id in report.done:
            self.stdout.write(f"  withdrawn {public_id}")
        for public_id in report.held:
            self.stdout.write(f"  held (legal hold) {public_id}")
