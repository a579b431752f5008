from django.core.management.base import BaseCommand, CommandError

from reviewportal.integrations.models import ServiceToken


class Command(BaseCommand):
    help = "Revoke a service token by name or key id; it stops working at once."

    def add_arguments(self, parser):
        parser.add_argument("token", help="the token's name or key id")

    def handle(self, *args, token: str, **options):
        found = ServiceToken.objects.filter(name=token).first() or ServiceToken.objects.filter(key_id=token).first()
        if found is None:
            raise CommandError(f"No service token named or with key id {token!r}")
        if found.revoked_at is not None:
            raise CommandError(f"{found} was already revoked at {found.revoked_at:%Y-%m-%d %H:%M:%S %Z}")
        found.revoke()
        self.stdout.write(f"Revoked {found}")
