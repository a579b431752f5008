"""The activity page for auditors and supervisors: who listened to how much, and when."""

from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from reviewportal.audit import activity, trail
from reviewportal.audit.models import Action

PAGE_SIZE = 50


@require_GET
@permission_required("audit.view_activity", raise_exception=True)
def activity_page(request: HttpRequest) -> HttpResponse:
    today = timezone.now().date()
    try:
        day = date.fromisoformat(request.GET.get("day", "")) if request.GET.get("day") else today
    except ValueError:
        return HttpResponse("day: use YYYY-MM-DD", status=400, content_type="text/plain")
    entries = activity.reviewer_days(day)
    page = max(1, int(request.GET.get("page", "1")) if request.GET.get("page", "1").isdigit() else 1)
    shown = entries[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    threshold = settings.ACTIVITY_CLIPS_PER_HOUR_ALERT
    # Every chart shares one scale, with the alert threshold at two thirds of its height.
    scale_max = max([threshold * 3 // 2, *(max(entry.clips) for entry in shown)]) if shown else threshold
    streams_alert = settings.ACTIVITY_STREAMS_PER_CLIP_ALERT
    # The replay charts share a scale too, with their alert line at two thirds of the height.
    replay_max = max(
        [1.0, streams_alert * 1.5, *(entry.streams_per_clip_at(hour) for entry in shown for hour in range(24))]
    )
    rows = [
        {
            "entry": entry,
            "bars": activity.chart_bars(entry, scale_max=scale_max),
            "replays": activity.replay_bars(entry, scale_max=replay_max),
        }
        for entry in shown
    ]
    trail.record(Action.ACTIVITY_VIEWED, object_type="activity", object_id=day.isoformat())
    return render(
        request,
        "audit/activity.html",
        {
            "day": day,
            "previous_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1) if day < today else None,
            "rows": rows,
            "threshold": threshold,
            "threshold_y": 60 - round(60 * threshold / scale_max),
            "streams_alert": streams_alert,
            "streams_alert_y": 40 - round(40 * streams_alert / replay_max),
            "alerting": sum(1 for entry in entries if entry.alerts),
            "total": len(entries),
            "page": page,
            "has_next": len(entries) > page * PAGE_SIZE,
        },
    )
