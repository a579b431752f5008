"""Real audio files for tests, written with libsndfile: speech-like tones in every accepted format."""

import json
from pathlib import Path

import numpy as np
import soundfile

FORMATS = {
    "wav": {"format": "WAV", "subtype": "PCM_16"},
    "flac": {"format": "FLAC", "subtype": "PCM_16"},
    "ogg": {"format": "OGG", "subtype": "VORBIS"},
    "opus": {"format": "OGG", "subtype": "OPUS"},
    "mp3": {"format": "MP3", "subtype": "MPEG_LAYER_III"},
}


def samples(seconds: float, sample_rate: int = 16000, channels: int = 1) -> np.ndarray:
    """A vowel-like tone with a syllable rhythm, so peaks rise and fall like speech."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    voice = 0.5 * np.sin(2 * np.pi * 140 * t) + 0.25 * np.sin(2 * np.pi * 280 * t) + 0.1 * np.sin(2 * np.pi * 700 * t)
    envelope = 0.5 * (1 + np.sin(2 * np.pi * 3 * t))
    mono = (voice * envelope * 0.8).astype(np.float32)
    return mono if channels == 1 else np.stack([mono] * channels, axis=1)


def write_audio(path: Path, seconds: float = 2.0, *, sample_rate: int = 16000, channels: int = 1, data=None) -> Path:
    kind = FORMATS[path.suffix.lstrip(".")]
    soundfile.write(path, samples(seconds, sample_rate, channels) if data is None else data, sample_rate, **kind)
    return path


def metadata(source_id: str = "src-1", **overrides) -> dict:
    """Clip metadata as upstream sends it; the identity values are what tests search for in responses."""
    values = {
        "source_id": source_id,
        "account_id": "ACCT-TEST-0001",
        "first_name": "Wilhelmina",
        "device_serial": "SER-TEST-7777",
        "locale": "en-US",
        "asr_text": "set a timer for ten minutes",
        "recorded_at": "2026-11-20T18:04:11+00:00",
        "human_review_opt_out": False,
    }
    values.update(overrides)
    return values


def write_manifest(path: Path, entries: list[dict | str]) -> Path:
    """A JSONL manifest; a str entry is written verbatim (for lines that are not JSON)."""
    path.write_text("".join((entry if isinstance(entry, str) else json.dumps(entry)) + "\n" for entry in entries))
    return path
