from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction

from reviewportal.audit import trail
from reviewportal.audit.models import Action
from reviewportal.integrations.models import Scope, ServiceToken


class Command(BaseCommand):
    help = "Issue a service token for an upstream system. The token is printed once; only its digest is kept."

    def add_arguments(self, parser):
        parser.add_argument("name", help="a unique name for the integration, e.g. asr-pipeline-eu")
        parser.add_argument(
            "--scope", action="append", required=True, choices=Scope.values, help="repeat for several scopes"
        )

    def handle(self, *args, name: str, scope: list[str], **options):
        try:
            with transaction.atomic(), trail.as_command("create_service_token"):
                token, plaintext = ServiceToken.issue(name=name, scopes=scope)
                detail = {"scopes": ",".join(token.scopes)}
                trail.record(
                    Action.SERVICE_TOKEN_ISSUED,
                    object_type="service_token",
                    object_id=token.key_id,
                    token=token,
                    detail=detail,
                )
        except IntegrityError:
            raise CommandError(f"A service token named {name!r} already exists") from None
        self.stderr.write(f"Issued {token} with scopes {', '.join(token.scopes)}. Store it now; it is not shown again.")
        self.stdout.write(plaintext)
