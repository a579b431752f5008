"""Walking the chain: find the first row whose HMAC or link to its predecessor does not hold."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from reviewportal.audit.models import AccessEvent
from reviewportal.audit.trail import GENESIS, seal

CHAIN_FIELDS = [
    "sequence",
    "at",
    "actor_user_id",
    "actor_token_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "ip",
    "user_agent",
    "session_hash",
    "request_id",
    "detail",
    "prev_hash",
    "hash",
]


@dataclass(frozen=True)
class BrokenLink:
    sequence: int
    reason: str


def _rows(chunk_size: int) -> Iterator[dict]:
    """Every row in sequence order, a chunk at a time by keyset (no OFFSET, no long transaction)."""
    after = 0
    while True:
        chunk = list(
            AccessEvent.objects.filter(sequence__gt=after).order_by("sequence").values(*CHAIN_FIELDS)[:chunk_size]
        )
        if not chunk:
            return
        yield from chunk
        after = chunk[-1]["sequence"]


def verify(*, chunk_size: int = 5000, progress: Callable[[int], None] | None = None) -> tuple[int, BrokenLink | None]:
    """Return (rows checked, the first broken link or None).

    The oldest remaining row anchors the chain: the retention purge removes rows from the start,
    so its prev_hash is taken as given unless it is row 1, which must follow the genesis hash.
    """
    checked = 0
    previous: dict | None = None
    for row in _rows(chunk_size):
        if previous is None:
            if row["sequence"] == 1 and row["prev_hash"] != GENESIS:
                return checked, BrokenLink(row["sequence"], "the first row does not start from the genesis hash")
        else:
            if row["sequence"] != previous["sequence"] + 1:
                return checked, BrokenLink(previous["sequence"] + 1, "missing: the sequence jumps here")
            if row["prev_hash"] != previous["hash"]:
                return checked, BrokenLink(row["sequence"], "its prev_hash is not the previous row's hash")
        if seal(row) != row["hash"]:
            return checked, BrokenLink(row["sequence"], "its content does not match its HMAC")
        checked += 1
        previous = row
        if progress is not None and checked % chunk_size == 0:
            progress(chunk_size)
    if progress is not None and checked % chunk_size:
        progress(checked % chunk_size)
    return checked, None
