from django.contrib.auth.models import Permission
from django.db.models import Q
from rest_framework.permissions import BasePermission


def has_model_perm(user, perm: str) -> bool:
    """user.has_perm() for one model permission in one query, where Django loads all of them in two.

    For checks on every request of a hot path (the claim). Superusers hold every permission.
    """
    if not (user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    app_label, codename = perm.split(".")
    return (
        Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        .filter(Q(user=user) | Q(group__user=user))
        .exists()
    )


class IsOTPVerified(BasePermission):
    """Signed in with a password AND a second factor in this session. The API's default."""

    message = "Sign in with your second factor first"

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "is_verified", lambda: False)())


# Every person-facing API view starts its permission_classes with this list and adds its role
# check after it: `permission_classes = [*PERSON, CanReview]`. Replacing the DRF default with a
# list of one's own must never drop the second factor (tests/security/test_api_second_factor.py
# walks every view to hold that). Only token-authenticated integration views go without it.
PERSON = [IsOTPVerified]
