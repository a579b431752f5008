import hashlib
import hmac
import secrets

from django.db import models
from django.utils import timezone

TOKEN_PREFIX = "rpt"  # noqa: S105  a public marker that makes leaked tokens easy to scan for, not a secret


class Scope(models.TextChoices):
    INGEST = "ingest", "push clips in"
    OPT_OUT = "opt_out", "record opt-outs and deletion requests"
    EXPORT = "export", "pull finished transcripts out"


def _digest(secret: str) -> str:
    # The secret is 256 random bits, so a plain SHA-256 is as strong as a slow hash here and keeps
    # every integration request to one indexed lookup.
    return hashlib.sha256(secret.encode()).hexdigest()


class ServiceTokenQuerySet(models.QuerySet):
    def active(self) -> "ServiceTokenQuerySet":
        return self.filter(revoked_at__isnull=True)


class ServiceToken(models.Model):
    """A credential for one upstream system, limited to the scopes it was created with.

    Only a digest of the secret is stored; the full token is shown once, at creation. A token is
    never a person: it authenticates integration endpoints only.
    """

    name = models.CharField(max_length=100, unique=True)
    key_id = models.CharField(max_length=16, unique=True, editable=False)
    secret_digest = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ServiceTokenQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.name} ({self.key_id})"

    @property
    def is_authenticated(self) -> bool:
        # DRF's IsAuthenticated-style checks look at request.user; a token is an authenticated
        # principal for the integration endpoints that accept it, and nothing else.
        return True

    @classmethod
    def issue(cls, *, name: str, scopes: list[str]) -> tuple["ServiceToken", str]:
        """Create a token and return it with the plaintext, which is never stored or shown again."""
        unknown = sorted(set(scopes) - set(Scope.values))
        if unknown or not scopes:
            raise ValueError(f"scopes must be some of {', '.join(Scope.values)}; got {', '.join(scopes) or 'none'}")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        token = cls.objects.create(name=name, key_id=key_id, secret_digest=_digest(secret), scopes=sorted(set(scopes)))
        return token, f"{TOKEN_PREFIX}_{key_id}_{secret}"

    @classmethod
    def find(cls, plaintext: str) -> "ServiceToken | None":
        """The active token for a presented plaintext, or None. Constant-time on the secret."""
        prefix, _, rest = plaintext.partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != TOKEN_PREFIX or not key_id or not secret:
            return None
        token = cls.objects.active().filter(key_id=key_id).first()
        if token is None or not hmac.compare_digest(token.secret_digest, _digest(secret)):
            return None
        return token

    def has_scope(self, scope: str) -> bool:
        return self.revoked_at is None and scope in self.scopes

    def revoke(self) -> None:
        """Stop the token working at once; the row stays so the audit trail can name it."""
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])
