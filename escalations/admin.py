"""Read-only case records for auditors (and everyone else) in the admin."""

from django.contrib import admin

from escalations.models import Escalation, EscalationEvent, IdentityRequest


class ReadOnlyAdmin(admin.ModelAdmin):
    actions = None

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class EventInline(admin.TabularInline):
    model = EscalationEvent
    fields = ["at", "actor", "kind", "from_state", "to_state", "owner", "tier", "deadline", "disposition", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "severity", "category", "raised_by", "created_at"]
    list_filter = ["severity", "category", "created_at"]
    search_fields = ["=public_id"]
    readonly_fields = [
        "public_id",
        "clip",
        "raised_by",
        "category",
        "severity",
        "start_ms",
        "end_ms",
        "note",
        "created_at",
    ]
    inlines = [EventInline]


@admin.register(IdentityRequest)
class IdentityRequestAdmin(ReadOnlyAdmin):
    """Who asked, who approved, when: never the identity itself."""

    list_display = ["public_id", "escalation", "requested_by", "requested_at", "approved_by", "approved_at"]
    readonly_fields = [
        "public_id",
        "escalation",
        "requested_by",
        "justification",
        "requested_at",
        "approved_by",
        "approved_at",
        "reveal_until",
    ]
