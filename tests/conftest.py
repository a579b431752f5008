"""Personas and shared fixtures. Every test gets its own empty audio storage."""

import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from rest_framework.test import APIClient

from reviewportal.accounts.roles import AUDITORS, REVIEWERS, SUPERVISORS
from tests.audio_files import metadata, write_audio

PASSWORD = "correct horse battery staple"


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


def signed_in(user) -> APIClient:
    """An API client with a real session for `user` (session auth, as the browser uses)."""
    client = APIClient()
    client.force_login(user)
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
        call_command("ingest_clips", str(manifest), stdout=io.StringIO(), stderr=io.StringIO())
        return list(Clip.objects.exclude(id__in=before).order_by("id"))

    return make
