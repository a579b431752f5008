import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from reviewportal.accounts.roles import AUDITORS, REVIEWERS, SUPERVISORS

DEMO_MANIFEST = settings.BASE_DIR / "demo" / "manifest.jsonl"
DEMO_PEOPLE = [("reviewer", REVIEWERS), ("reviewer2", REVIEWERS), ("supervisor", SUPERVISORS), ("auditor", AUDITORS)]


class Command(BaseCommand):
    help = (
        "Create the demo people (two reviewers, a supervisor, an auditor) and ingest the demo clips. "
        "Passwords are generated once into var/demo-logins.txt and printed each run. For a laptop, never production."
    )

    def handle(self, *args, **options):
        logins_file = Path(settings.VAR_DIR) / "demo-logins.txt"
        passwords = self._passwords(logins_file)
        with transaction.atomic():
            for username, role in DEMO_PEOPLE:
                user, created = get_user_model().objects.get_or_create(username=username)
                if created or not user.check_password(passwords[username]):
                    user.set_password(passwords[username])
                    user.save(update_fields=["password"])
                user.groups.add(Group.objects.get(name=role))
        call_command("ingest_clips", str(DEMO_MANIFEST), stdout=self.stdout, stderr=self.stderr)
        self.stdout.write("\nDemo sign-ins (also in var/demo-logins.txt):")
        for username, role in DEMO_PEOPLE:
            self.stdout.write(f"  {username:<11} {passwords[username]}   ({role})")

    def _passwords(self, path: Path) -> dict[str, str]:
        known: dict[str, str] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                username, _, password = line.partition(" ")
                known[username] = password.strip()
        missing = [username for username, _ in DEMO_PEOPLE if username not in known]
        if missing:
            for username in missing:
                known[username] = "-".join(secrets.token_hex(3) for _ in range(3))
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.writelines(f"{username} {known[username]}\n" for username, _ in DEMO_PEOPLE)
        return known
