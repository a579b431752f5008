from functools import wraps

from django.http import HttpResponseForbidden
from django_otp.admin import OTPAdminSite

from reviewportal.accounts.roles import AUDITORS, SUPERVISORS
from reviewportal.audit import trail
from reviewportal.audit.models import Action, Outcome

ADMIN_ROLES = (SUPERVISORS, AUDITORS)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class ReviewportalAdminSite(OTPAdminSite):
    """The one admin site: a verified second factor, and staff or a supervisor/auditor role.

    Roles come from groups, so nobody has to remember to tick "staff" for a new auditor; what each
    may see inside is still decided by model permissions. Auditors only read: any other method
    is refused with 403. Every page anyone views here is recorded in the access trail.
    """

    site_header = "reviewportal administration"
    site_title = "reviewportal"

    def has_permission(self, request) -> bool:
        user = request.user
        if not (user.is_active and user.is_authenticated and user.is_verified()):
            return False
        return user.is_staff or user.groups.filter(name__in=ADMIN_ROLES).exists()

    def admin_view(self, view, cacheable=False):
        guarded = super().admin_view(view, cacheable)

        @wraps(view)
        def recorded(request, *args, **kwargs):
            if request.method not in SAFE_METHODS and is_auditor_only(request.user):
                trail.record(
                    Action.PERMISSION_DENIED,
                    outcome=Outcome.DENIED,
                    object_type="admin",
                    object_id=request.path[:64],
                    detail={"reason": "auditors only read", "method": request.method},
                )
                return HttpResponseForbidden("Auditors read the admin; they do not change anything in it.")
            response = guarded(request, *args, **kwargs)
            if request.method == "GET" and response.status_code == 200 and self.has_permission(request):
                detail = {"query": request.GET.urlencode()[:200]}
                trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id=request.path[:64], detail=detail)
            return response

        return recorded


def is_auditor_only(user) -> bool:
    """An auditor who is not also staff or a superuser: read-only everywhere in the admin."""
    if not user.is_authenticated or user.is_superuser or user.is_staff:
        return False
    return user.groups.filter(name=AUDITORS).exists()
