from django.core.management.base import BaseCommand

from reviewportal.integrations.models import ServiceToken


class Command(BaseCommand):
    help = "List service tokens (never their secrets)."

    def handle(self, *args, **options):
        for token in ServiceToken.objects.order_by("name"):
            state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
            last_used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            self.stdout.write(f"{token.name}\t{token.key_id}\t{','.join(token.scopes)}\t{state}\tlast used {last_used}")
