"""Who listened to how much, and when: the activity page's numbers and charts.

The trail counts clips heard (first stream of a clip's audio to the reviewer) and audio streams
per reviewer and hour as it records them (count_event). The page compares one day against each
reviewer's own last 30 days.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F, Sum
from django.db.models.functions import ExtractHour
from django.utils import timezone

from reviewportal.audit.models import AccessEvent, Action, ReviewerHour

# pg_advisory_xact_lock(int4, int4) keys: "actv" in ASCII, then the reviewer's id.
REVIEWER_LOCK_CLASS = 0x61637476
BASELINE_DAYS = 30
USUAL_SHARE = 0.05  # an hour of the day with at least 5 % of a reviewer's activity is one of their usual hours


def counts(event) -> bool:
    """Does recording this event also count toward the activity page (count_event)?"""
    return event.action == Action.AUDIO_STREAMED and event.actor_user_id is not None


def count_event(event) -> None:
    """Count a stream in the reviewer's hour, and the clip as heard if it is its first stream.

    A clip counts as heard when its audio was first streamed to the reviewer, not when it was
    claimed: the editor claims the next clip ahead, which may never be played. Call inside
    record()'s transaction, after the event is in the table. The reviewer's lock (on PostgreSQL;
    SQLite's transactions serialise writers) keeps two streams at once, through two processes
    and so two lanes, from both counting the clip as heard or both inserting the hour's row.
    """
    if not counts(event):
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [REVIEWER_LOCK_CLASS, event.actor_user_id])
    heard_before = (
        AccessEvent.objects.filter(
            object_id=event.object_id, action=Action.AUDIO_STREAMED, actor_user_id=event.actor_user_id
        )
        .exclude(lane=event.lane, sequence=event.sequence)
        .exists()
    )
    changes = {"streams": F("streams") + 1}
    if not heard_before:
        changes["clips"] = F("clips") + 1
    hour = event.at.replace(minute=0, second=0, microsecond=0)
    if not ReviewerHour.objects.filter(reviewer_id=event.actor_user_id, hour=hour).update(**changes):
        ReviewerHour.objects.create(
            reviewer_id=event.actor_user_id, hour=hour, streams=1, clips=0 if heard_before else 1
        )


@dataclass
class ReviewerDay:
    reviewer_id: int
    username: str = ""
    clips: list[int] = field(default_factory=lambda: [0] * 24)
    streams: list[int] = field(default_factory=lambda: [0] * 24)
    usual_hours: set[int] | None = None  # None: no baseline yet

    @property
    def total_clips(self) -> int:
        return sum(self.clips)

    @property
    def streams_per_clip(self) -> float:
        return sum(self.streams) / self.total_clips if self.total_clips else 0.0

    def streams_per_clip_at(self, hour: int) -> float:
        # Streams of clips first heard in an earlier hour count against one clip: replays show.
        return self.streams[hour] / max(self.clips[hour], 1)

    @property
    def busy_hours(self) -> list[int]:
        return [hour for hour in range(24) if self.clips[hour] > settings.ACTIVITY_CLIPS_PER_HOUR_ALERT]

    @property
    def unusual_hours(self) -> list[int]:
        if self.usual_hours is None:
            return []
        return [hour for hour in range(24) if (self.clips[hour] or self.streams[hour]) and hour not in self.usual_hours]

    @property
    def replays(self) -> bool:
        return self.streams_per_clip > settings.ACTIVITY_STREAMS_PER_CLIP_ALERT

    @property
    def alerts(self) -> list[str]:
        alerts = []
        if self.busy_hours:
            alerts.append(f"over {settings.ACTIVITY_CLIPS_PER_HOUR_ALERT} clips an hour at {_hours(self.busy_hours)}")
        if self.replays:
            alerts.append(f"{self.streams_per_clip:.1f} audio streams per clip")
        if self.unusual_hours:
            alerts.append(f"active outside usual hours at {_hours(self.unusual_hours)}")
        return alerts


def _hours(hours: list[int]) -> str:
    return ", ".join(f"{hour:02d}h" for hour in hours)


def reviewer_days(day: date) -> list[ReviewerDay]:
    """Every reviewer active on `day`, with hourly counts and usual hours; alerts first."""
    start = datetime.combine(day, time.min, tzinfo=timezone.get_fixed_timezone(0))
    end = start + timedelta(days=1)
    days: dict[int, ReviewerDay] = {}
    for row in ReviewerHour.objects.filter(hour__gte=start, hour__lt=end).values(
        "reviewer_id", "hour", "clips", "streams"
    ):
        entry = days.setdefault(row["reviewer_id"], ReviewerDay(row["reviewer_id"]))
        hour = row["hour"].astimezone(start.tzinfo).hour
        entry.clips[hour] += row["clips"]
        entry.streams[hour] += row["streams"]
    if not days:
        return []
    baseline: dict[int, dict[int, int]] = defaultdict(dict)
    history = (
        ReviewerHour.objects.filter(
            reviewer_id__in=days, hour__gte=start - timedelta(days=BASELINE_DAYS), hour__lt=start
        )
        .annotate(hour_of_day=ExtractHour("hour"))
        .values("reviewer_id", "hour_of_day")
        .annotate(activity=Sum(F("clips") + F("streams")))
    )
    for row in history:
        baseline[row["reviewer_id"]][row["hour_of_day"]] = row["activity"]
    for reviewer_id, entry in days.items():
        hours = baseline.get(reviewer_id)
        if hours:
            total = sum(hours.values())
            entry.usual_hours = {hour for hour, count in hours.items() if count >= USUAL_SHARE * total}
    names = dict(get_user_model().objects.filter(pk__in=days).values_list("pk", "username"))
    for entry in days.values():
        entry.username = names.get(entry.reviewer_id, f"user {entry.reviewer_id}")
    return sorted(days.values(), key=lambda entry: (not entry.alerts, -entry.total_clips, entry.username))


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    height: int
    hour: int
    clips: int
    streams: int
    css: str


def chart_bars(entry: ReviewerDay, *, scale_max: int, height: int = 60, width: int = 10) -> list[Bar]:
    """24 bars, one per hour, scaled so the alert threshold sits at the same height on every chart."""
    bars = []
    unusual = set(entry.unusual_hours)
    busy = set(entry.busy_hours)
    for hour in range(24):
        clips = entry.clips[hour]
        bar_height = round(height * min(clips, scale_max) / scale_max) if clips else 0
        css = "over" if hour in busy else "unusual" if hour in unusual else "normal"
        bars.append(Bar(hour * width, height - bar_height, bar_height, hour, clips, entry.streams[hour], css))
    return bars


@dataclass(frozen=True)
class ReplayBar:
    x: int
    y: int
    height: int
    hour: int
    ratio: float
    css: str


def replay_bars(entry: ReviewerDay, *, scale_max: float, height: int = 40, width: int = 10) -> list[ReplayBar]:
    """24 bars of audio streams per clip heard, one per hour, on a shared scale; over the alert is red."""
    bars = []
    alert = settings.ACTIVITY_STREAMS_PER_CLIP_ALERT
    for hour in range(24):
        ratio = entry.streams_per_clip_at(hour)
        bar_height = round(height * min(ratio, scale_max) / scale_max) if ratio else 0
        bars.append(
            ReplayBar(hour * width, height - bar_height, bar_height, hour, ratio, "over" if ratio > alert else "normal")
        )
    return bars
