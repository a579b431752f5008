"""Lanes: the access trail as several chains, so an append needs no lock or read in the database.

One chain for the whole trail made every transaction that recorded an event queue on one
advisory lock, and spend a round trip taking it and reading the chain's head, while other
processes waited: a ceiling for the whole deployment (DESIGN.md plans for tens of millions of
events a day from many machines), and most of the trail's cost in bench/queue.py (issue 4).

Now a transaction's first append borrows a lane from its process, for the rest of the
transaction, and chains to the lane's head (its newest committed sequence and hash), which the
process keeps in memory; at a commit the head moves to the newest row the transaction appended,
at a rollback it stays, and the lane goes back to the process's free lanes. A process holds the
lanes it has borrowed out so far, each with a session-level advisory lock (LANE_LOCK_CLASS, lane)
on a connection of its own, for as long as it runs, so no other process writes them. It takes
another lane only when every one it holds is in use: as many lanes as transactions that recorded
at once, a handful per server process. So rows within a lane are chained in order, one
transaction at a time, as the whole trail once was; and nothing waits on anything to append: no
round trip, no queue across processes or threads. (lane, sequence) is unique in the table, so
even a process that lost its lanes without noticing cannot fork a chain: its insert fails
instead.

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


class _Lanes:
    """The lanes this process holds: the free ones, and the connection that holds them all."""

    def __init__(self) -> None:
        self.holder: psycopg.Connection | None = None
        self.held: list[Lane] = []
        self.free: list[Lane] = []
        self.taking = threading.Lock()  # guards the above; held for a round trip only to take a lane
        self.full_until = 0.0  # monotonic time until which the shared lane is used

    def borrow(self, db) -> Lane | None:
        with self.taking:
            if self.holder is not None and (self.holder.closed or self.holder.broken):
                self._lose_all()
            if self.free:
                return self.free.pop()  # the most recently used: its head is warm
            if time.monotonic() < self.full_until:
                return None
            lane = self._take_one(db)
            if lane is None:
                self.full_until = time.monotonic() + RETRY_FULL_AFTER_S
                logger.warning("every audit lane is taken; appending to the shared lane for a while")
            return lane

    def give_back(self, lane: Lane) -> None:
        with self.taking:
            if lane.holder is self.holder and not lane.holder.closed:  # not lost meanwhile
                self.free.append(lane)

    def lose(self, lane: Lane) -> None:
        """The lane's connection is gone, and with it every lane this process held: another
        process may hold them now. The next borrow takes new ones."""
        with self.taking:
            if lane.holder is self.holder:
                self._lose_all()

    def _lose_all(self) -> None:
        if self.holder is not None:
            self.holder.close()
        self.holder, self.held, self.free = None, [], []

    def _take_one(self, db) -> Lane | None:
        if self.holder is None:
            params = db.get_connection_params()
            for name in ("cursor_factory", "context", "prepare_threshold"):
                params.pop(name, None)
            self.holder = psycopg.connect(**params, autocommit=True)
        taken = {lane.number for lane in self.held}
        for number in range(1, MAX_LANES):
            if number in taken:
                continue
            locked = self.holder.execute("SELECT pg_try_advisory_lock(%s, %s)", [LANE_LOCK_CLASS, number])
            if locked.fetchone()[0]:
                lane = Lane(number, self.holder)
                self.held.append(lane)
                return lane
        return None


_lanes = _Lanes()
_inherited: list[_Lanes] = []  # a parent's lanes in a forked child: kept, never closed (see _after_fork)


def _after_fork() -> None:
    global _lanes
    # The holder's socket is the parent's: closing it here would end the parent's session and
    # free its lanes. Keep the object alive so it is never finalised in the child.
    _inherited.append(_lanes)
    _lanes = _Lanes()


os.register_at_fork(after_in_child=_after_fork)


def enter(db) -> Lane | None:
    """Borrow a lane for `db`'s transaction, until leave(); None: use the shared lane.

    Only a backend that calls leave() at every commit, rollback and close can borrow one
    (reviewportal.audit.postgresql).
    """
    if not getattr(db, "appends_audit_events_at_commit", False):
        return None
    if db.audit_lane is not None:
        return db.audit_lane  # already ours in this transaction
    for attempt in range(2):
        lane = _lanes.borrow(db)
        if lane is None:
            return None
        if lane.head is None:
            try:
                lane.head = _read_head(lane)
            except psycopg.OperationalError:
                _lanes.lose(lane)  # the next borrow takes a new lane on a new connection
                if attempt:
                    raise DatabaseError("the access trail could not take a lane") from None
                continue
            except BaseException:
                _lanes.give_back(lane)
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
    """The transaction that borrowed the lane ended: committed (the head moves to its newest row),
    rolled back (the head stays), or None when a commit failed and its outcome is not known (the
    head is read again by the next append). The lane goes back to the free ones."""
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
        _lanes.give_back(lane)


def forget_heads(**kwargs) -> None:
    """post_migrate receiver: a flush or migration may have removed rows; read the heads again."""
    for lane in list(_lanes.held):
        lane.head = None


def release() -> None:
    """Give back every lane this process holds (its next append takes one again). Tests call it
    before their database is dropped, which the lanes' connection would otherwise hold open."""
    with _lanes.taking:
        _lanes._lose_all()


def current() -> int | None:
    """The lane this process's next append in this thread would borrow, if it holds one."""
    with _lanes.taking:
        lanes = _lanes.free or _lanes.held
        return lanes[-1].number if lanes else None
