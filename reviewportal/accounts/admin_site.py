import json
from functools import wraps

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.db import transaction
from django.http import HttpResponseForbidden
from django_otp.admin import OTPAdminSite

from reviewportal.accounts.roles import AUDITORS, SUPERVISORS
from reviewportal.audit import trail
from reviewportal.audit.models import Action, Outcome

ADMIN_ROLES = (SUPERVISORS, AUDITORS)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CHANGES = {ADDITION: "added", CHANGE: "changed", DELETION: "deleted"}
# Views that change something without writing the admin's LogEntry: guardian's object permission
# forms and a person's own password change.
UNLOGGED_CHANGES = ("_permissions_manage_user", "_permissions_manage_group", "password_change")


class ReviewportalAdminSite(OTPAdminSite):
    """The one admin site: a verified second factor, and staff or a supervisor/auditor role.

    Roles come from groups, so nobody has to remember to tick "staff" for a new auditor; what each
    may see inside is still decided by model permissions. Auditors only read: any other method
    is refused with 403. Every page anyone views here is recorded in the access trail, and every
    change saved here (add, change, delete, permissions) is recorded in the same transaction.
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
            if request.method not in SAFE_METHODS:
                # The change and its events commit together, or neither does.
                with transaction.atomic():
                    since = LogEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
                    response = guarded(request, *args, **kwargs)
                    if response.status_code in (301, 302, 303) and self.has_permission(request):
                        record_admin_changes(request, since)
                return response
            response = guarded(request, *args, **kwargs)
            if request.method == "GET" and response.status_code == 200 and self.has_permission(request):
                detail = {"query": request.GET.urlencode()[:200]}
                trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id=request.path[:64], detail=detail)
            return response

        return recorded


def record_admin_changes(request, since: int) -> None:
    """One admin_changed event per object the request changed: its type, id and what happened.

    Read from the LogEntry rows the admin itself wrote in this transaction; field names, never
    field values (a value could be anything a supervisor typed). Call inside the request's
    transaction, after the view saved.
    """
    entries = LogEntry.objects.filter(pk__gt=since, user_id=request.user.pk).select_related("content_type")
    for entry in entries.order_by("pk"):
        detail = {"change": CHANGES.get(entry.action_flag, "changed"), "path": request.path[:64]}
        if fields := _changed_fields(entry.change_message):
            detail["fields"] = fields
        content_type = entry.content_type
        trail.record(
            Action.ADMIN_CHANGED,
            object_type=f"{content_type.app_label}.{content_type.model}"[:40] if content_type else "admin",
            object_id=entry.object_id or "",
            detail=detail,
        )
    if entries.exists():
        return
    match = request.resolver_match
    url_name = (match.url_name or "") if match else ""
    if not url_name.endswith(UNLOGGED_CHANGES):
        return
    detail = {"change": "permissions" if "_permissions_" in url_name else "password", "path": request.path[:64]}
    for key in ("group_id", "user_id"):
        if key in match.kwargs:
            detail[key.removesuffix("_id")] = str(match.kwargs[key])
    if "_permissions_" in url_name:
        detail["permissions"] = ",".join(sorted(request.POST.getlist("permissions")))[:200]
    model = url_name.split("_permissions_")[0].replace("_", ".", 1) if "_permissions_" in url_name else "user"
    object_id = match.kwargs.get("object_pk") or (request.user.pk if model == "user" else "")
    trail.record(Action.ADMIN_CHANGED, object_type=model[:40], object_id=object_id, detail=detail)


def _changed_fields(change_message: str) -> str:
    try:
        messages = json.loads(change_message or "[]")
    except ValueError:
        return ""
    names = []
    for message in messages if isinstance(messages, list) else []:
        for change in message.values() if isinstance(message, dict) else []:
            if isinstance(change, dict):
                names.extend(str(name) for name in change.get("fields", []))
    return ",".join(names)[:200]


def is_auditor_only(user) -> bool:
    """An auditor who is not also staff or a superuser: read-only everywhere in the admin."""
    if not user.is_authenticated or user.is_superuser or user.is_staff:
        return False
    return user.groups.filter(name=AUDITORS).exists()
