from django_otp.admin import OTPAdminSite

from reviewportal.accounts.roles import AUDITORS, SUPERVISORS

ADMIN_ROLES = (SUPERVISORS, AUDITORS)


class ReviewportalAdminSite(OTPAdminSite):
    """The one admin site: a verified second factor, and staff or a supervisor/auditor role.

    Roles come from groups, so nobody has to remember to tick "staff" for a new auditor; what each
    may see inside is still decided by model permissions.
    """

    site_header = "reviewportal administration"
    site_title = "reviewportal"

    def has_permission(self, request) -> bool:
        user = request.user
        if not (user.is_active and user.is_authenticated and user.is_verified()):
            return False
        return user.is_staff or user.groups.filter(name__in=ADMIN_ROLES).exists()
