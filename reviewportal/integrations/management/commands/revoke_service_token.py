from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from reviewportal.audit import trail
from reviewportal.audit.models import Action
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
        with transaction.atomic(), trail.as_command("revoke_service_token"):
            found.revoke()
            trail.record(Action.SERVICE_TOKEN_REVOKED, object_type="service_token", object_id=found.key_id, token=found)
        self.stdout.write(f"Revoked {found}")
