from django.contrib import admin

from reviewportal.security.models import VolumeLimitHit


@admin.register(VolumeLimitHit)
class VolumeLimitHitAdmin(admin.ModelAdmin):
    """Read-only for everyone: these are records, not settings."""

    list_display = ["at", "user", "kind", "limit", "window_seconds"]
    list_filter = ["kind", "at"]
    date_hierarchy = "at"
    search_fields = ["user__username"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
