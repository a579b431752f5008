"""Pools are managed in the admin: who may draw from each is a guardian object permission.

Clips, transcripts and identities are deliberately not registered: the admin is where auditors
read the access trail, and it must not become a side door to recordings or who made them.
"""

from django.contrib import admin
from django.db.models import Count, Q
from guardian.admin import GuardedModelAdmin

from annotations.models import ClipPool, ClipStatus


@admin.register(ClipPool)
class ClipPoolAdmin(GuardedModelAdmin):
    list_display = ["name", "slug", "is_restricted", "queued"]
    list_filter = ["is_restricted"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(queued_count=Count("clips", filter=Q(clips__status=ClipStatus.QUEUED)))
        )

    @admin.display(description="queued clips", ordering="queued_count")
    def queued(self, pool) -> int:
        return pool.queued_count

    def has_delete_permission(self, request, obj=None) -> bool:
        # A pool with clips cannot go (PROTECT); an empty one may.
        return super().has_delete_permission(request, obj) and (obj is None or not obj.clips.exists())
