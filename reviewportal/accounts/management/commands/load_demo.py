import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice
from guardian.shortcuts import assign_perm

from annotations.models import ClipPool
from escalations import services as escalations
from reviewportal.accounts.mfa import TOTP_DEVICE_NAME, totp_secret
from reviewportal.accounts.roles import AUDITORS, ESCALATION_LEADS, ESCALATION_TEAM, REVIEWERS, SUPERVISORS

DEMO_MANIFEST = settings.BASE_DIR / "demo" / "manifest.jsonl"
# (username, roles, on escalation duty). Two supervisors, so a referral outside can get its
# second approval; the lead is the next tier when a case's deadline is missed.
DEMO_PEOPLE = [
    ("reviewer", (REVIEWERS,), False),
    ("reviewer2", (REVIEWERS,), False),
    ("supervisor", (SUPERVISORS, ESCALATION_TEAM), True),
    ("lead", (SUPERVISORS, ESCALATION_TEAM, ESCALATION_LEADS), False),
    ("auditor", (AUDITORS,), False),
]


class Command(BaseCommand):
    help = (
        "Create the demo people (two reviewers, a supervisor on escalation duty, an escalation lead, an auditor) "
        "with passwords and pre-enrolled TOTP secrets, ingest the demo clips and let reviewers draw from every "
        "pool. Credentials are generated once into var/demo-logins.txt and printed each run. For a laptop, never "
        "production."
    )

    def handle(self, *args, **options):
        logins_file = Path(settings.VAR_DIR) / "demo-logins.txt"
        passwords = self._passwords(logins_file)
        with transaction.atomic():
            for username, roles, on_duty in DEMO_PEOPLE:
                user, created = get_user_model().objects.get_or_create(username=username)
                if created or not user.check_password(passwords[username]):
                    user.set_password(passwords[username])
                    user.save(update_fields=["password"])
                user.groups.add(*Group.objects.filter(name__in=roles))
                if on_duty:
                    escalations.duty_set(supervisor=user, on_duty=True)
        call_command("ingest_clips", str(DEMO_MANIFEST), stdout=self.stdout, stderr=self.stderr)
        reviewers = Group.objects.get(name=REVIEWERS)
        for pool in ClipPool.objects.all():
            assign_perm("annotations.review_pool", reviewers, pool)
        totp_secrets = {username: self._totp_secret(username) for username, _, _ in DEMO_PEOPLE}
        self._write_logins(logins_file, passwords, totp_secrets)
        self.stdout.write("\nDemo sign-ins (also in var/demo-logins.txt). For the second factor, type the TOTP secret")
        self.stdout.write("into any authenticator app, or run `oathtool --totp -b SECRET` for the current code.")
        for username, roles, on_duty in DEMO_PEOPLE:
            duty = ", on duty" if on_duty else ""
            self.stdout.write(
                f"  {username:<11} password {passwords[username]}   TOTP secret {totp_secrets[username]}"
                f"   ({' + '.join(roles)}{duty})"
            )

    def _totp_secret(self, username: str) -> str:
        """The person's confirmed TOTP device's secret; a device is made the first time."""
        user = get_user_model().objects.get(username=username)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=True)
        return totp_secret(device)

    def _passwords(self, path: Path) -> dict[str, str]:
        known: dict[str, str] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                username, _, rest = line.partition(" ")
                known[username] = rest.split()[0] if rest.split() else ""
        for username, _, _ in DEMO_PEOPLE:
            if not known.get(username):
                known[username] = "-".join(secrets.token_hex(3) for _ in range(3))
        return known

    def _write_logins(self, path: Path, passwords: dict[str, str], totp_secrets: dict[str, str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.writelines(f"{name} {passwords[name]} {totp_secrets[name]}\n" for name, _, _ in DEMO_PEOPLE)
