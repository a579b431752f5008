"""Roles are groups. This table is the one place that says which exist and what each may do."""

from django.contrib.auth.models import Group, Permission

REVIEWERS = "reviewers"
SUPERVISORS = "supervisors"
AUDITORS = "auditors"
ESCALATION_TEAM = "escalation_team"
ESCALATION_LEADS = "escalation_leads"

# role -> model permissions ("app_label.codename") the group holds. Per-clip access is never a
# model permission: it follows the lease (see annotations.access).
ROLES: dict[str, list[str]] = {
    REVIEWERS: ["annotations.review_clips"],
    SUPERVISORS: [
        "accounts.reset_second_factor",
        "security.view_volumelimithit",
        # Pools and who may draw from them are managed in the admin (guardian object permissions).
        "annotations.view_clippool",
        "annotations.add_clippool",
        "annotations.change_clippool",
        "audit.view_activity",
        "escalations.handle_escalation",
    ],
    AUDITORS: [
        "audit.view_accessevent",
        "audit.export_accessevent",
        "audit.view_activity",
        "escalations.view_escalation",
        "escalations.view_escalationevent",  # a case's record of every decision, inline on the case
        "escalations.view_identityrequest",
    ],
    ESCALATION_TEAM: [],  # per-clip grants only, given when a case opens (escalations.services)
    ESCALATION_LEADS: ["escalations.handle_escalation"],  # the next tier when a deadline is missed
}


# The app migrated last among those ROLES names permissions of (INSTALLED_APPS order).
ROLES_SYNCED_AFTER = "escalations"


def sync_roles() -> None:
    """Create each role's group and give it exactly the permissions listed in ROLES."""
    for role, perm_names in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for perm_name in perm_names:
            app_label, codename = perm_name.split(".")
            wanted.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)


def sync_roles_after_migrate(sender, **kwargs) -> None:
    # Runs once per migrated app; wait until the last app whose permissions ROLES names exists.
    if sender.label != ROLES_SYNCED_AFTER:
        return
    sync_roles()
