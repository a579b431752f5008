"""Issue 4: an action and its event commit together, on more doors than the transcript save."""

from urllib.parse import urlsplit

import pytest
from django.db import DatabaseError, transaction

from annotations.models import ClipPool, Lease
from reviewportal.audit import trail
from reviewportal.audit.models import AccessEvent, Action
from tests.conftest import enrol_totp, signed_in

pytestmark = pytest.mark.django_db


def _broken_seal(sealed):
    raise RuntimeError("HMAC key unavailable")


@pytest.fixture
def audio_path(reviewer_client, make_clips):
    make_clips(1)
    body = reviewer_client.post("/api/v1/queue/claim").json()
    return urlsplit(body["clip"]["audio_url"]).path


# In its own transactions, as in production: record() opens the outermost one in the audio view.
@pytest.mark.django_db(transaction=True)
def test_when_audio_streamed_cannot_be_recorded_no_range_is_served_without_it(reviewer_client, audio_path, monkeypatch):
    """Issue 4: the once-per-link flag was set before record(); after a failure, later ranges streamed unrecorded."""
    reviewer_client.raise_request_exception = False
    monkeypatch.setattr(trail, "_hmac", _broken_seal)
    assert reviewer_client.get(audio_path, HTTP_RANGE="bytes=0-99").status_code == 500

    monkeypatch.undo()
    assert reviewer_client.get(audio_path, HTTP_RANGE="bytes=100-199").status_code == 206
    assert reviewer_client.get(audio_path, HTTP_RANGE="bytes=200-299").status_code == 206

    assert AccessEvent.objects.filter(action=Action.AUDIO_STREAMED).count() == 1


def test_a_claim_and_its_event_commit_together(reviewer_client, make_clips, monkeypatch):
    make_clips(1)
    monkeypatch.setattr(trail, "_hmac", _broken_seal)
    reviewer_client.raise_request_exception = False

    assert reviewer_client.post("/api/v1/queue/claim").status_code == 500

    assert not Lease.objects.exists()


def test_a_second_factor_reset_and_its_event_commit_together(reviewer, supervisor, monkeypatch):
    device = enrol_totp(reviewer)
    monkeypatch.setattr(trail, "_hmac", _broken_seal)
    client = signed_in(supervisor)
    client.raise_request_exception = False

    assert client.post(f"/api/v1/people/{reviewer.pk}/second-factor/reset").status_code == 500

    device.refresh_from_db()  # still there: the reset rolled back with its event


def test_an_event_that_fails_in_a_callers_transaction_takes_the_action_down_even_if_the_error_is_caught(
    reviewer, monkeypatch
):
    """record() adds no block of its own inside the caller's; a caller that swallows the trail's
    error must still not commit the action without its event."""
    monkeypatch.setattr(trail, "_hmac", _broken_seal)
    with transaction.atomic():
        ClipPool.objects.create(slug="unrecorded", name="Unrecorded")
        # An audio stream goes in at once (it counts toward the activity page), so it fails here.
        with pytest.raises(DatabaseError):
            trail.record(Action.AUDIO_STREAMED, object_type="clip", object_id="c1", actor=reviewer)

    assert not ClipPool.objects.filter(slug="unrecorded").exists()
