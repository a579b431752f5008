"""Volume limits: nobody gets more audio links or clips than a person can listen to.

Counts live in the cache (Redis in production, so every worker shares them) in fixed windows.
The first refusal in a window is recorded as a VolumeLimitHit for supervisors.
"""

import time

from django.conf import settings
from django.core.cache import cache

from reviewportal.audit import trail
from reviewportal.audit.models import Action, Outcome
from reviewportal.security.models import VolumeLimitHit

MESSAGES = {
    "audio_link": "You asked for more audio than a person can listen to ({limit} links in {window} s). Wait {wait} s.",
    "claim": "You asked for more clips than a person can review ({limit} in {window} s). Wait {wait} s.",
}


class VolumeLimitExceeded(Exception):
    def __init__(self, kind: str, limit: int, window: int, retry_after: int):
        self.kind = kind
        self.retry_after = retry_after
        super().__init__(MESSAGES[kind].format(limit=limit, window=window, wait=retry_after))


def _window(kind: str, user) -> tuple[str, int, int, float]:
    limit, seconds = settings.VOLUME_LIMITS[kind]
    now = time.time()
    index = int(now // seconds)
    return f"volume:{kind}:{user.pk}:{index}", limit, seconds, (index + 1) * seconds - now


def used_up(user, kind: str) -> bool:
    """Whether `user` has used up this window's `kind`: a cache read, no database."""
    key, limit, _, _ = _window(kind, user)
    return limit > 0 and cache.get(key, 0) >= limit


def check(user, kind: str) -> None:
    """Raise VolumeLimitExceeded if `user` used up this window's `kind`; record the first refusal.

    Call outside any transaction that a refusal would roll back, so the record stays.
    """
    key, limit, seconds, remaining = _window(kind, user)
    if limit <= 0:
        return  # 0 turns the limit off (benchmarks, load tests)
    used = cache.get(key, 0)
    if used < limit:
        return
    if cache.add(f"{key}:recorded", 1, timeout=seconds + 5):
        VolumeLimitHit.objects.create(user=user, kind=kind, limit=limit, window_seconds=seconds)
    trail.record(Action.RATE_LIMITED, outcome=Outcome.DENIED, actor=user, detail={"kind": kind, "limit": limit})
    raise VolumeLimitExceeded(kind, limit, seconds, retry_after=max(1, int(remaining + 0.999)))


def count(user, kind: str) -> None:
    """Count one `kind` for `user` in this window."""
    key, limit, seconds, _ = _window(kind, user)
    if limit <= 0:
        return
    cache.add(key, 0, timeout=seconds + 5)
    try:
        cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.set(key, 1, timeout=seconds + 5)


def spend(user, kind: str) -> None:
    """check() then count(): for things handed out outside a transaction, like audio links."""
    check(user, kind)
    count(user, kind)
