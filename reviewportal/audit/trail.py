"""record(): the one way anything writes to the access trail, from every door.

Call it inside the transaction of the action it records (services do, as their last step), so an
action never commits without its event. Who and from where come from the current request,
websocket or command, which AuditContextMiddleware, the consumers and management commands bind
with `context()`; callers pass only what happened.

Rows are chained: each carries the previous row's hash and an HMAC (AUDIT_HMAC_KEY, not
SECRET_KEY) over its own content plus that hash. Appending takes a lock, a transaction-scoped
advisory lock on PostgreSQL (SQLite's IMMEDIATE transactions already serialise writers), so the
chain has one order; the lock is held from the append to the commit, which is why services
record last.
"""

import contextlib
import contextvars
import hashlib
import hmac
import ipaddress
import json
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from reviewportal.audit import activity
from reviewportal.audit.models import AccessEvent, Action, Outcome

GENESIS = "0" * 64
# pg_advisory_xact_lock key: "audit" in ASCII, so it cannot collide with anything else of ours.
ADVISORY_LOCK_KEY = 0x6175646974
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,36}$")


@dataclass(frozen=True)
class Context:
    """Who is acting and from where; never what they heard or wrote."""

    request: object = None  # the HttpRequest, read lazily: the session key changes at sign-in
    user: object = None
    token: object = None
    label: str = ""
    ip: str | None = None
    user_agent: str = ""
    session_hash: str = ""
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)


_current: contextvars.ContextVar[Context | None] = contextvars.ContextVar("audit_context", default=None)


@contextlib.contextmanager
def context(**values):
    """Bind who and where for everything recorded inside the block (nested blocks refine it)."""
    base = _current.get() or Context()
    token = _current.set(replace(base, **values))
    try:
        yield
    finally:
        _current.reset(token)


def as_system():
    """Record what the system does on its own (a lease expiring), not in the name of the person whose
    request happened to trigger it."""
    return context(request=None, user=None, token=None, label="system")


def session_hash(session_key: str | None) -> str:
    return hashlib.sha256((session_key or "").encode()).hexdigest()[:32] if session_key else ""


def request_id_for(request) -> str:
    offered = request.headers.get("X-Request-ID", "")
    return offered if REQUEST_ID_PATTERN.match(offered) else uuid.uuid4().hex


def _who_and_where(ctx: Context, actor, token) -> dict:
    request = ctx.request
    user = actor if actor is not None else ctx.user
    token = token if token is not None else ctx.token
    if user is None and request is not None:
        # DRF puts a service token where the user would be; it is an actor, but not a person.
        candidate = getattr(request, "user", None)
        if isinstance(candidate, get_user_model()) and candidate.is_authenticated:
            user = candidate
        elif token is None and candidate is not None and hasattr(candidate, "scopes"):
            token = candidate
    session = getattr(request, "session", None)
    return {
        "actor_user_id": getattr(user, "pk", None),
        "actor_token_id": getattr(token, "pk", None),
        "actor_label": (user.get_username() if user is not None else getattr(token, "name", "")) or ctx.label,
        "ip": ctx.ip,
        "user_agent": ctx.user_agent[:300],
        "session_hash": session_hash(session.session_key) if session is not None else ctx.session_hash,
        "request_id": ctx.request_id,
    }


def canonical(row: dict) -> bytes:
    """The bytes an event's HMAC covers, rebuilt identically from a database row."""
    fields = [
        row["sequence"],
        row["at"].astimezone(UTC).isoformat(timespec="microseconds"),
        row["actor_user_id"],
        row["actor_token_id"],
        row["actor_label"],
        row["action"],
        row["object_type"],
        row["object_id"],
        row["outcome"],
        row["ip"],
        row["user_agent"],
        row["session_hash"],
        row["request_id"],
        row["detail"],
        row["prev_hash"],
    ]
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def seal(row: dict) -> str:
    return hmac.new(settings.AUDIT_HMAC_KEY.encode(), canonical(row), hashlib.sha256).hexdigest()


def record(
    action: str,
    *,
    outcome: str = Outcome.ALLOWED,
    object_type: str = "",
    object_id="",
    detail: dict | None = None,
    actor=None,
    token=None,
) -> AccessEvent | None:
    """Append one event to the chain, inside the caller's transaction if there is one.

    `detail` is a small dict of ids, counts and reasons: never audio, transcript text, secrets or
    who was recorded. Values must be JSON strings, integers or booleans (floats do not round-trip
    exactly through every database).
    """
    if not settings.AUDIT_ENABLED:
        return None
    assert action in Action.values, f"unknown audit action {action!r}"
    ctx = _current.get() or Context()
    row = {
        "action": action,
        "outcome": outcome,
        "object_type": object_type,
        "object_id": str(object_id)[:64],
        "detail": detail or {},
        **_who_and_where(ctx, actor, token),
    }
    # Inside the caller's transaction no savepoint is needed: if the event fails, the action
    # must fail with it anyway.
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
        last = AccessEvent.objects.order_by("-sequence").values_list("sequence", "hash").first()
        sequence, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
        event = AccessEvent(sequence=sequence, prev_hash=prev_hash, **row)
        row.update(sequence=sequence, at=event.at, prev_hash=prev_hash)
        event.hash = seal(row)
        event.save(force_insert=True)
        activity.count_event(action, row["actor_user_id"], event.at)
    return event


def client_ip(request) -> str | None:
    """The client's address: one answer for the access trail and django-axes (AXES_CLIENT_IP_CALLABLE).

    With TRUSTED_PROXY_COUNT = 0 (the default) it is REMOTE_ADDR, and X-Forwarded-For is ignored:
    anyone can send that header. Behind N proxies that each append the address they saw (nginx's
    `$proxy_add_x_forwarded_for`), the client is the Nth entry from the right; entries further
    left came from the client and are never believed. A request whose header has fewer entries
    than N, or an entry that is not an IP address, falls back to REMOTE_ADDR.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < proxies:
        return remote
    try:
        return str(ipaddress.ip_address(forwarded[-proxies]))
    except ValueError:
        return remote
