from django.contrib import admin

from reviewportal.integrations.models import ServiceToken


@admin.register(ServiceToken)
class ServiceTokenAdmin(admin.ModelAdmin):
    """Read-only: tokens are issued and revoked with management commands, so a secret is shown once."""

    list_display = ["name", "key_id", "scopes", "created_at", "revoked_at", "last_used_at"]
    readonly_fields = list_display

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
