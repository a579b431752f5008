"""DRF authentication and permission for service tokens.

Integration views set authentication_classes = [ServiceTokenAuthentication] and nothing else, so a
person's session never reaches them; every other view uses session authentication only, so a
service token never reaches a person's endpoint.
"""

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from reviewportal.integrations.models import ServiceToken

# last_used_at is advisory; writing it on every request would turn each ingest into two writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ServiceTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, plaintext = header.partition(" ")
        if keyword != self.keyword or not plaintext:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <service token>'")
        token = ServiceToken.find(plaintext.strip())
        if token is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked service token")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ServiceToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token, token

    def authenticate_header(self, request) -> str:
        return self.keyword


class HasScope(permissions.BasePermission):
    """Allow a service token that carries `scope`. Build with HasScope.for_scope("ingest")."""

    scope = ""

    @classmethod
    def for_scope(cls, scope: str) -> type["HasScope"]:
        return type(f"HasScope_{scope}", (cls,), {"scope": scope})

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if not isinstance(token, ServiceToken):
            return False
        if not token.has_scope(self.scope):
            self.message = f"This service token lacks the '{self.scope}' scope"
            return False
        return True
