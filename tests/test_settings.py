"""Settings come from the environment, fail loudly on bad values, and default to the embedded stack."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOW = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "db": settings.DATABASES["default"]["ENGINE"], "db_name": str(settings.DATABASES["default"]["NAME"]),
    "db_options": settings.DATABASES["default"].get("OPTIONS", {}),
    "cache": settings.CACHES["default"]["BACKEND"], "channels": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "audio": settings.STORAGES["audio"]["OPTIONS"], "media_url": settings.MEDIA_URL, "secret": settings.SECRET_KEY[:6],
}))
"""
KEYS = {"IDENTITY_ENCRYPTION_KEYS": "k" * 43 + "=", "IDENTITY_HASH_KEY": "h", "AUDIT_HMAC_KEY": "a"}


def load(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG"}}
    clean.update({"VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "reviewportal.settings", **env})
    return subprocess.run(
        [sys.executable, "-c", SHOW], cwd=ROOT, env=clean, capture_output=True, text=True, check=False
    )


def test_the_embedded_default_is_sqlite_under_var_with_in_memory_layers(tmp_path):
    result = load(tmp_path, SECRET_KEY="s" * 50, **KEYS)

    shown = json.loads(result.stdout)
    assert shown["db"] == "django.db.backends.sqlite3"
    assert shown["db_name"] == str(tmp_path / "reviewportal.sqlite3")
    assert shown["cache"].endswith("LocMemCache")
    assert shown["channels"] == "channels.layers.InMemoryChannelLayer"
    assert shown["audio"] == {"location": str(tmp_path / "audio"), "base_url": None}
    assert shown["media_url"] is None


def test_database_url_and_redis_url_switch_to_postgresql_and_redis(tmp_path):
    result = load(
        tmp_path,
        SECRET_KEY="s" * 50,
        DATABASE_URL="postgres://u@db.example:5432/rp",
        REDIS_URL="redis://cache:6379/0",
        **KEYS,
    )

    shown = json.loads(result.stdout)
    assert shown["db"] == "reviewportal.audit.postgresql"  # Django's, plus the trail's append at commit
    assert shown["db_options"]["server_side_binding"] is True
    assert shown["db_options"]["prepare_threshold"] == 5
    assert shown["cache"] == "reviewportal.cache.RedisCache"
    assert shown["channels"] == "channels_redis.core.RedisChannelLayer"


def test_secret_key_is_required_when_debug_is_off(tmp_path):
    result = load(tmp_path, **KEYS)

    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_identity_keys_are_required(tmp_path):
    result = load(tmp_path, SECRET_KEY="s" * 50)

    assert result.returncode != 0
    assert "IDENTITY_ENCRYPTION_KEYS and IDENTITY_HASH_KEY are required" in result.stderr


def test_the_generated_secrets_file_is_read_and_the_environment_wins(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "reviewportal.keys", str(tmp_path / "secrets.env")],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    assert oct((tmp_path / "secrets.env").stat().st_mode & 0o777) == "0o600"

    from_file = json.loads(load(tmp_path).stdout)
    from_env = json.loads(load(tmp_path, SECRET_KEY="envwins" + "x" * 40).stdout)

    assert from_file["secret"] != "envwin"
    assert from_env["secret"] == "envwin"


def test_rerunning_the_key_generator_never_replaces_a_key(tmp_path):
    path = tmp_path / "secrets.env"
    subprocess.run([sys.executable, "-m", "reviewportal.keys", str(path)], cwd=ROOT, check=True, capture_output=True)
    before = path.read_text()
    subprocess.run([sys.executable, "-m", "reviewportal.keys", str(path)], cwd=ROOT, check=True, capture_output=True)
    assert path.read_text() == before


@pytest.mark.parametrize(
    ("name", "value"), [("DEBUG", "maybe"), ("LEASE_SECONDS", "ten"), ("AUDIO_URL_SECONDS", "900")]
)
def test_a_bad_value_fails_loudly_naming_the_variable(tmp_path, name, value):
    result = load(tmp_path, SECRET_KEY="s" * 50, **KEYS, **{name: value})

    assert result.returncode != 0
    assert name in result.stderr


def test_prepared_statements_can_be_turned_off_for_a_pooler_and_a_bad_threshold_is_named(tmp_path):
    postgresql = {"SECRET_KEY": "s" * 50, "DATABASE_URL": "postgres://u@db.example:5432/rp", **KEYS}

    off = load(tmp_path, DATABASE_PREPARE_THRESHOLD="off", **postgresql)
    bad = load(tmp_path, DATABASE_PREPARE_THRESHOLD="often", **postgresql)

    assert json.loads(off.stdout)["db_options"]["prepare_threshold"] is None
    assert bad.returncode != 0
    assert "DATABASE_PREPARE_THRESHOLD" in bad.stderr
