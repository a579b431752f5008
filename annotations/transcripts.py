"""What a transcript may hold: segment rules and the tag vocabulary."""

from django.core.exceptions import ValidationError
from django.db import models


class Tag(models.TextChoices):
    UNINTELLIGIBLE = "unintelligible", "unintelligible"
    BACKGROUND_SPEECH = "background_speech", "background speech"
    NOT_ADDRESSED = "not_addressed", "not addressed to the assistant (false wake)"
    MUSIC = "music", "music"
    SEVERAL_SPEAKERS = "several_speakers", "several speakers"


def check_segments(segments: list[dict], *, duration_ms: int) -> None:
    """Segments lie inside the clip, in time order, without overlapping.

    Raises ValidationError on `segments` naming the first bad segment (counted from 0).
    Shapes and types are the API serializer's job; this checks how segments relate to the clip
    and to each other.
    """
    previous_end = 0
    for index, segment in enumerate(segments):
        start, end = segment["start_ms"], segment["end_ms"]
        where = f"segment {index} ({start}–{end} ms)"
        if start < 0 or end <= start:
            raise ValidationError({"segments": f"{where}: end_ms must be after start_ms, both from 0"})
        if end > duration_ms:
            raise ValidationError({"segments": f"{where}: ends after the clip does ({duration_ms} ms)"})
        if index and start < previous_end:
            raise ValidationError(
                {"segments": f"{where}: overlaps or comes before segment {index - 1}, which ends at {previous_end} ms"}
            )
        previous_end = end
