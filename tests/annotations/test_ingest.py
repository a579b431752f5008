"""Ingest through the manifest command: good clips of each format, and every way a line can be bad."""

import io
import json
import struct
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import soundfile
from django.core.management import CommandError, call_command
from django.db import connection

from annotations import identity, privacy
from annotations.models import Clip, ClipStatus, SourceIdentity
from tests.audio_files import FORMATS, metadata, write_audio, write_manifest

pytestmark = pytest.mark.django_db
DEMO = Path(__file__).resolve().parents[2] / "demo"


def ingest(manifest: Path) -> tuple[str, int]:
    """Run the command; return (stdout, exit code)."""
    out = io.StringIO()
    try:
        call_command("ingest_clips", str(manifest), stdout=out, stderr=io.StringIO())
    except CommandError as error:
        return out.getvalue(), error.returncode
    return out.getvalue(), 0


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def one_line(tmp_path: Path, audio_name: str, **overrides) -> Path:
    return write_manifest(tmp_path / "manifest.jsonl", [{**metadata(**overrides), "audio": audio_name}])


@pytest.mark.parametrize("extension", sorted(FORMATS))
def test_a_good_clip_of_each_format_is_ingested_with_its_facts_and_peaks(tmp_path, audio_root, extension):
    write_audio(tmp_path / f"speech.{extension}", seconds=3.0, sample_rate=16000)
    out, code = ingest(one_line(tmp_path, f"speech.{extension}"))

    assert code == 0, out
    assert "ingested 1, duplicate 0, opted out 0, rejected 0" in out
    clip = Clip.objects.get()
    assert clip.status == ClipStatus.QUEUED
    assert clip.audio_format == FORMATS[extension]["format"]
    assert clip.sample_rate == 16000 and clip.channels == 1
    assert abs(clip.duration_ms - 3000) < 80  # lossy codecs pad or trim a frame or so
    assert clip.locale == "en-US" and clip.asr_text == "set a timer for ten minutes"
    # 100 (min, max) pairs a second, one signed byte each.
    assert abs(len(clip.peaks) - 2 * 300) <= 4
    peaks = np.frombuffer(bytes(clip.peaks), dtype=np.int8)
    assert peaks[0::2].min() < -60 and peaks[1::2].max() > 60
    assert [p.suffix for p in stored_files(audio_root)] == [f".{extension}"]


def test_the_demo_manifest_ingests_real_speech_and_drops_the_opt_outs(audio_root):
    out, code = ingest(DEMO / "manifest.jsonl")

    assert code == 0, out
    opted_out = sum(json.loads(line)["human_review_opt_out"] for line in (DEMO / "manifest.jsonl").open())
    total = len((DEMO / "manifest.jsonl").read_text().splitlines())
    assert f"ingested {total - opted_out}, duplicate 0, opted out {opted_out}, rejected 0" in out
    assert Clip.objects.count() == total - opted_out == len(stored_files(audio_root))


def test_rerunning_a_manifest_ingests_nothing_twice(tmp_path, audio_root):
    write_audio(tmp_path / "a.wav")
    manifest = one_line(tmp_path, "a.wav")
    ingest(manifest)

    out, code = ingest(manifest)

    assert code == 0
    assert "ingested 0, duplicate 1" in out
    assert Clip.objects.count() == 1 and len(stored_files(audio_root)) == 1


def test_a_purged_clip_is_not_ingested_again_when_its_manifest_runs_again(tmp_path, audio_root, settings):
    write_audio(tmp_path / "a.wav")
    manifest = one_line(tmp_path, "a.wav")
    ingest(manifest)
    clip = Clip.objects.get()
    # The purge deletes who was recorded, and with it the source_id's hash on SourceIdentity.
    privacy.purge_expired(now=clip.received_at + timedelta(days=settings.UNREVIEWED_RETENTION_DAYS + 1))
    clip.refresh_from_db()
    assert clip.status == ClipStatus.PURGED and not SourceIdentity.objects.exists()

    out, code = ingest(manifest)

    assert code == 0 and "ingested 0, duplicate 1" in out
    assert Clip.objects.count() == 1 and stored_files(audio_root) == []


def test_the_command_shows_its_progress_line_by_line(tmp_path, audio_root):
    write_audio(tmp_path / "a.wav")
    manifest = one_line(tmp_path, "a.wav")
    err = io.StringIO()

    call_command("ingest_clips", str(manifest), progress="always", stdout=io.StringIO(), stderr=err)

    assert "manifest.jsonl: 100%" in err.getvalue() and "1/1" in err.getvalue()


def test_an_opted_out_line_is_counted_and_dropped_without_storing_anything(tmp_path, audio_root):
    write_audio(tmp_path / "a.wav")
    out, code = ingest(one_line(tmp_path, "a.wav", human_review_opt_out=True))

    assert code == 0
    assert "ingested 0, duplicate 0, opted out 1, rejected 0" in out
    assert not Clip.objects.exists() and not SourceIdentity.objects.exists()
    assert stored_files(audio_root) == []


def _truncate(path: Path, keep: float = 0.5) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def _wav_claiming_to_be_flac(tmp_path: Path) -> str:
    write_audio(tmp_path / "real.wav")
    (tmp_path / "fake.flac").write_bytes((tmp_path / "real.wav").read_bytes())
    return "fake.flac"


def _float_wav_with_nan(tmp_path: Path) -> str:
    data = np.zeros(16000, dtype=np.float32)
    data[8000] = np.nan
    soundfile.write(tmp_path / "nan.wav", data, 16000, subtype="FLOAT")
    return "nan.wav"


def _bytes(name: str, data: bytes):
    def make(folder: Path) -> str:
        (folder / name).write_bytes(data)
        return name

    return make


BAD_AUDIO = {
    "empty file": (_bytes("empty.wav", b""), "file is empty"),
    "undecodable bytes": (_bytes("noise.wav", np.random.default_rng(1).bytes(4000)), "cannot be decoded"),
    "text named .mp3": (_bytes("notes.mp3", b"hello " * 500), "cannot be decoded"),
    "truncated WAV": (lambda d: _truncate(write_audio(d / "cut.wav")).name, "truncated"),
    "truncated FLAC": (lambda d: _truncate(write_audio(d / "cut.flac")).name, "truncated"),
    "truncated Ogg Vorbis": (lambda d: _truncate(write_audio(d / "cut.ogg", seconds=4)).name, "truncated"),
    "truncated Ogg Opus": (lambda d: _truncate(write_audio(d / "cut.opus", seconds=4)).name, "truncated"),
    "truncated MP3": (lambda d: _truncate(write_audio(d / "cut.mp3", seconds=4)).name, "truncated"),
    "WAV content named .flac": (_wav_claiming_to_be_flac, "content is WAV audio but the file name says .flac"),
    "unaccepted extension": (lambda d: write_audio(d / "a.wav").rename(d / "a.aiff").name, "file name must end in"),
    "non-finite samples": (_float_wav_with_nan, "non-finite sample"),
}


@pytest.mark.parametrize("case", sorted(BAD_AUDIO))
def test_bad_audio_is_rejected_with_its_reason_and_leaves_nothing_behind(tmp_path, audio_root, case):
    make, reason = BAD_AUDIO[case]
    name = make(tmp_path)

    out, code = ingest(one_line(tmp_path, name))

    assert code == 1
    assert "rejected 1" in out
    assert f"manifest.jsonl:1: audio: {reason}" in out
    assert not Clip.objects.exists() and not SourceIdentity.objects.exists()
    assert stored_files(audio_root) == []


def test_a_clip_longer_than_the_limit_is_rejected(tmp_path, settings):
    settings.INGEST_MAX_SECONDS = 2
    write_audio(tmp_path / "long.flac", seconds=3)

    out, code = ingest(one_line(tmp_path, "long.flac"))

    assert code == 1
    assert "audio: clip is 3.0 s long, over the limit of 2 s" in out


def test_a_file_bigger_than_the_byte_limit_is_rejected(tmp_path, settings):
    settings.INGEST_MAX_BYTES = 10_000
    write_audio(tmp_path / "big.wav", seconds=1)

    out, code = ingest(one_line(tmp_path, "big.wav"))

    assert code == 1
    assert "over the limit of 10000" in out


def test_a_wav_whose_data_chunk_promises_more_than_the_file_holds_is_truncated(tmp_path):
    path = write_audio(tmp_path / "liar.wav", seconds=1)
    data = bytearray(path.read_bytes())
    data_at = data.index(b"data")
    data[data_at + 4 : data_at + 8] = struct.pack("<I", 10**6)
    path.write_bytes(bytes(data))

    out, code = ingest(one_line(tmp_path, "liar.wav"))

    assert code == 1
    assert "truncated: the WAV data chunk promises 1000000 bytes" in out


BAD_LINES = {
    "not JSON": ('{"source_id": "x", "audio": ', "line: not valid JSON"),
    "a JSON list": ("[1, 2]", "metadata: must be a JSON object"),
    "missing locale": (
        {k: v for k, v in {**metadata(), "audio": "a.wav"}.items() if k != "locale"},
        "locale: This field is required.",
    ),
    "missing audio": (metadata(), "audio: required"),
    "audio file not found": ({**metadata(), "audio": "nope.wav"}, "audio: file not found: nope.wav"),
    "bad locale": ({**metadata(locale="english please"), "audio": "a.wav"}, "locale: must be a BCP 47 tag"),
    "recorded_at without offset": (
        {**metadata(recorded_at="2026-11-20T18:04:11"), "audio": "a.wav"},
        "recorded_at: must include a UTC offset",
    ),
    "opt-out as a string": (
        {**metadata(human_review_opt_out="false"), "audio": "a.wav"},
        "human_review_opt_out: must be JSON true or false",
    ),
    "unknown field": (
        {**metadata(email="someone@example.com"), "audio": "a.wav"},
        "email: is not a field of clip metadata",
    ),
    "priority out of range": (
        {**metadata(priority=1000), "audio": "a.wav"},
        "priority: Ensure this value is less than or equal to 100.",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_a_bad_manifest_line_is_rejected_with_its_line_number_and_field(tmp_path, audio_root, case):
    line, reason = BAD_LINES[case]
    write_audio(tmp_path / "a.wav")
    write_audio(tmp_path / "b.wav")
    good = {**metadata("good"), "audio": "b.wav"}
    manifest = write_manifest(tmp_path / "manifest.jsonl", [good, line])

    out, code = ingest(manifest)

    assert code == 1
    assert "ingested 1, duplicate 0, opted out 0, rejected 1" in out
    assert f"manifest.jsonl:2: {reason}" in out
    assert Clip.objects.count() == 1 and len(stored_files(audio_root)) == 1


def test_a_line_that_crashes_mid_transaction_leaves_no_row_and_no_file(tmp_path, audio_root, monkeypatch):
    write_audio(tmp_path / "a.wav")

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(SourceIdentity.objects, "create", explode)
    out, code = ingest(one_line(tmp_path, "a.wav"))

    assert code == 1
    assert "internal error (RuntimeError); nothing was stored" in out
    assert "disk on fire" not in out
    assert not Clip.objects.exists()
    assert stored_files(audio_root) == []


def test_the_demo_bad_manifest_reports_each_rejection_by_line(audio_root):
    out, code = ingest(DEMO / "bad_manifest.jsonl")

    assert code == 1
    for number in (2, 4, 5, 6, 7):
        assert f"bad_manifest.jsonl:{number}:" in out
    assert "bad_manifest.jsonl:3: locale: This field is required." in out


def test_a_missing_manifest_is_a_command_error_naming_the_file(tmp_path):
    with pytest.raises(CommandError, match=r"missing\.jsonl: cannot read"):
        call_command("ingest_clips", str(tmp_path / "missing.jsonl"))


def test_who_was_recorded_is_encrypted_at_rest_and_found_by_keyed_hash(tmp_path):
    write_audio(tmp_path / "a.wav")
    ingest(one_line(tmp_path, "a.wav"))
    clip = Clip.objects.get()

    with connection.cursor() as cursor:
        cursor.execute("SELECT account_id, first_name, device_serial, source_id FROM annotations_sourceidentity")
        raw = " ".join(cursor.fetchone())
    for plaintext in ("ACCT-TEST-0001", "Wilhelmina", "SER-TEST-7777", "src-1"):
        assert plaintext not in raw
    found = SourceIdentity.objects.get(account_id_hash=identity.keyed_hash("acct-test-0001 "))
    assert found.clip_id == clip.pk
    assert (found.account_id, found.first_name, found.device_serial) == (
        "ACCT-TEST-0001",
        "Wilhelmina",
        "SER-TEST-7777",
    )


def test_a_clip_row_holds_nothing_about_who_was_recorded(tmp_path):
    write_audio(tmp_path / "a.wav")
    ingest(one_line(tmp_path, "a.wav"))

    row = " ".join(str(value) for value in Clip.objects.values().get().values())
    for plaintext in ("ACCT-TEST-0001", "Wilhelmina", "SER-TEST-7777", "src-1"):
        assert plaintext not in row
