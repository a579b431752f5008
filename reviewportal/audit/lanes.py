"""Lanes: the access trail as one chain per server process, so an append needs no lock or read in
the database.

One chain for the whole trail made every transaction that recorded an event queue on one
advisory lock, and spend a round trip taking it and reading the chain's head, while other
processes waited: a ceiling for the whole deployment (DESIGN.md plans for tens of millions of
events a day from many machines), and most of the trail's cost in bench/queue.py (issue 4).

Now each process that appends on PostgreSQL owns a lane: it holds the session-level advisory
lock (LANE_LOCK_CLASS, lane) on a connection of its own for as long as it runs, so no other
process writes that lane. The lane's head (its newest committed sequence and hash) is kept in
memory. A transaction's first append takes the lane's in-process lock and chains to that head;
the lock is held until the transaction ends, and at a commit the head moves to the newest row it
appended. So rows within a lane are chained in order under a lock, as before, and the lock is
the process's own: no round trip, and no queue across processes. (lane, sequence) is unique in
the table, so even a process that lost its lane without noticing cannot fork a chain: its insert
fails instead.

Lane 0 is the shared lane: chained under a transaction-level advisory lock with the head read
from the table, as the whole trail once was. SQLite (whose IMMEDIATE transactions serialise
writers anyway), Django's own PostgreSQL backend, and a process that finds every lane taken
append there; so did every row written before lanes existed.

Each lane starts from its own genesis hash, so a lane's rows cannot be passed off as another's.
verify_audit_log walks every lane; the purge anchors each lane's start, and the high-water mark
keeps each lane's end (reviewportal.audit.chain, reviewportal.audit.high_water).
"""

import hashlib
import logging
import os
import threading
import time
from dataclasses import dataclass, field

import psycopg
from django.db import DatabaseError

SHARED = 0
MAX_LANES = 1024  # lanes 1..1023; verify and the high-water mark look at no more than this
# pg_advisory_lock(int4, int4) keys: "audi" in ASCII, then the lane. Two-key locks never collide
# with the one-key lock of the shared lane (trail.ADVISORY_LOCK_KEY).
LANE_LOCK_CLASS = 0x61756469
# How long a transaction waits for its process's lane before giving up. Within a process the
# lane's lock is invisible to PostgreSQL's deadlock detector; this is the detector.
WAIT_S = 5.0
RETRY_FULL_AFTER_S = 60.0  # when every lane was taken, append to the shared lane this long

GENESIS = "0" * 64

logger = logging.getLogger(__name__)


def genesis(lane: int) -> str:
    """The prev_hash of a lane's first row."""
    if lane == SHARED:
        return GENESIS
    return hashlib.sha256(f"reviewportal audit lane {lane}".encode()).hexdigest()


@dataclass(eq=False)
class Lane:
    number: int
    holder: psycopg.Connection = field(repr=False)  # holds the lane's session advisory lock
    head: tuple[int, str] | None = None  # newest committed (sequence, hash); None: read it first
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class _Owner:
    """This process's lane, taken at its first append."""

    def __init__(self) -> None:
        self.lane: Lane | None = None
        self.taking = threading.Lock()
        self.full_until = 0.0  # monotonic time until which the shared lane is used

    def lane_for(self, db) -> Lane | None:
        with self.taking:
            if self.lane is not None and not self.lane.holder.closed and not self.lane.holder.broken:
                return self.lane
            if time.monotonic() < self.full_until:
                return None
            self.lane = _take_free_lane(db)
            if self.lane is None:
                self.full_until = time.monotonic() + RETRY_FULL_AFTER_S
                logger.warning("every audit lane is taken; appending to the shared lane for a while")
            return self.lane

    def drop(self, lane: Lane) -> None:
        with self.taking:
            if self.lane is lane:
                self.lane = None
        lane.holder.close()


_owner = _Owner()
_inherited: list[Lane] = []  # a parent's lanes in a forked child: kept, never closed (see _after_fork)


def _after_fork() -> None:
    global _owner
    if _owner.lane is not None:
        # The connection's socket is the parent's: closing it here would end the parent's session
        # and free its lane. Keep the object alive so it is never finalised in the child.
        _inherited.append(_owner.lane)
    _owner = _Owner()


os.register_at_fork(after_in_child=_after_fork)


def _take_free_lane(db) -> Lane | None:
    params = db.get_connection_params()
    for name in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(name, None)
    holder = psycopg.connect(**params, autocommit=True)
    try:
        for number in range(1, MAX_LANES):
            if holder.execute("SELECT pg_try_advisory_lock(%s, %s)", [LANE_LOCK_CLASS, number]).fetchone()[0]:
                return Lane(number, holder)
    except BaseException:
        holder.close()
        raise
    holder.close()
    return None


def enter(db) -> Lane | None:
    """Hold this process's lane for `db`'s transaction, until leave(); None: use the shared lane.

    Only a backend that calls leave() at every commit, rollback and close can hold one
    (reviewportal.audit.postgresql). Raises DatabaseError if the lane stays busy for WAIT_S.
    """
    if not getattr(db, "appends_audit_events_at_commit", False):
        return None
    if db.audit_lane is not None:
        return db.audit_lane  # already ours in this transaction
    for attempt in range(2):
        lane = _owner.lane_for(db)
        if lane is None:
            return None
        if not lane.lock.acquire(timeout=WAIT_S):
            raise DatabaseError(f"the access trail's lane {lane.number} stayed busy for {WAIT_S:g} s")
        if lane.head is not None:
            db.audit_lane = lane
            return lane
        try:
            lane.head = _read_head(lane)
        except psycopg.OperationalError:
            # The lane's connection is gone, and with it the lane (another process may hold it
            # now): take another one.
            lane.lock.release()
            _owner.drop(lane)
            if attempt:
                raise DatabaseError("the access trail could not take a lane") from None
            continue
        except BaseException:
            lane.lock.release()
            raise
        db.audit_lane = lane
        return lane
    return None  # not reached


def _read_head(lane: Lane) -> tuple[int, str]:
    """The lane's newest committed row, through the connection that holds the lane (so nothing of
    ours is in flight), or where the last purge left the lane, or its genesis."""
    from reviewportal.audit import chain  # here: chain imports the trail, which imports this

    row = lane.holder.execute(
        "SELECT sequence, hash FROM audit_accessevent WHERE lane = %s ORDER BY sequence DESC LIMIT 1", [lane.number]
    ).fetchone()
    if row is not None:
        return int(row[0]), str(row[1])
    purge = lane.holder.execute(chain.LATEST_PURGE, ["audit_purged"]).fetchone()
    start = chain.anchors_in(purge[0] if purge else None).get(lane.number)
    return (start.sequence, start.hash) if start else (0, genesis(lane.number))


def leave(db, *, committed: bool | None) -> None:
    """The transaction that held the lane ended: committed (the head moves to its newest row),
    rolled back (the head stays), or None when a commit failed and its outcome is not known (the
    head is read again by the next append)."""
    lane = db.audit_lane
    if lane is None:
        return
    db.audit_lane = None
    try:
        if committed is None:
            lane.head = None
        elif committed:
            newest = None
            for _, callback, _ in db.run_on_commit:
                values = getattr(callback, "values", None)  # a trail.Recorded
                if values is not None and callback.appended and values["lane"] == lane.number:
                    newest = values
            if newest is not None:
                lane.head = (newest["sequence"], newest["hash"])
    finally:
        lane.lock.release()


def forget_heads(**kwargs) -> None:
    """post_migrate receiver: a flush or migration may have removed rows; read the head again."""
    lane = _owner.lane
    if lane is not None:
        lane.head = None


def release() -> None:
    """Give this process's lane back (its next append takes one again). Tests call it before their
    database is dropped, which the lane's own connection would otherwise hold open."""
    with _owner.taking:
        lane, _owner.lane = _owner.lane, None
    if lane is not None:
        with lane.lock:
            lane.holder.close()


def current() -> int | None:
    """The lane this process appends to, if it has taken one."""
    lane = _owner.lane
    return lane.number if lane is not None else None
