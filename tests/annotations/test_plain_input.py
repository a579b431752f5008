"""annotations.api.plain_input answers for plainly valid transcripts without DRF; for everything
else it must step aside. Here both ways meet the same inputs: plain input must give exactly the
serializer's validated data, and anything the serializer would convert, trim or refuse must go
to the serializer (None)."""

import copy
import json
import random

import pytest

from annotations.api import plain_input
from annotations.api.views import ClipSubmitView, TranscriptInputSerializer

SEGMENT = {"start_ms": 0, "end_ms": 900, "text": "turn the", "speaker": "A", "tags": ["music"]}
TRANSCRIPT = {"text": "turn the lights off", "segments": [SEGMENT], "tags": ["not_addressed"], "base_version": 3}

# Values to put in each place: plain ones, and ones DRF converts, trims or refuses.
ODD_VALUES = [
    None,
    True,
    False,
    0,
    1,
    -1,
    2.0,
    2.5,
    "",
    " ",
    "3",
    "x",
    " A ",
    "A\x00",
    "\ud800",
    "é",
    [],
    {},
    ["music"],
    ["nope"],
    ["music", "unintelligible", "music", "several_speakers"],
    ["music"] * 11,
    "a" * 51,
    "a" * 5001,
    "a" * 20001,
    [SEGMENT] * 501,
]
PLACES = [
    ("text",), ("base_version",), ("segments",), ("tags",), ("segments", 0), ("segments", 0, "start_ms"),
    ("segments", 0, "end_ms"), ("segments", 0, "text"), ("segments", 0, "speaker"), ("segments", 0, "tags"),
    ("segments", 0, "tags", 0), ("tags", 0), ("extra",), ("segments", 0, "extra"),
]  # fmt: skip


def by_serializer(serializer_class, data):
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        return None
    return json.loads(json.dumps(serializer.validated_data))  # plain dicts and lists, as the services get


def put(data, place, value):
    """`data` with `value` at `place`; `data` itself where an earlier change left no such place."""
    changed = copy.deepcopy(data)
    try:
        target = changed
        for key in place[:-1]:
            target = target[key]
        target[place[-1]] = value
    except (TypeError, KeyError, IndexError):
        return data
    return changed


def drop(data, place):
    changed = copy.deepcopy(data)
    target = changed
    for key in place[:-1]:
        target = target[key]
    del target[place[-1]]
    return changed


def cases():
    yield TRANSCRIPT
    yield {"text": "", "base_version": 0}
    yield {**TRANSCRIPT, "segments": [{"start_ms": 0, "end_ms": 1, "text": ""}]}
    for place in PLACES:
        for value in ODD_VALUES:
            yield put(TRANSCRIPT, place, value)
        if place[-1] != 0 and place[-1] != "extra":
            yield drop(TRANSCRIPT, place)
    for value in ODD_VALUES:
        yield value
    shuffle = random.Random(20261126)
    for _ in range(300):
        data = TRANSCRIPT
        for _ in range(shuffle.randint(1, 3)):
            data = put(data, shuffle.choice(PLACES[:12]), shuffle.choice(ODD_VALUES))
        yield data


def test_plain_transcripts_get_the_serializers_answer_and_the_rest_go_to_it():
    plain_count = 0
    for data in cases():
        expected = by_serializer(TranscriptInputSerializer, data)
        got = plain_input.transcript(data, TranscriptInputSerializer)
        if got is not None:
            plain_count += 1
            assert got == expected, data
            assert list(got) == list(expected), data  # the same keys in the same order
    assert plain_count >= 10  # the plain way is taken, not only stepped around


@pytest.mark.parametrize(
    ("data", "plain"),
    [
        ({"version": 2, "played": True}, True),
        ({"played": False}, True),
        ({}, True),
        ({"version": 4, "played": True, "transcript": TRANSCRIPT}, True),
        ({"played": True, "extra": 1}, True),
        ({"version": 0}, False),
        ({"version": "2"}, False),
        ({"version": True}, False),
        ({"played": "true"}, False),
        ({"played": None}, False),
        ({"played": True, "transcript": {**TRANSCRIPT, "tags": ["nope"]}}, False),
        ({"played": True, "transcript": {**TRANSCRIPT, "text": " padded "}}, True),
        ({"played": True, "transcript": None}, False),
        ([], False),
    ],
)
def test_plain_submits_get_the_serializers_answer_and_the_rest_go_to_it(data, plain):
    expected = by_serializer(ClipSubmitView.InputSerializer, data)
    got = plain_input.submit(data, ClipSubmitView.InputSerializer)

    if plain:
        assert got == expected is not None
    else:
        assert got is None
