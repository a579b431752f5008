"""The one validation path behind both ingest doors (manage.py ingest_clips and the ingest API).

parse_metadata() checks a clip's JSON metadata; inspect_audio() decodes the audio once, checking
it end to end and computing its waveform peaks on the way. Both raise IngestError naming the field
at fault. Storing what passed is annotations.services.clip_ingest.
"""

import re
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import soundfile
from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from annotations.models import AudioFormat
from annotations.peaks import NonFiniteSamples, compute_peaks

# File name endings each format may arrive under; the content must agree with the name.
EXTENSIONS = {
    ".wav": AudioFormat.WAV,
    ".flac": AudioFormat.FLAC,
    ".ogg": AudioFormat.OGG,
    ".oga": AudioFormat.OGG,
    ".opus": AudioFormat.OGG,
    ".mp3": AudioFormat.MP3,
}
# libsndfile's major format names, as SoundFile.format reports them.
LIBSNDFILE_FORMATS = {
    "WAV": AudioFormat.WAV,
    "WAVEX": AudioFormat.WAV,
    "FLAC": AudioFormat.FLAC,
    "OGG": AudioFormat.OGG,
    "MP3": AudioFormat.MP3,
}
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 192000
MAX_CHANNELS = 8
READ_FRAMES = 65536


class IngestError(Exception):
    """A clip that cannot be ingested; `field` names the part of the input at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# --- Metadata ----------------------------------------------------------------------------------


class ClipMetadataSerializer(serializers.Serializer):
    """The metadata of one clip, as a manifest line or the ingest API's `metadata` part carries it."""

    source_id = serializers.CharField(max_length=200)
    account_id = serializers.CharField(max_length=200)
    first_name = serializers.CharField(max_length=200, allow_blank=True)
    device_serial = serializers.CharField(max_length=200, allow_blank=True)
    locale = serializers.RegexField(
        r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$",
        max_length=35,
        error_messages={"invalid": "must be a BCP 47 tag such as en-US"},
    )
    asr_text = serializers.CharField(max_length=20000, allow_blank=True, trim_whitespace=False)
    recorded_at = serializers.DateTimeField()
    human_review_opt_out = serializers.BooleanField()
    priority = serializers.IntegerField(min_value=0, max_value=100, default=0)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields) - {"audio"})
            if unknown:
                raise serializers.ValidationError({unknown[0]: ["is not a field of clip metadata"]})
            if isinstance(data.get("human_review_opt_out"), str):
                # "false" as a string is a bug upstream that would silently mean the opposite.
                raise serializers.ValidationError({"human_review_opt_out": ["must be JSON true or false"]})
        return super().to_internal_value(data)

    def validate_recorded_at(self, value: datetime) -> datetime:
        raw = self.initial_data.get("recorded_at", "")
        if isinstance(raw, str) and not re.search(r"(Z|[+-]\d{2}:?\d{2})$", raw.strip()):
            raise serializers.ValidationError("must include a UTC offset, e.g. 2026-11-20T18:04:11+00:00")
        if value > timezone.now() + timedelta(minutes=5):
            raise serializers.ValidationError("is in the future")
        return value


@dataclass(frozen=True)
class ClipMetadata:
    source_id: str
    account_id: str
    first_name: str
    device_serial: str
    locale: str
    asr_text: str
    recorded_at: datetime
    human_review_opt_out: bool
    priority: int


def parse_metadata(data: object) -> ClipMetadata:
    """Validate one clip's metadata; raise IngestError naming the first field at fault."""
    if not isinstance(data, dict):
        raise IngestError("metadata", "must be a JSON object")
    serializer = ClipMetadataSerializer(data=data)
    if not serializer.is_valid():
        field, messages = next(iter(serializer.errors.items()))
        message = messages[0] if isinstance(messages, list) else messages
        raise IngestError(field, str(message))
    return ClipMetadata(**serializer.validated_data)


# --- Audio -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AudioFacts:
    format: str
    codec: str
    extension: str
    size_bytes: int
    frames: int
    sample_rate: int
    channels: int
    peaks: bytes
    peaks_per_second: int

    @property
    def duration_ms(self) -> int:
        return round(self.frames * 1000 / self.sample_rate)


def inspect_audio(path: Path, *, name: str) -> AudioFacts:
    """Decode the file at `path` end to end and return what the clip row needs.

    `name` is the file name the sender gave; its ending is the format they claim, and the content
    must be that format. Raises IngestError("audio", why) for anything that is not a whole,
    finite, decodable clip within the configured limits.
    """
    extension = Path(name).suffix.lower()
    claimed = EXTENSIONS.get(extension)
    if claimed is None:
        raise IngestError("audio", f"file name must end in one of {', '.join(EXTENSIONS)}; got {name!r}")
    size = path.stat().st_size
    if size == 0:
        raise IngestError("audio", "file is empty")
    if size > settings.INGEST_MAX_BYTES:
        raise IngestError("audio", f"file is {size} bytes, over the limit of {settings.INGEST_MAX_BYTES}")
    try:
        audio = soundfile.SoundFile(path)
    except (soundfile.LibsndfileError, RuntimeError):
        raise IngestError("audio", "cannot be decoded as WAV, FLAC, Ogg (Vorbis, Opus) or MP3 audio") from None
    with audio:
        actual = LIBSNDFILE_FORMATS.get(audio.format)
        if actual is None:
            raise IngestError("audio", f"{audio.format} audio is not accepted; send WAV, FLAC, Ogg or MP3")
        if actual != claimed:
            raise IngestError("audio", f"content is {actual} audio but the file name says {extension}")
        _check_shape(audio)
        _check_container_is_whole(path, actual, size)
        try:
            peaks, decoded_frames = compute_peaks(_decoded_blocks(audio), audio.samplerate, settings.PEAKS_PER_SECOND)
        except NonFiniteSamples as error:
            raise IngestError("audio", str(error)) from None
        except (soundfile.LibsndfileError, RuntimeError):
            raise IngestError("audio", "truncated or corrupt: decoding failed part-way") from None
        if decoded_frames == 0:
            raise IngestError("audio", "holds no audio frames")
        if decoded_frames < audio.frames:
            raise IngestError(
                "audio", f"truncated: the header promises {audio.frames} frames but {decoded_frames} decode"
            )
        facts = AudioFacts(
            format=actual,
            codec=audio.subtype,
            extension=extension,
            size_bytes=size,
            frames=decoded_frames,
            sample_rate=audio.samplerate,
            channels=audio.channels,
            peaks=peaks,
            peaks_per_second=settings.PEAKS_PER_SECOND,
        )
    _check_duration(facts.frames, facts.sample_rate)
    return facts


def _decoded_blocks(audio: soundfile.SoundFile):
    """Yield float32 blocks until the decoder runs dry (SoundFile.blocks pads to the header's length)."""
    audio.seek(0)
    while True:
        block = audio.read(READ_FRAMES, dtype="float32", always_2d=True)
        if not len(block):
            return
        yield block


def _check_shape(audio: soundfile.SoundFile) -> None:
    if not MIN_SAMPLE_RATE <= audio.samplerate <= MAX_SAMPLE_RATE:
        raise IngestError(
            "audio", f"sample rate {audio.samplerate} Hz is outside {MIN_SAMPLE_RATE}–{MAX_SAMPLE_RATE} Hz"
        )
    if not 1 <= audio.channels <= MAX_CHANNELS:
        raise IngestError("audio", f"{audio.channels} channels; at most {MAX_CHANNELS} are accepted")
    if audio.frames > 0:
        _check_duration(audio.frames, audio.samplerate)


def _check_duration(frames: int, sample_rate: int) -> None:
    seconds = frames / sample_rate
    if seconds > settings.INGEST_MAX_SECONDS:
        raise IngestError("audio", f"clip is {seconds:.1f} s long, over the limit of {settings.INGEST_MAX_SECONDS} s")


def _check_container_is_whole(path: Path, audio_format: str, size: int) -> None:
    """Catch truncation that libsndfile papers over: it shortens a cut WAV or Ogg without error."""
    if audio_format == AudioFormat.WAV:
        _check_wav_data_chunk(path, size)
    elif audio_format == AudioFormat.OGG:
        _check_ogg_end_of_stream(path, size)


def _check_wav_data_chunk(path: Path, size: int) -> None:
    with path.open("rb") as wav:
        if wav.read(4) != b"RIFF":
            return  # RF64 and friends: libsndfile's own checks apply
        wav.seek(12)
        while True:
            header = wav.read(8)
            if len(header) < 8:
                return
            chunk_id, chunk_size = header[:4], struct.unpack("<I", header[4:])[0]
            if chunk_id == b"data":
                available = size - wav.tell()
                if chunk_size != 0xFFFFFFFF and chunk_size > available:
                    raise IngestError(
                        "audio", f"truncated: the WAV data chunk promises {chunk_size} bytes but {available} follow"
                    )
                return
            wav.seek(chunk_size + (chunk_size & 1), 1)


def _check_ogg_end_of_stream(path: Path, size: int) -> None:
    # A whole Ogg stream ends with a page flagged end-of-stream (header_type bit 0x04).
    tail_size = min(size, 65536)
    with path.open("rb") as ogg:
        ogg.seek(size - tail_size)
        tail = ogg.read()
    last_page = tail.rfind(b"OggS")
    if last_page < 0 or last_page + 5 >= len(tail) or not tail[last_page + 5] & 0x04:
        raise IngestError("audio", "truncated: the Ogg stream has no end-of-stream page")
