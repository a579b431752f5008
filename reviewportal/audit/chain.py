"""Walking the chain: find the first row whose HMAC, link to its predecessor, or place in the
trail's recorded bounds does not hold.

Both ends of the chain are pinned down:
- the start by the latest purge, which records (in the chain, sealed) the sequence and hash it
  purged through, so the first remaining row must follow exactly that (or the genesis hash when
  nothing was ever purged): deleting the oldest rows shows;
- the end by the high-water mark record() keeps outside the table (trail.high_water()), and by a
  head the operator kept from an earlier run (`--expect-head`): deleting the newest rows shows.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from reviewportal.audit.models import AccessEvent, Action
from reviewportal.audit.trail import GENESIS, SEALED_FIELDS, high_water, seal

CHAIN_FIELDS = [*SEALED_FIELDS, "hash"]  # what each link is checked on


@dataclass(frozen=True)
class BrokenLink:
    sequence: int
    reason: str


@dataclass(frozen=True)
class Anchor:
    """Where the chain must start: after `sequence`, whose hash was `hash` (0 and genesis: row 1)."""

    sequence: int
    hash: str
    purged_at: int | None = None  # the sequence of the purge event that set it


def anchor() -> Anchor:
    """The start the latest recorded purge left, or row 1 if nothing was ever purged.

    The purge event is itself in the chain (checked like every row), so it cannot be forged
    without the key, and deleting it leaves a gap or moves the anchor back to an older purge.
    """
    purge = (
        AccessEvent.objects.filter(action=Action.AUDIT_PURGED)
        .order_by("-sequence")
        .values("sequence", "detail")
        .first()
    )
    if purge is None:
        return Anchor(0, GENESIS)
    return Anchor(int(purge["detail"]["through"]), str(purge["detail"]["through_hash"]), purge["sequence"])


def check_start(first: dict | None, start: Anchor) -> BrokenLink | None:
    """Does the oldest remaining row follow the anchor? None when it does (or the trail is empty)."""
    if first is None:
        return None
    expected = start.sequence + 1
    if first["sequence"] > expected:
        purged = f"the last purge removed rows up to {start.sequence}" if start.purged_at else "nothing was purged"
        return BrokenLink(expected, f"missing: rows {expected}–{first['sequence'] - 1} are gone but {purged}")
    if first["sequence"] < expected:
        return BrokenLink(
            first["sequence"], f"the purge recorded at sequence {start.purged_at} removed rows up to {start.sequence}"
        )
    if first["prev_hash"] != start.hash:
        if start.sequence == 0:
            return BrokenLink(first["sequence"], "the first row does not start from the genesis hash")
        return BrokenLink(first["sequence"], "its prev_hash is not the hash the last purge recorded")
    return None


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


def verify(
    *,
    chunk_size: int = 5000,
    progress: Callable[[int], None] | None = None,
    expect_head: tuple[int, str] | None = None,
) -> tuple[int, BrokenLink | None]:
    """Return (rows checked, the first broken link or None).

    `expect_head` is a (sequence, hash) seen earlier, kept somewhere the database's owner cannot
    reach; it is checked like the high-water mark.
    """
    checked = 0
    previous: dict | None = None
    start = anchor()
    heads = [mark for mark in (high_water(), expect_head) if mark is not None]
    for row in _rows(chunk_size):
        if previous is None:
            if broken := check_start(row, start):
                return checked, broken
        else:
            if row["sequence"] != previous["sequence"] + 1:
                return checked, BrokenLink(previous["sequence"] + 1, "missing: the sequence jumps here")
            if row["prev_hash"] != previous["hash"]:
                return checked, BrokenLink(row["sequence"], "its prev_hash is not the previous row's hash")
        if seal(row) != row["hash"]:
            return checked, BrokenLink(row["sequence"], "its content does not match its HMAC")
        for sequence, hash_ in heads:
            if row["sequence"] == sequence and row["hash"] != hash_:
                return checked, BrokenLink(sequence, "it is not the row recorded with this sequence (head mark)")
        checked += 1
        previous = row
        if progress is not None and checked % chunk_size == 0:
            progress(chunk_size)
    if progress is not None and checked % chunk_size:
        progress(checked % chunk_size)
    last = previous["sequence"] if previous is not None else start.sequence
    for sequence, _ in heads:
        if sequence > last:
            return checked, BrokenLink(last + 1, f"missing: rows {last + 1}–{sequence} were recorded but are gone")
    return checked, None
