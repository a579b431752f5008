"""The high-water mark: each lane's newest committed (sequence, hash), kept outside the table.

verify_audit_log needs it to tell when the newest rows were deleted (reviewportal.audit.chain).
It lives in the cache (Redis in production): the shared lane's under HIGH_WATER_KEY, lane N's
under HIGH_WATER_KEY:N. Only the process that owns a lane writes its mark
(reviewportal.audit.lanes); several processes may write the shared lane's.

The mark is written behind the request, not in it. A commit only notes its newest row here; one
writer thread per process writes the newest noted mark to the cache, at most once every
WRITE_INTERVAL_S (100 ms), so marks noted in between are folded into the next write. A request no
longer waits on a cache round trip after each commit (issue 4's cost target), and under load a
process writes the mark at most ten times a second instead of once per commit. (At 20 ms, fifty
writes a second were still 2.6 % of a served worker's CPU under load: py-spy, docs/benchmarks.md.)
The price: the mark trails a commit by up to 100 ms and a cache write, instead of by nothing. It was already
allowed to lag (commits from several processes land in any order), never to run ahead, and it
still never runs ahead: only committed rows are noted.

read() and settle() first write, in the caller's thread, whatever this process has noted, so a
reader in the same process (a test, verify_audit_log after its own event) sees every commit it
made. A process that exits settles at exit; a forked child starts with nothing noted.
"""

import atexit
import logging
import os
import threading
import time

from django.core.cache import cache

from reviewportal.audit.lanes import MAX_LANES, SHARED

HIGH_WATER_KEY = "audit:high-water"
WRITE_INTERVAL_S = 0.1


def key(lane: int) -> str:
    return HIGH_WATER_KEY if lane == SHARED else f"{HIGH_WATER_KEY}:{lane}"


logger = logging.getLogger(__name__)


class _Writer:
    def __init__(self) -> None:
        self._noted: dict[int, tuple[int, str]] = {}  # lane: newest noted, not yet taken for a write
        self._state = threading.Lock()  # guards _noted and _thread
        self._wake = threading.Condition(self._state)
        self._writing = threading.Lock()  # one write at a time, in the order marks were taken
        self._thread: threading.Thread | None = None
        self._asleep = False  # the writer waits for a mark: the next note wakes it

    def note(self, lane: int, sequence: int, hash_: str) -> None:
        """Called after a commit: cheap, never touches the cache itself."""
        with self._state:
            noted = self._noted.get(lane)
            if noted is None or sequence > noted[0]:
                self._noted[lane] = (sequence, hash_)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="audit-high-water", daemon=True)
                self._thread.start()
            if self._asleep:  # otherwise it is writing or pausing, and looks again when done
                self._wake.notify()

    def settle(self) -> None:
        """Write what is noted now, in this thread, after any write already under way."""
        with self._writing:
            self._write_taken()

    def _run(self) -> None:
        while True:
            with self._state:
                while not self._noted:
                    self._asleep = True
                    self._wake.wait()
                    self._asleep = False
            with self._writing:
                self._write_taken()
            # Commits in the meantime only replace the noted mark: at most one write per
            # interval, and no thread woken to compete for the GIL after every commit.
            time.sleep(WRITE_INTERVAL_S)

    def _write_taken(self) -> None:
        """Take the noted mark and write it; call holding _writing, so marks go out in order."""
        with self._state:
            marks, self._noted = self._noted, {}
        if not marks:
            return
        try:
            for lane, mark in marks.items():  # nearly always one: the process's own lane
                cache.set(key(lane), [mark[0], mark[1]], timeout=None)
        except Exception:  # noqa: BLE001  any cache outage: the writer must go on, the mark only lags
            logger.warning("could not write the audit trail's high-water mark; it lags until the next write")

    def reset_after_fork(self) -> None:
        self.__init__()


_writer = _Writer()
os.register_at_fork(after_in_child=_writer.reset_after_fork)
atexit.register(_writer.settle)


def note(lane: int, sequence: int, hash_: str) -> None:
    """Record that the row (sequence, hash) of `lane` committed; the mark follows shortly."""
    _writer.note(lane, sequence, hash_)


def settle() -> None:
    """Wait until every mark this process noted is in the cache."""
    _writer.settle()


def read() -> dict[int, tuple[int, str]]:
    """Each lane's mark, for the lanes that have one."""
    settle()
    lanes = {key(lane): lane for lane in range(MAX_LANES)}
    marks = cache.get_many(list(lanes))
    return {lanes[name]: (int(mark[0]), str(mark[1])) for name, mark in marks.items() if mark}


def forget() -> None:
    """Drop every lane's mark (after a database was deliberately recreated)."""
    settle()
    cache.delete_many([key(lane) for lane in range(MAX_LANES)])
