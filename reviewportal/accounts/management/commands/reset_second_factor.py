from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from reviewportal.accounts.mfa import reset_second_factor
from reviewportal.audit import trail


class Command(BaseCommand):
    help = "Remove a person's second factor and its lock (any role); they enrol again at next sign-in."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        person = get_user_model().objects.filter(username=username).first()
        if person is None:
            raise CommandError(f"No person with username {username!r}")
        with trail.as_command("reset_second_factor"):
            reset_second_factor(user=person)
        self.stdout.write(f"{username} will set up a second factor again at next sign-in.")
