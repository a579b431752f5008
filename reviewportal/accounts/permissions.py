from rest_framework.permissions import BasePermission


class IsOTPVerified(BasePermission):
    """Signed in with a password AND a second factor in this session. The API's default."""

    message = "Sign in with your second factor first"

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "is_verified", lambda: False)())
