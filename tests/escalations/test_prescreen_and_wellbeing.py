"""The ingest pre-screen, and reviewers looked after: breaks, opting out, a per-shift cap."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from annotations.models import Clip, Lease, LeaseOutcome
from escalations import services
from escalations.prescreen import screen
from reviewportal.audit.models import AccessEvent, Action
from tests.audio_files import metadata, write_audio, write_manifest
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "locale", "phrase"),
    [
        ("help me please somebody help", "en-US", "help me please"),
        ("call an ambulance he is not breathing", "en-GB", "call an ambulance"),
        ("stop hurting me please stop", "en-US", "stop hurting me"),
        ("Stop. Hurting me!", "en-US", "stop hurting me"),
        ("ruf die polizei", "de-DE", "ruf die polizei"),
        ("au secours", "fr-FR", "au secours"),
        ("no puedo respirar", "es-ES", "no puedo respirar"),
    ],
)
def test_the_prescreen_catches_distress_phrases_in_the_list(text, locale, phrase):
    hit = screen(text, locale)
    assert hit is not None and hit.phrase == phrase


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("stop the music", "en-US"),
        ("help me find a recipe for pancakes", "en-US"),
        ("I am fine, don't call an ambulance", "en-US"),
        ("the ambulance chasers on tv", "en-US"),
        ("helpme", "en-US"),
        ("call an ambulance", "pt-BR"),  # no list for this language: nothing to match
    ],
)
def test_the_prescreen_ignores_harmless_lookalikes_negations_and_substrings(text, locale):
    assert screen(text, locale) is None


def test_a_hit_at_ingest_raises_priority_and_marks_the_clip_but_never_escalates(tmp_path, settings):
    write_audio(tmp_path / "a.wav")
    write_audio(tmp_path / "b.wav")
    manifest = write_manifest(
        tmp_path / "m.jsonl",
        [
            {**metadata("a", asr_text="please help me he is hurting me"), "audio": "a.wav"},
            {**metadata("b", asr_text="stop the music"), "audio": "b.wav"},
        ],
    )
    call_command("ingest_clips", str(manifest), stdout=io.StringIO(), stderr=io.StringIO())

    flagged, calm = Clip.objects.order_by("id")
    assert flagged.possible_distress and flagged.priority == settings.PRESCREEN_PRIORITY
    assert flagged.distress_reason == 'phrase "please help me" (en)'
    assert not calm.possible_distress and calm.priority == 0
    from escalations.models import Escalation

    assert not Escalation.objects.exists()


def test_the_reviewer_is_warned_and_the_audio_starts_quietly(reviewer, make_clips):
    from django.test import Client

    make_clips(1, asr_text="somebody help")
    browser = signed_in(reviewer, Client)
    html = browser.get(browser.post("/queue/next")["Location"]).content.decode()
    assert 'id="distress-warning" role="alert">Content warning' in html  # shown, not hidden
    assert '"possible_distress": true' in html  # the editor starts the audio at reduced volume on it
    api = signed_in(reviewer).get(f"/api/v1/clips/{Clip.objects.get().public_id}").json()
    assert api["possible_distress"] is True


def test_a_calm_clip_carries_no_warning(reviewer, make_clips):
    from django.test import Client

    make_clips(1)
    browser = signed_in(reviewer, Client)
    html = browser.get(browser.post("/queue/next")["Location"]).content.decode()
    assert 'id="distress-warning" role="alert" hidden>' in html
    assert '"possible_distress": false' in html


def test_a_break_pauses_the_queue_and_ends(reviewer_client, reviewer, make_clips):
    make_clips(1)
    started = reviewer_client.post("/api/v1/my/wellbeing/break").json()
    assert started["paused_until"] is not None

    paused = reviewer_client.post("/api/v1/queue/claim")
    assert paused.status_code == 409 and "break" in paused.json()["detail"]
    reviewer_client.delete("/api/v1/my/wellbeing/break")
    assert reviewer_client.post("/api/v1/queue/claim").status_code == 200


def test_a_break_after_flagging_hands_back_nothing_not_even_the_clip_claimed_ahead(
    reviewer, reviewer_client, other_reviewer_client, make_clips, supervisor_on_duty
):
    """Issue 6: the flag promotes the lease claimed ahead to current; the break must pause it too."""
    make_clips(3)
    flagged_clip = reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"]
    ahead_clip = reviewer_client.post("/api/v1/queue/claim-next").json()["clip"]["id"]
    reviewer_client.post(
        f"/api/v1/clips/{flagged_clip}/escalations",
        {"category": "violence_or_abuse", "start_ms": 0, "end_ms": 500},
        format="json",
    )
    promoted = Lease.objects.get(clip__public_id=ahead_clip)
    assert promoted.is_active() and not promoted.is_next  # what the claim used to hand back mid-break

    assert reviewer_client.post("/api/v1/my/wellbeing/break").status_code == 200

    claim = reviewer_client.post("/api/v1/queue/claim")
    assert claim.status_code == 409 and "break" in claim.json()["detail"]
    assert reviewer_client.post("/api/v1/queue/claim-next").status_code == 409
    assert reviewer_client.get(f"/api/v1/clips/{ahead_clip}").status_code == 404
    promoted.refresh_from_db()
    assert (promoted.ended_at is not None, promoted.outcome) == (True, LeaseOutcome.BREAK)
    assert Clip.objects.get(public_id=ahead_clip).status == "queued"
    returned = AccessEvent.objects.filter(action=Action.LEASE_RELEASED, object_id=ahead_clip).get()
    assert returned.detail["reason"] == "break"

    reviewer_client.delete("/api/v1/my/wellbeing/break")
    again = reviewer_client.post("/api/v1/queue/claim")
    assert again.status_code == 200
    assert again.json()["clip"]["id"] == ahead_clip  # given back, not skipped: it may come to them again


def test_a_break_returns_the_clip_to_the_queue_for_others(reviewer_client, other_reviewer_client, make_clips):
    make_clips(1)
    held = reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"]
    assert other_reviewer_client.post("/api/v1/queue/claim").status_code == 204

    reviewer_client.post("/api/v1/my/wellbeing/break")

    assert other_reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"] == held


def test_the_break_form_after_a_flag_pauses_the_clip_claimed_ahead_too(reviewer, make_clips, supervisor_on_duty):
    from django.test import Client

    make_clips(2)
    browser = signed_in(reviewer, Client)
    clip_path = browser.post("/queue/next")["Location"]
    signed_in(reviewer).post("/api/v1/queue/claim-next")
    browser.post(f"{clip_path}/escalate", {"category": "self_harm", "start_ms": "0", "end_ms": "500"})

    browser.post("/my/break")

    assert not Lease.objects.filter(reviewer=reviewer, ended_at__isnull=True).exists()
    assert browser.post("/queue/next")["Location"] == reverse("queue")  # paused: back to the queue page


def test_flagging_offers_a_break_and_a_support_contact(flagged, settings):
    _, _, response = flagged
    wellbeing = response.json()["wellbeing"]
    assert wellbeing["break_seconds"] == settings.WELLBEING_BREAK_SECONDS
    assert wellbeing["support_contact"] == settings.WELLBEING_SUPPORT_CONTACT


def test_a_reviewer_who_opts_out_is_never_given_possible_distress_clips(reviewer_client, make_clips):
    [distress] = make_clips(1, asr_text="somebody help")
    [calm] = make_clips(1, asr_text="what is the weather")
    reviewer_client.put("/api/v1/my/wellbeing", {"avoid_possible_distress": True}, format="json")

    taken = reviewer_client.post("/api/v1/queue/claim").json()["clip"]["id"]

    assert taken == str(calm.public_id)  # though the distress clip has the higher priority
    lease = Lease.objects.get()
    reviewer_client.post(f"/api/v1/leases/{lease.public_id}/release", {"reason": "other"}, format="json")
    assert reviewer_client.post("/api/v1/queue/claim").status_code == 204
    assert Clip.objects.get(pk=distress.pk).status == "queued"


def test_after_the_shift_cap_no_more_possible_distress_clips(reviewer_client, make_clips, settings):
    settings.DISTRESS_CLIPS_PER_SHIFT = 1
    make_clips(2, asr_text="somebody help")
    first = reviewer_client.post("/api/v1/queue/claim").json()
    reviewer_client.post(f"/api/v1/leases/{first['lease']['id']}/release", {"reason": "other"}, format="json")

    assert reviewer_client.post("/api/v1/queue/claim").status_code == 204


def test_supervisors_see_counts_not_who(reviewer, other_reviewer, supervisor_client):
    services.wellbeing_set_avoid_distress(reviewer=reviewer, avoid=True)
    services.wellbeing_take_break(reviewer=other_reviewer)

    summary = supervisor_client.get("/api/v1/wellbeing/summary").json()

    assert summary == {"reviewers": 2, "avoiding": 1, "on_break": 1}
    assert "rita" not in str(summary) and "oskar" not in str(summary)
