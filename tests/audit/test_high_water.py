"""Issue 4: the high-water mark is written behind the request, and still follows every commit."""

import contextlib
import threading
import time

import pytest
from django.core.cache import cache, caches
from django.db import transaction

from reviewportal.audit import high_water, trail
from reviewportal.audit.models import Action

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_for_mark(event, seconds=5.0):
    """Read the cache directly, without settling: only the writer thread can have put it there."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        mark = cache.get(high_water.key(event.lane))
        if mark and tuple(mark) == (event.sequence, event.hash):
            return True
        time.sleep(0.01)
    return False


def test_a_commit_moves_the_mark_without_anyone_waiting_for_it():
    with transaction.atomic():
        event = trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id="/one")

    assert _wait_for_mark(event)


def test_the_commit_itself_does_not_write_the_cache(monkeypatch):
    """The request's thread only notes the row; the cache write happens in the writer's thread."""
    writers = []
    backend = type(caches["default"])  # each thread has its own instance; patch them all
    real_set = backend.set
    monkeypatch.setattr(backend, "set", lambda *a, **k: (writers.append(threading.current_thread()), real_set(*a, **k)))

    with transaction.atomic():
        event = trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id="/one")

    assert _wait_for_mark(event)
    assert writers and threading.current_thread() not in writers


def test_reading_the_mark_waits_for_this_process_s_own_commits(monkeypatch):
    backend = type(caches["default"])
    real_set = backend.set
    main = threading.current_thread()

    def slow_in_the_writer(*args, **kwargs):
        if threading.current_thread() is not main:
            time.sleep(0.05)
        return real_set(*args, **kwargs)

    monkeypatch.setattr(backend, "set", slow_in_the_writer)
    for n in range(20):
        with transaction.atomic():
            last = trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id=f"/{n}")

    assert trail.high_water()[last.lane] == (last.sequence, last.hash)


def test_a_rolled_back_event_never_reaches_the_mark():
    with transaction.atomic():
        kept = trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id="/kept")
    with contextlib.suppress(RuntimeError), transaction.atomic():
        trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id="/undone")
        raise RuntimeError("the action failed")

    assert trail.high_water()[kept.lane] == (kept.sequence, kept.hash)


def test_a_cache_outage_leaves_the_writer_working(monkeypatch):
    backend = type(caches["default"])
    real_set = backend.set
    monkeypatch.setattr(backend, "set", lambda *a, **k: (_ for _ in ()).throw(ConnectionError("cache is down")))
    with transaction.atomic():
        trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id="/lost")
    high_water.settle()
    monkeypatch.setattr(backend, "set", real_set)

    with transaction.atomic():
        event = trail.record(Action.ADMIN_VIEWED, object_type="admin", object_id="/after")

    assert _wait_for_mark(event)
