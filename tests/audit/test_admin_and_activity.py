"""Auditors read the trail in the admin (read-only for everyone) and see activity charts."""

import csv
import io
import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reviewportal.audit import trail
from reviewportal.audit.models import AccessEvent, Action, ReviewerHour
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db
LIST = "/admin/audit/accessevent/"


@pytest.fixture
def auditor_browser(auditor):
    return signed_in(auditor, Client)


@pytest.fixture
def some_events(reviewer, other_reviewer):
    for user, action, object_id in [
        (reviewer, Action.CLIP_CLAIMED, "clip-a"),
        (reviewer, Action.AUDIO_STREAMED, "clip-a"),
        (other_reviewer, Action.CLIP_CLAIMED, "clip-b"),
        (other_reviewer, Action.PERMISSION_DENIED, "clip-a"),
    ]:
        trail.record(action, actor=user, object_type="clip", object_id=object_id)


def test_auditors_read_the_trail_with_filters_and_search(auditor_browser, some_events):
    listing = auditor_browser.get(LIST)
    assert listing.status_code == 200
    by_action = auditor_browser.get(LIST, {"action__exact": "clip_claimed"}).content.decode()
    assert by_action.count("clip_claimed") >= 2 and "permission_denied</td>" not in by_action
    found = auditor_browser.get(LIST, {"q": "clip-b"}).content.decode()
    assert "clip-b" in found and ">clip-a<" not in found
    by_actor = auditor_browser.get(LIST, {"q": "oskar"}).content.decode()
    assert "oskar" in by_actor and ">rita<" not in by_actor
    people = AccessEvent.objects.filter(actor_label="rita").values_list("actor_user_id", flat=True).first()
    one_person = auditor_browser.get(LIST, {"actor": people}).content.decode()
    assert ">rita<" in one_person and ">oskar<" not in one_person


def test_the_list_never_counts_the_whole_table(auditor_browser, some_events):
    with CaptureQueriesContext(__import__("django.db").db.connection) as queries:
        auditor_browser.get(LIST)
    counts = [
        q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper() and "audit_accessevent" in q["sql"]
    ]
    assert counts, "expected the bounded count"
    assert all("LIMIT" in sql.upper() for sql in counts), counts
    distinct = [
        q["sql"] for q in queries.captured_queries if "DISTINCT" in q["sql"].upper() and "audit_accessevent" in q["sql"]
    ]
    assert distinct == []


def test_the_date_hierarchy_offers_the_calendar(auditor_browser, some_events):
    year = timezone.now().year
    page = auditor_browser.get(LIST, {"at__year": year}).content.decode()
    assert "at__month=12" in page


def test_an_auditor_can_open_an_event_but_not_change_it(auditor_browser, some_events):
    event = AccessEvent.objects.first()
    page = auditor_browser.get(f"{LIST}{event.pk}/change/")
    assert page.status_code == 200
    assert 'type="submit"' not in page.content.decode().split('id="content-main"')[1]


@pytest.mark.parametrize(
    "path",
    [
        LIST,
        f"{LIST}1/change/",
        f"{LIST}1/delete/",
        "/admin/",
        "/admin/password_change/",
        "/admin/annotations/clippool/add/",
    ],
)
def test_an_auditors_post_anywhere_in_the_admin_is_refused(auditor_browser, some_events, path):
    response = auditor_browser.post(path, {"action": "delete_selected", "_selected_action": ["1"]})
    assert response.status_code == 403
    assert AccessEvent.objects.count() >= 4


def test_the_trail_admin_is_read_only_even_for_a_superuser(django_user_model, some_events):
    root = django_user_model.objects.create_superuser("root")
    admin = signed_in(root, Client)
    event = AccessEvent.objects.first()
    before = event.action
    assert admin.get(f"{LIST}add/").status_code == 403
    admin.post(f"{LIST}{event.pk}/change/", {"action": "login"})
    assert admin.post(f"{LIST}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    listing = admin.get(LIST).content.decode()
    assert 'name="action"' not in listing  # no bulk actions at all
    event.refresh_from_db()
    assert event.action == before


def test_auditors_admin_views_are_recorded(auditor_browser, auditor, some_events):
    auditor_browser.get(LIST, {"action__exact": "clip_claimed"})
    viewed = AccessEvent.objects.filter(action=Action.ADMIN_VIEWED, actor_user=auditor).get()
    assert viewed.object_id == LIST and viewed.detail == {"query": "action__exact=clip_claimed"}


def test_an_auditor_exports_the_filtered_list_as_csv_and_the_export_is_recorded(auditor_browser, auditor, some_events):
    response = auditor_browser.get(f"{LIST}export/", {"action__exact": "clip_claimed"})

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:5] == ["id", "lane", "sequence", "at", "actor_label"]
    assert {row[7] for row in rows[1:]} == {"clip_claimed"}
    assert len(rows) == 3
    exported = AccessEvent.objects.get(action=Action.EXPORTED)
    assert exported.actor_user == auditor and exported.detail == {"query": "action__exact=clip_claimed"}


@pytest.mark.parametrize("persona", ["reviewer", "supervisor"])
def test_only_auditors_read_or_export_the_trail(request, persona, some_events):
    client = signed_in(request.getfixturevalue(persona), Client)
    assert client.get(LIST).status_code in (302, 403)
    assert client.get(f"{LIST}export/").status_code in (302, 403)


def test_auditors_cannot_open_clips_audio_or_transcripts(auditor, reviewer_client, make_clips):
    make_clips(1)
    body = reviewer_client.post("/api/v1/queue/claim").json()
    clip_id = body["clip"]["id"]
    audio_path = "/" + body["clip"]["audio_url"].split("/", 3)[3]
    auditor_client = signed_in(auditor)

    assert auditor_client.get(f"/api/v1/clips/{clip_id}").status_code == 404
    assert auditor_client.get(f"/clips/{clip_id}").status_code == 404
    assert auditor_client.get(audio_path).status_code == 404
    assert (
        auditor_client.put(
            f"/api/v1/clips/{clip_id}/transcript", {"text": "x", "base_version": 0}, format="json"
        ).status_code
        == 404
    )


# --- Activity ------------------------------------------------------------------------------------


# A fixed day, so no assertion depends on the hour the tests happen to run at.
DAY = date(2026, 3, 10)


def _hours(user, hour_counts: dict, day_offset: int = 0, streams: int = 1):
    base = datetime.combine(DAY - timedelta(days=day_offset), time.min, tzinfo=UTC)
    for hour, clips in hour_counts.items():
        ReviewerHour.objects.create(reviewer=user, hour=base.replace(hour=hour), clips=clips, streams=clips * streams)


def _activity(client):
    return client.get("/audit/activity", {"day": DAY.isoformat()})


def test_a_stream_counts_the_clip_as_heard_once_and_every_stream(working_loop, reviewer_client):
    row = ReviewerHour.objects.get()
    assert (row.clips, row.streams) == (1, 1)
    again = reviewer_client.get(f"/api/v1/clips/{working_loop['clip']['id']}").json()  # a new link, a replay
    reviewer_client.get("/" + again["audio_url"].split("/", 3)[3], HTTP_RANGE="bytes=0-9")
    row.refresh_from_db()
    assert (row.clips, row.streams) == (1, 2)


@pytest.fixture
def working_loop(reviewer_client, make_clips):
    make_clips(1)
    body = reviewer_client.post("/api/v1/queue/claim").json()
    audio_path = "/" + body["clip"]["audio_url"].split("/", 3)[3]
    reviewer_client.get(audio_path, HTTP_RANGE="bytes=0-9")
    return body


def test_a_clip_claimed_ahead_but_never_played_is_not_counted_as_heard(reviewer_client, make_clips):
    """Issue 4: "clips heard" counted claims, including the clip claimed ahead that may never be heard."""
    make_clips(2)
    current = reviewer_client.post("/api/v1/queue/claim").json()
    assert reviewer_client.post("/api/v1/queue/claim-next").status_code == 200
    reviewer_client.get("/" + current["clip"]["audio_url"].split("/", 3)[3], HTTP_RANGE="bytes=0-9")

    assert AccessEvent.objects.filter(action=Action.CLIP_CLAIMED).count() == 2
    row = ReviewerHour.objects.get()
    assert (row.clips, row.streams) == (1, 1)


def test_the_activity_page_charts_each_reviewer_and_highlights_what_to_look_at(
    supervisor, reviewer, other_reviewer, settings
):
    settings.ACTIVITY_CLIPS_PER_HOUR_ALERT = 50
    for days_back in range(1, 11):  # rita's usual hours: 9 to 12
        _hours(reviewer, {9: 30, 10: 30, 11: 30}, day_offset=days_back)
    _hours(reviewer, {3: 10, 10: 80})  # 03h is outside her usual hours; 10h is over the line
    _hours(other_reviewer, {14: 20}, streams=6)

    page = _activity(signed_in(supervisor, Client))

    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('<svg class="hours"') == 2
    rita = html.split(">rita<", 1)[1].split("</tr>", 1)[0]
    assert 'class="over"' in rita and "over 50 clips an hour at 10h" in rita
    assert "active outside usual hours at 03h" in rita
    oskar = html.split(">oskar<", 1)[1].split("</tr>", 1)[0]
    assert "6.0 audio streams per clip" in oskar
    assert re.search(r"<strong>2</strong> with something to look at", html)
    assert AccessEvent.objects.filter(action=Action.ACTIVITY_VIEWED).count() == 1


def test_streams_per_clip_is_a_chart_with_the_alert_line_and_replays_in_red(supervisor, reviewer, other_reviewer):
    _hours(reviewer, {9: 10})  # one stream per clip
    _hours(other_reviewer, {14: 20}, streams=6)  # six per clip, over the alert of 4

    html = _activity(signed_in(supervisor, Client)).content.decode()

    oskar = html.split(">oskar<", 1)[1].split("</tr>", 1)[0]
    replays = oskar.split('<svg class="replays"', 1)[1].split("</svg>", 1)[0]
    assert replays.count("<rect ") == 24
    assert '<rect class="over" x="140"' in replays and "14h: 6.0 streams per clip" in replays
    assert '<line class="threshold"' in replays
    rita = html.split(">rita<", 1)[1].split("</tr>", 1)[0]
    assert 'class="over"' not in rita.split('<svg class="replays"', 1)[1]


def test_the_activity_page_has_no_inline_script_or_style(supervisor, reviewer):
    _hours(reviewer, {9: 10})
    page = _activity(signed_in(supervisor, Client))
    html = page.content.decode()
    assert "<script>" not in html and "<style" not in html and " style=" not in html
    assert "unsafe-inline" not in page["Content-Security-Policy"]


def test_an_auditor_opens_the_activity_page(auditor_browser, auditor, reviewer):
    _hours(reviewer, {9: 10})
    page = _activity(auditor_browser)
    assert page.status_code == 200 and ">rita<" in page.content.decode()
    assert AccessEvent.objects.get(action=Action.ACTIVITY_VIEWED).actor_user_id == auditor.pk


def test_a_new_reviewer_is_not_flagged_for_unusual_hours(supervisor, reviewer):
    _hours(reviewer, {3: 5})
    html = _activity(signed_in(supervisor, Client)).content.decode()
    assert ">rita<" in html and "outside usual hours" not in html


@pytest.mark.parametrize("persona", ["reviewer", "other_reviewer"])
def test_reviewers_do_not_see_the_activity_page(request, persona):
    assert signed_in(request.getfixturevalue(persona), Client).get("/audit/activity").status_code == 403


def test_a_bad_day_is_a_clear_400(auditor_browser):
    response = auditor_browser.get("/audit/activity", {"day": "yesterday"})
    assert response.status_code == 400 and b"YYYY-MM-DD" in response.content


def test_an_alert_of_zero_streams_per_clip_still_draws_the_chart(supervisor, reviewer, settings):
    settings.ACTIVITY_STREAMS_PER_CLIP_ALERT = 0
    _hours(reviewer, {9: 10})
    page = _activity(signed_in(supervisor, Client))
    assert page.status_code == 200 and '<svg class="replays"' in page.content.decode()
