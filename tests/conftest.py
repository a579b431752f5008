"""Personas and shared fixtures. Every test gets its own empty audio storage."""

import io
import os
import tempfile

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from reviewportal.accounts.roles import AUDITORS, REVIEWERS, SUPERVISORS
from tests.audio_files import metadata, write_audio

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """On SQLite, a test database in a file, as the embedded default runs, not in memory.

    An in-memory database is one connection shared by every thread of the live server the
    browser tests talk to, and it answers "database table is locked" at once when two of the
    browser's requests overlap, where a file with WAL waits its turn like production does.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        name = os.path.join(tempfile.gettempdir(), f"reviewportal-test-{os.getpid()}.sqlite3")
        database.setdefault("TEST", {})["NAME"] = name


@pytest.fixture(autouse=True)
def plain_http(settings):
    # The test client speaks http; the TLS redirect production uses has a test of its own.
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's, plus: the audit lane's own connection closes before the test database is
    dropped (PostgreSQL refuses to drop a database someone is connected to)."""
    from reviewportal.audit import lanes

    yield
    lanes.release()


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # Hashing cost is not under test; MD5 keeps the password step fast. Real hashers run in production.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_cache():
    """Volume counters and lockouts live in the cache; no test inherits another's (nor a high-water
    mark still on its way from the writer thread)."""
    from django.core.cache import cache

    from reviewportal.audit import high_water

    high_water.settle()
    cache.clear()
    yield
    high_water.settle()
    cache.clear()


@pytest.fixture(autouse=True)
def audio_root(settings, tmp_path):
    root = tmp_path / "audio"
    settings.STORAGES = {
        **settings.STORAGES,
        "audio": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root), "base_url": None},
        },
    }
    return root


def _person(django_user_model, username: str, *roles: str):
    user = django_user_model.objects.create_user(username=username, password=PASSWORD)
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def reviewer(django_user_model):
    return _person(django_user_model, "rita", REVIEWERS)


@pytest.fixture
def other_reviewer(django_user_model):
    return _person(django_user_model, "oskar", REVIEWERS)


@pytest.fixture
def supervisor(django_user_model):
    return _person(django_user_model, "sana", SUPERVISORS)


@pytest.fixture
def auditor(django_user_model):
    return _person(django_user_model, "aldo", AUDITORS)


@pytest.fixture
def outsider(django_user_model):
    return _person(django_user_model, "olga")


def enrol_totp(user) -> TOTPDevice:
    """A confirmed TOTP device for `user` (what enrolment leaves behind)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator app", confirmed=True)


def signed_in(user, client_class=APIClient, *, verified: bool = True):
    """A client with a real session for `user`, signed in with both factors unless verified=False.

    The MFA tests sign in through the real pages with real TOTP codes; everything else starts
    from this session, which is what those pages leave behind.
    """
    client = client_class()
    client.force_login(user)
    if verified:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = enrol_totp(user).persistent_id
        session.save()
    return client


@pytest.fixture
def reviewer_client(reviewer):
    return signed_in(reviewer)


@pytest.fixture
def other_reviewer_client(other_reviewer):
    return signed_in(other_reviewer)


@pytest.fixture
def make_clips(tmp_path):
    """Ingest n real WAV clips through the manifest command; returns their Clip rows in ingest order."""
    from annotations.models import Clip
    from tests.audio_files import write_manifest

    counter = iter(range(10**6))

    def make(n: int = 1, *, seconds: float = 2.0, **overrides):
        folder = tmp_path / f"batch-{next(counter)}"
        folder.mkdir()
        entries = []
        for i in range(n):
            name = f"clip-{i}.wav"
            write_audio(folder / name, seconds)
            entries.append({**metadata(f"{folder.name}-{i}", **overrides), "audio": name})
        manifest = write_manifest(folder / "manifest.jsonl", entries)
        before = set(Clip.objects.values_list("id", flat=True))
        out = io.StringIO()
        try:
            call_command("ingest_clips", str(manifest), stdout=out, stderr=io.StringIO())
        except CommandError as error:
            raise AssertionError(f"make_clips: {error}\n{out.getvalue()}") from None  # which line, and why
        clips = list(Clip.objects.exclude(id__in=before).select_related("pool").order_by("id"))
        reviewers = Group.objects.get(name=REVIEWERS)
        for pool in {clip.pool for clip in clips}:
            assign_perm("annotations.review_pool", reviewers, pool)
        return clips

    return make
