"""SignedInUserMiddleware: request.user as Django's and django-otp's middleware would set it, in one query.

Its shortcut reads the session's TOTP device joined to its user. Each test below breaks one thing
the two libraries check (the device's owner, its confirmation, the user's is_active, the password
hash, the backend) and expects what they would do: no user, or a user without a second factor.
"""

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice

from tests.conftest import enrol_totp, signed_in

pytestmark = pytest.mark.django_db


def _seen(client):
    """The user the server made of the session, on the queue page (any page would do)."""
    return client.get("/").wsgi_request.user


@pytest.fixture
def whoami(reviewer):
    """A verified session for the reviewer."""
    client = signed_in(reviewer)
    user = _seen(client)
    assert user == reviewer and user.is_verified() and user.otp_device == enrol_totp(reviewer)
    return client


def _edit_session(client, **changes):
    session = client.session
    for key, value in changes.items():
        if value is None:
            session.pop(key, None)
        else:
            session[key] = value
    session.save()


def test_the_user_and_their_device_are_read_in_one_query(whoami, reviewer):
    with CaptureQueriesContext(connection) as captured:
        assert _seen(whoami).is_verified()
    reads = [q["sql"] for q in captured.captured_queries if "accounts_user" in q["sql"] or "otp_" in q["sql"]]
    assert "otp_totp_totpdevice" in reads[0] and "accounts_user" in reads[0], reads
    assert not any("otp_" in sql or 'FROM "accounts_user"' in sql for sql in reads[1:]), reads


def test_a_deactivated_user_is_signed_out_on_the_next_request(whoami, reviewer):
    reviewer.is_active = False
    reviewer.save(update_fields=["is_active"])

    assert not _seen(whoami).is_authenticated


def test_a_changed_password_ends_every_other_session(whoami, reviewer):
    reviewer.set_password("a whole new passphrase")
    reviewer.save()

    assert not _seen(whoami).is_authenticated
    assert SESSION_KEY not in whoami.session  # flushed, as Django does


def test_a_session_hash_made_with_a_retired_secret_key_still_counts_and_is_renewed(whoami, reviewer, settings):
    old_hash = whoami.session[HASH_SESSION_KEY]
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40

    user = _seen(whoami)

    assert user == reviewer and user.is_verified()
    assert whoami.session[HASH_SESSION_KEY] not in ("", old_hash)


def test_a_deleted_device_leaves_the_session_with_one_factor(whoami, reviewer):
    enrol_totp(reviewer).delete()

    user = _seen(whoami)

    assert user == reviewer and not user.is_verified()
    assert DEVICE_ID_SESSION_KEY not in whoami.session  # dropped, as django-otp does


def test_an_unconfirmed_device_is_no_second_factor(whoami, reviewer):
    device = enrol_totp(reviewer)
    device.confirmed = False
    device.save(update_fields=["confirmed"])

    user = _seen(whoami)

    assert user == reviewer and not user.is_verified()


def test_someone_elses_device_in_the_session_is_no_second_factor(whoami, reviewer, other_reviewer):
    _edit_session(whoami, **{DEVICE_ID_SESSION_KEY: enrol_totp(other_reviewer).persistent_id})

    user = _seen(whoami)

    assert user == reviewer and not user.is_verified()


def test_a_session_without_a_backend_is_anonymous(whoami):
    _edit_session(whoami, **{BACKEND_SESSION_KEY: None})

    assert not _seen(whoami).is_authenticated


def test_a_recovery_code_device_takes_the_libraries_path_and_counts(reviewer):
    client = signed_in(reviewer, verified=False)
    device = StaticDevice.objects.create(user=reviewer, name="backup", confirmed=True)
    _edit_session(client, **{DEVICE_ID_SESSION_KEY: device.persistent_id})

    user = _seen(client)

    assert user == reviewer and user.otp_device == device
