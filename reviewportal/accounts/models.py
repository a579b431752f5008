from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


class User(AbstractUser):
    """A person who signs in: reviewer, supervisor or auditor, by group membership.

    Service integrations are never users; they authenticate with a ServiceToken.
    """

    otp_failures = models.PositiveSmallIntegerField(
        default=0, help_text="wrong second-factor codes in a row; reset by a right one"
    )
    otp_locked_at = models.DateTimeField(
        null=True, blank=True, help_text="set after too many wrong codes; only a supervisor's reset clears it"
    )

    class Meta:
        db_table = "accounts_user"
        permissions = [("reset_second_factor", "Can reset a reviewer's second factor")]

    def has_role(self, role: str) -> bool:
        """Membership in one of the groups named in accounts.roles.ROLES."""
        return self.groups.filter(name=role).exists()

    def record_otp_failure(self, *, limit: int) -> None:
        """Count a wrong code; at `limit` in a row the second factor locks. Call with the row locked."""
        self.otp_failures += 1
        if self.otp_failures >= limit and self.otp_locked_at is None:
            self.otp_locked_at = timezone.now()
        self.save(update_fields=["otp_failures", "otp_locked_at"])

    def record_otp_success(self) -> None:
        if self.otp_failures:
            self.otp_failures = 0
            self.save(update_fields=["otp_failures"])

    def clear_otp_lock(self) -> None:
        """A supervisor's reset: the count and the lock go; the person enrols a new device."""
        self.otp_failures = 0
        self.otp_locked_at = None
        self.save(update_fields=["otp_failures", "otp_locked_at"])
