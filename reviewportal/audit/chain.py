"""Walking the chains: find the first row whose HMAC, link to its predecessor, or place in its
lane's recorded bounds does not hold.

The trail is one chain per lane (reviewportal.audit.lanes). Both ends of each are pinned down:
- the start by the latest purge, which records (in the trail, sealed) the sequence and hash it
  purged each lane through, so a lane's first remaining row must follow exactly that (or the
  lane's genesis hash when nothing of it was ever purged): deleting the oldest rows shows;
- the end by the high-water mark record() keeps outside the table (trail.high_water()), and by
  heads the operator kept from an earlier run (`--expect-head`): deleting the newest rows shows.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from reviewportal.audit.lanes import SHARED, genesis
from reviewportal.audit.models import AccessEvent, Action
from reviewportal.audit.trail import SEALED_FIELDS, high_water, seal

CHAIN_FIELDS = [*SEALED_FIELDS, "hash"]  # what each link is checked on


@dataclass(frozen=True)
class BrokenLink:
    sequence: int
    reason: str
    lane: int = SHARED

    def __str__(self) -> str:
        return f"sequence {self.sequence}: {self.reason} (lane {self.lane})"


@dataclass(frozen=True)
class Anchor:
    """Where a lane must start: after `sequence`, whose hash was `hash` (0 and genesis: row 1)."""

    sequence: int
    hash: str
    purged: bool = False  # set by a recorded purge


# The latest purge's detail, found through the index on (action, at).
LATEST_PURGE = "SELECT detail FROM audit_accessevent WHERE action = %s ORDER BY at DESC, id DESC LIMIT 1"


def anchors() -> dict[int, Anchor]:
    """The start the latest recorded purge left for each lane it names.

    The purge event is itself in the trail (checked like every row), so it cannot be forged
    without the key, and deleting it leaves a gap or moves the anchors back to an older purge.
    """
    latest = AccessEvent.objects.filter(action=Action.AUDIT_PURGED).order_by("-at", "-id")
    return anchors_in(latest.values_list("detail", flat=True).first())


def anchors_in(detail: dict | None) -> dict[int, Anchor]:
    """The anchors a purge's detail records; a purge recorded before lanes existed names the
    shared lane only."""
    if detail is None:
        return {}
    if "lanes" not in detail:
        return {SHARED: Anchor(int(detail["through"]), str(detail["through_hash"]), purged=True)}
    return {int(lane): Anchor(int(mark[0]), str(mark[1]), purged=True) for lane, mark in detail["lanes"].items()}


def anchor(lane: int) -> Anchor:
    """Where `lane` must start: after the latest purge's mark for it, or at its genesis."""
    return anchors().get(lane) or Anchor(0, genesis(lane))


def lanes_in_use() -> list[int]:
    """Every lane with a row in the table, in order (one index probe per lane, not a scan)."""
    found, after = [], -1
    while (
        lane := AccessEvent.objects.filter(lane__gt=after).order_by("lane").values_list("lane", flat=True).first()
    ) is not None:
        found.append(lane)
        after = lane
    return found


def check_start(first: dict | None, start: Anchor, lane: int = SHARED) -> BrokenLink | None:
    """Does a lane's oldest remaining row follow its anchor? None when it does (or the lane is empty)."""
    if first is None:
        return None
    expected = start.sequence + 1
    if first["sequence"] > expected:
        purged = f"the last purge removed rows up to {start.sequence}" if start.purged else "nothing was purged"
        return BrokenLink(expected, f"missing: rows {expected}–{first['sequence'] - 1} are gone but {purged}", lane)
    if first["sequence"] < expected:
        return BrokenLink(first["sequence"], f"the last purge removed this lane's rows up to {start.sequence}", lane)
    if first["prev_hash"] != start.hash:
        if not start.purged:
            return BrokenLink(first["sequence"], "the first row does not start from its lane's genesis hash", lane)
        return BrokenLink(first["sequence"], "its prev_hash is not the hash the last purge recorded", lane)
    return None


def _rows(lane: int, chunk_size: int) -> Iterator[dict]:
    """A lane's rows in sequence order, a chunk at a time by keyset (no OFFSET, no long transaction)."""
    after = 0
    while True:
        chunk = list(
            AccessEvent.objects.filter(lane=lane, sequence__gt=after)
            .order_by("sequence")
            .values(*CHAIN_FIELDS)[:chunk_size]
        )
        if not chunk:
            return
        yield from chunk
        after = chunk[-1]["sequence"]


def verify(
    *,
    chunk_size: int = 5000,
    progress: Callable[[int], None] | None = None,
    expect_heads: dict[int, tuple[int, str]] | None = None,
) -> tuple[int, BrokenLink | None]:
    """Return (rows checked, the first broken link or None), lane by lane.

    `expect_heads` maps lanes to a (sequence, hash) seen earlier, kept somewhere the database's
    owner cannot reach; each is checked like the high-water mark.
    """
    starts = anchors()
    marks = high_water()
    expected = expect_heads or {}
    checked = 0
    for lane in sorted(set(lanes_in_use()) | set(starts) | set(marks) | set(expected)):
        heads = [mark for mark in (marks.get(lane), expected.get(lane)) if mark is not None]
        lane_checked, broken = _verify_lane(
            lane, starts.get(lane) or Anchor(0, genesis(lane)), heads, chunk_size, progress, checked
        )
        checked += lane_checked
        if broken is not None:
            return checked, broken
    if progress is not None and checked % chunk_size:
        progress(checked % chunk_size)
    return checked, None


def _verify_lane(lane, start, heads, chunk_size, progress, checked_before) -> tuple[int, BrokenLink | None]:
    checked = 0
    previous: dict | None = None
    for row in _rows(lane, chunk_size):
        if previous is None:
            if broken := check_start(row, start, lane):
                return checked, broken
        else:
            if row["sequence"] != previous["sequence"] + 1:
                return checked, BrokenLink(previous["sequence"] + 1, "missing: the sequence jumps here", lane)
            if row["prev_hash"] != previous["hash"]:
                return checked, BrokenLink(row["sequence"], "its prev_hash is not the previous row's hash", lane)
        if seal(row) != row["hash"]:
            return checked, BrokenLink(row["sequence"], "its content does not match its HMAC", lane)
        for sequence, hash_ in heads:
            if row["sequence"] == sequence and row["hash"] != hash_:
                return checked, BrokenLink(sequence, "it is not the row recorded with this sequence (head mark)", lane)
        checked += 1
        previous = row
        if progress is not None and (checked_before + checked) % chunk_size == 0:
            progress(chunk_size)
    last = previous["sequence"] if previous is not None else start.sequence
    for sequence, _ in heads:
        if sequence > last:
            return checked, BrokenLink(
                last + 1, f"missing: rows {last + 1}–{sequence} were recorded but are gone", lane
            )
    return checked, None


def heads() -> dict[int, tuple[int, str]]:
    """Each lane's newest row in the table."""
    found = {}
    for lane in lanes_in_use():
        row = AccessEvent.objects.filter(lane=lane).order_by("-sequence").values_list("sequence", "hash").first()
        found[lane] = (row[0], row[1])
    return found
