"""The access trail in the admin: read-only for everyone, fast on millions of rows, exportable."""

import csv
from functools import cached_property

from django.contrib import admin
from django.contrib.admin.options import ShowFacets
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import StreamingHttpResponse
from django.urls import path
from django.utils.html import format_html

from reviewportal.audit import trail
from reviewportal.audit.models import AccessEvent, Action

COUNT_LIMIT = 10_000
EXPORT_FIELDS = [
    "id",
    "lane",
    "sequence",
    "at",
    "actor_label",
    "actor_user_id",
    "actor_token_id",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "ip",
    "user_agent",
    "session_hash",
    "request_id",
    "detail",
    "prev_hash",
    "hash",
]


class BoundedCountPaginator(Paginator):
    """Counts at most COUNT_LIMIT + 1 rows (a LIMITed subquery), never the whole table."""

    @cached_property
    def count(self) -> int:
        return self.object_list[: COUNT_LIMIT + 1].count()


class ActorFilter(admin.SimpleListFilter):
    """People, service tokens or the system; or one person, by clicking their name in the list.

    Not a list of every user: with thousands of reviewers that sidebar would be useless, and
    RelatedOnlyFieldListFilter would scan the whole trail for distinct actors.
    """

    title = "actor"
    parameter_name = "actor"

    def lookups(self, request, model_admin):
        choices = [("people", "people"), ("tokens", "service tokens"), ("system", "system and commands")]
        value = self.value() or ""
        if value.isdigit():
            username = get_user_model().objects.filter(pk=value).values_list("username", flat=True).first()
            choices.append((value, username or f"user {value}"))
        return choices

    def queryset(self, request, queryset):
        value = self.value()
        if value == "people":
            return queryset.filter(actor_user__isnull=False)
        if value == "tokens":
            return queryset.filter(actor_token__isnull=False)
        if value == "system":
            return queryset.filter(actor_user__isnull=True, actor_token__isnull=True)
        if value and value.isdigit():
            return queryset.filter(actor_user_id=int(value))
        return queryset


class _Echo:
    def write(self, value):
        return value


@admin.register(AccessEvent)
class AccessEventAdmin(admin.ModelAdmin):
    list_display = ["id", "lane", "sequence", "at", "actor", "action", "object_type", "object_id", "outcome", "ip"]
    list_filter = ["action", "outcome", ActorFilter, "at"]
    # Exact, case-sensitive matches only (get_search_results): each is a lookup in event_label_at or
    # event_object_at. Django's "=field" is iexact, UPPER(col) = UPPER(term) on PostgreSQL, which
    # no plain index serves; icontains would scan millions of rows.
    search_fields = ["actor_label", "object_id"]
    search_help_text = "An exact username, token name, or object id (a clip's public id, a user id)."
    date_hierarchy = "at"
    ordering = ["-id"]  # the order rows went in, across lanes
    paginator = BoundedCountPaginator
    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    list_per_page = 100
    actions = None
    readonly_fields = [field.name for field in AccessEvent._meta.fields]

    @admin.display(description="actor", ordering="actor_label")
    def actor(self, event) -> str:
        if event.actor_user_id is None:
            return event.actor_label
        return format_html('<a href="?actor={}">{}</a>', event.actor_user_id, event.actor_label)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(actor_label=term[:150]) | Q(object_id=term[:64])), False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        export = path("export/", self.admin_site.admin_view(self.export_view), name="audit_accessevent_export")
        return [export, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_export": request.user.has_perm("audit.export_accessevent"),
            "count_limit": f"{COUNT_LIMIT:,}",
        }
        return super().changelist_view(request, extra_context)

    def export_view(self, request):
        """The list as filtered on screen, as CSV, streamed; the export itself is recorded first."""
        if not request.user.has_perm("audit.export_accessevent") or not self.has_view_permission(request):
            raise PermissionDenied
        queryset = self.get_changelist_instance(request).get_queryset(request)
        trail.record(Action.EXPORTED, object_type="access_events", detail={"query": request.GET.urlencode()[:300]})
        writer = csv.writer(_Echo())
        rows = queryset.order_by("id").values_list(*EXPORT_FIELDS).iterator(chunk_size=2000)
        lines = (writer.writerow(row) for row in _with_header(rows))
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="access-events.csv"'
        response["Cache-Control"] = "no-store"
        return response


def _with_header(rows):
    yield EXPORT_FIELDS
    yield from rows
