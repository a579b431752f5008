"""The embedded default's background work: the same functions Celery beat runs in production,
called on a daemon thread inside the web process. Started only when RUN_TIMERS_IN_PROCESS is on
(`make demo` sets it), never in tests, which call the functions with the clock under control.
"""

import logging
import threading

from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)
_started = threading.Event()


def _every(seconds: float, job, name: str) -> threading.Event:
    """Run `job` every `seconds` on a daemon thread until the returned event is set; a failing
    run is logged and the next one happens on time."""
    stop = threading.Event()

    def loop():
        while not stop.wait(seconds):
            try:
                job()
            except Exception:
                logger.exception("background job %s failed; retrying in %s s", name, seconds)
            finally:
                close_old_connections()

    threading.Thread(target=loop, name=f"timer:{name}", daemon=True).start()
    return stop


def start() -> None:
    """Start the timers once per process."""
    if not settings.RUN_TIMERS_IN_PROCESS or _started.is_set():
        return
    _started.set()
    from annotations.privacy import purge_expired
    from annotations.services import lease_expire_overdue
    from escalations.services import enforce_deadlines

    _every(settings.ESCALATION_DEADLINE_CHECK_SECONDS, enforce_deadlines, "escalation deadlines")
    _every(60, lease_expire_overdue, "lease expiry")
    _every(60 * 60, purge_expired, "retention purge")
    logger.info("in-process timers started (embedded default)")
