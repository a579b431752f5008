"""The transcript a save or submit sends, checked without building a DRF serializer when it is plain.

Every save and every submit validates a transcript: DRF copies and binds each field of the
serializer, and of the segment serializer inside it, on every call (8 % of the served loop's CPU).
These functions accept only input that is plainly valid (every value of exactly the JSON type
the field takes, within its limits, nothing DRF would convert, trim or refuse) and return what
the serializer would return for it; for anything else they return None and the caller asks the
serializer, which also writes the error naming the field. The limits are read from the
serializers themselves. tests/annotations/test_plain_input.py holds both ways to the same answers.
"""

import functools

from annotations.transcripts import Tag

TAGS = frozenset(Tag.values)


def transcript(data, shape) -> dict | None:
    """TranscriptInputSerializer's validated data for plainly valid `data`, else None."""
    limits = _limits(shape)
    if type(data) is not dict:
        return None
    text, base_version = data.get("text"), data.get("base_version")
    if not _plain_text(text, limits["text"]) or type(base_version) is not int or base_version < 0:
        return None
    segments = data.get("segments", [])
    if type(segments) is not list or len(segments) > limits["segments"]:
        return None
    checked = [_segment(segment, limits) for segment in segments]
    tags = _tags(data.get("tags", []), limits["tags"])
    if tags is None or None in checked:
        return None
    return {"text": text, "segments": checked, "tags": tags, "base_version": base_version}


def submit(data, shape) -> dict | None:
    """ClipSubmitView.InputSerializer's validated data for plainly valid `data`, else None."""
    if type(data) is not dict:
        return None
    out = {}
    if "version" in data:
        version = data["version"]
        if type(version) is not int or version < 1:
            return None
        out["version"] = version
    played = data.get("played", False)
    if type(played) is not bool:
        return None
    out["played"] = played
    if "transcript" in data:
        final = transcript(data["transcript"], shape._declared_fields["transcript"].__class__)
        if final is None:
            return None
        out["transcript"] = final
    return out


def _segment(segment, limits) -> dict | None:
    if type(segment) is not dict:
        return None
    start_ms, end_ms, text = segment.get("start_ms"), segment.get("end_ms"), segment.get("text")
    speaker = segment.get("speaker", "")
    if type(start_ms) is not int or type(end_ms) is not int or start_ms < 0 or end_ms < 1:
        return None
    if not _plain_text(text, limits["segment_text"]) or not _plain_text(speaker, limits["speaker"]):
        return None
    if speaker != speaker.strip():  # the serializer trims a speaker's name
        return None
    tags = _tags(segment.get("tags", []), limits["segment_tags"])
    if tags is None:
        return None
    return {"start_ms": start_ms, "end_ms": end_ms, "text": text, "speaker": speaker, "tags": tags}


def _plain_text(value, max_length: int) -> bool:
    """A str the serializer's CharField keeps as it is: within its length, no NUL, no surrogate."""
    if type(value) is not str or len(value) > max_length or "\x00" in value:
        return False
    return value.isascii() or not any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)


def _tags(tags, max_length: int) -> list | None:
    if type(tags) is not list or len(tags) > max_length:
        return None
    if not all(type(tag) is str and tag in TAGS for tag in tags):
        return None
    return list(tags)


@functools.cache
def _limits(shape) -> dict[str, int]:
    fields = shape._declared_fields
    segment_fields = fields["segments"].child._declared_fields
    return {
        "text": fields["text"].max_length,
        "segments": fields["segments"].max_length,
        "tags": fields["tags"].max_length,
        "segment_text": segment_fields["text"].max_length,
        "speaker": segment_fields["speaker"].max_length,
        "segment_tags": segment_fields["tags"].max_length,
    }
