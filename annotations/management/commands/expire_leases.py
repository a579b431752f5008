from django.core.management.base import BaseCommand

from annotations.services import lease_expire_overdue


class Command(BaseCommand):
    help = "Expire leases past their time and return their clips to the queue (run every minute in production)."

    def handle(self, *args, **options):
        total = 0
        while expired := lease_expire_overdue():
            total += expired
        self.stdout.write(f"expired {total} lease(s)")
