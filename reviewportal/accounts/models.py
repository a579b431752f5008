from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """A person who signs in: reviewer, supervisor or auditor, by group membership.

    Service integrations are never users; they authenticate with a ServiceToken.
    """

    class Meta:
        db_table = "accounts_user"

    def has_role(self, role: str) -> bool:
        """Membership in one of the groups named in accounts.roles.ROLES."""
        return self.groups.filter(name=role).exists()
