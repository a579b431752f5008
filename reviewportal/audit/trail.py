"""record(): the one way anything writes to the access trail, from every door.

Call it inside the transaction of the action it records (services do, as their last step), so an
action never commits without its event. Who and from where come from the current request,
websocket or command, which AuditContextMiddleware, the consumers (`context()`) and management
commands (`as_command()`) bind; callers pass only what happened.

Rows are chained: each carries the previous row's hash in its lane and an HMAC (AUDIT_HMAC_KEY,
not SECRET_KEY) over its own content plus that hash. A lane has one transaction appending at a
time, so it has one order: on PostgreSQL a lane the transaction borrows from its process
(reviewportal.audit.lanes); on SQLite the shared lane, under SQLite's IMMEDIATE transaction. The
lane is the transaction's from its first append to its end, which is why services record last. After each commit
the newest (lane, sequence, hash) is noted for the high-water mark, which a writer thread puts in
the cache (reviewportal.audit.high_water), so verify_audit_log can tell when the newest rows were
deleted (reviewportal.audit.chain).
"""

import contextlib
import contextvars
import functools
import getpass
import hashlib
import hmac
import ipaddress
import json
import os
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.utils import timezone
from django.utils.functional import LazyObject, empty

from reviewportal.audit import activity, lanes
from reviewportal.audit import high_water as mark
from reviewportal.audit.lanes import GENESIS  # noqa: F401  re-exported: the shared lane's genesis
from reviewportal.audit.models import AccessEvent, Action, Outcome
from reviewportal.precompiled import insert_statement

# pg_advisory_xact_lock key of the shared lane: "audit" in ASCII, so it cannot collide with anything else of ours.
ADVISORY_LOCK_KEY = 0x6175646974
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,36}$")
_ACTIONS = frozenset(Action.values)  # Action.values builds a new list on every read


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


def as_command(name: str):
    """Record what a management command does in the name of whoever ran it on the machine."""
    return context(request=None, user=None, token=None, label=f"manage.py {name} by {_os_user()}"[:150])


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user with no passwd entry and no $USER
        return f"uid {os.getuid()}"


def session_hash(session_key: str | None) -> str:
    return hashlib.sha256((session_key or "").encode()).hexdigest()[:32] if session_key else ""


def request_id_for(request) -> str:
    offered = request.headers.get("X-Request-ID", "")
    return offered if REQUEST_ID_PATTERN.match(offered) else uuid.uuid4().hex


@functools.cache
def _user_model():
    return get_user_model()  # a registry lookup on every call otherwise


def _unwrapped(user):
    """The object behind request.user, which Django makes a SimpleLazyObject: each attribute read
    through one is a Python call and a caught AttributeError, a sixth of the trail's calls."""
    if isinstance(user, LazyObject):
        if user._wrapped is empty:
            user._setup()
        return user._wrapped
    return user


def _who_and_where(ctx: Context, actor, token) -> dict:
    request = ctx.request
    user = actor if actor is not None else ctx.user
    token = token if token is not None else ctx.token
    if user is None and request is not None:
        # DRF puts a service token where the user would be; it is an actor, but not a person.
        candidate = _unwrapped(getattr(request, "user", None))
        if isinstance(candidate, _user_model()) and candidate.is_authenticated:
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


# What an event's HMAC covers, in this order.
# The lane is not among them: each lane starts from its own genesis hash (lanes.genesis), so a row
# moved to another lane no longer links; and rows sealed before lanes existed still verify.
SEALED_FIELDS = (
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
)


def canonical(row: dict) -> bytes:
    """The bytes an event's HMAC covers, rebuilt identically from a database row."""
    return _sealed_text(row).encode()


# json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str), with
# the encoder built once instead of on every call: the same text.
_SEALED_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _sealed_text(row: dict) -> str:
    """SEALED_FIELDS' values as a JSON array: what the HMAC covers, and (on PostgreSQL) what the
    INSERT reads the row from, so the table holds exactly what was sealed."""
    fields = [
        row[name] if name != "at" else row[name].astimezone(UTC).isoformat(timespec="microseconds")
        for name in SEALED_FIELDS
    ]
    return _SEALED_JSON.encode(fields)


def seal(row: dict) -> str:
    return _hmac(canonical(row))


def _hmac(sealed: bytes) -> str:
    # hmac.digest: OpenSSL's one-shot HMAC, the same bytes as hmac.new(...).digest() without the
    # Python object around it.
    return hmac.digest(settings.AUDIT_HMAC_KEY.encode(), sealed, "sha256").hex()


def record(
    action: str,
    *,
    outcome: str = Outcome.ALLOWED,
    object_type: str = "",
    object_id="",
    detail: dict | None = None,
    actor=None,
    token=None,
) -> "Recorded | None":
    """Record one event in the caller's transaction if there is one (its own if not).

    `detail` is a small dict of ids, counts and reasons: never audio, transcript text, secrets or
    who was recorded. Values must be JSON strings, integers or booleans (floats do not round-trip
    exactly through every database).

    On PostgreSQL (reviewportal.audit.postgresql) the row goes in just before the transaction's
    next statement or, when the event was its last step as services make it, in the same round
    trip as its COMMIT: the chain's lock is then held for one round trip, not for the rest of the
    transaction. The returned event has its sequence and hash from then on. Elsewhere, and for an
    event that does more than insert (an audio stream counts toward the activity page), the row
    goes in at once.
    """
    if not settings.AUDIT_ENABLED:
        return None
    assert action in _ACTIONS, f"unknown audit action {action!r}"
    ctx = _current.get() or Context()
    event = Recorded(
        {
            "action": action,
            "outcome": outcome,
            "object_type": object_type,
            "object_id": str(object_id)[:64],
            "detail": detail or {},
            **_who_and_where(ctx, actor, token),
            **_UNCHAINED,
        }
    )
    db = connections[DEFAULT_DB_ALIAS]
    if not db.in_atomic_block:
        with transaction.atomic(using=db.alias):  # an event of its own: its own transaction
            _queue(db, event)
    else:
        # In the caller's transaction, as services record: no block or savepoint of ours (it
        # was a tenth of the trail's calls). If the event fails, the transaction must not
        # commit the action without it, even if the caller catches the error: what
        # atomic(savepoint=False) would do on the way out.
        try:
            _queue(db, event)
        except BaseException:
            db.needs_rollback = True
            raise
    return event


def _queue(db, event: "Recorded") -> None:
    db.on_commit(event)
    if activity.counts(event) or not getattr(db, "appends_audit_events_at_commit", False):
        append_waiting(db)
        activity.count_event(event)


_UNCHAINED = {"lane": None, "sequence": None, "at": None, "prev_hash": None, "hash": None}


class Recorded:
    """One event of the current transaction: its column values by attribute (`event.sequence`),
    the chain's once it is appended.

    It is queued with the transaction's on-commit callbacks, so it goes wherever the transaction
    goes: Django drops it with a savepoint that rolls back, and drops every one at the
    transaction's end. Until append_waiting() appends it, it waits; after the commit, calling it
    notes the high-water mark. (A plain object, not an AccessEvent: building a model instance
    for every event cost more than sealing it.)
    """

    __slots__ = ("appended", "values")

    def __init__(self, values: dict) -> None:
        self.values = values
        self.appended = False

    def __getattr__(self, name: str):
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __call__(self) -> None:
        if self.appended:
            mark.note(self.values["lane"], self.values["sequence"], self.values["hash"])


def append_waiting(db, *, then: str = "") -> bool:
    """Append the transaction's waiting events to the chain in one INSERT; False if none waited.

    `then` (PostgreSQL only) is a statement sent in the INSERT's round trip: the backend's commit
    passes "COMMIT". The first append of a transaction takes a lane and its head: a lane borrowed
    from the process with the head it keeps (lanes.enter), or the shared lane's lock and head read
    from the table. Later ones chain to the row it appended last: the lane is the transaction's to
    its end, and a row rolled back with its savepoint leaves the queue with it (such a
    savepoint also gives back a database lock taken inside it, so the next append takes it again).
    """
    queued = [callback for _, callback, _ in db.run_on_commit if isinstance(callback, Recorded)]
    ready = [event for event in queued if not event.appended]
    if not ready:
        return False
    appended = [event.values for event in queued if event.appended]
    db.appending_audit_events = True  # the statements below must not start another append
    try:
        if appended:
            lane, sequence, prev_hash = appended[-1]["lane"], appended[-1]["sequence"], appended[-1]["hash"]
        else:
            lane, sequence, prev_hash = _take_head(db)
        now = timezone.now()
        sealed = []
        for event in ready:
            sequence += 1
            values = event.values
            values.update(lane=lane, sequence=sequence, prev_hash=prev_hash, at=now)
            text = _sealed_text(values)
            values["hash"] = prev_hash = _hmac(text.encode())
            sealed.append(text)
        _insert(db, [event.values for event in ready], sealed, then)
    except DatabaseError:
        raise
    except Exception as error:
        # Raised at a savepoint's release or at the commit, only a DatabaseError makes Django
        # roll back; anything else would leave the action in place without its event.
        raise DatabaseError("the access trail could not append this transaction's events") from error
    finally:
        db.appending_audit_events = False
    for event in ready:
        event.appended = True
    return True


def append_before_statement(execute, sql, params, many, context):
    """An execute wrapper (installed by reviewportal.audit.postgresql): waiting events go in
    before the transaction's next statement, so whatever runs next, a read of the trail or a
    savepoint's release, sees them, and the chain's order stays the order of the actions. A
    rollback to a savepoint is left alone: the events in it go with it."""
    if not (isinstance(sql, str) and sql.startswith("ROLLBACK")):
        append_waiting(context["connection"])  # False at once when nothing waits
    return execute(sql, params, many, context)


def _cursor(db):
    """A cursor that may carry several statements in one execute: the backend's client-binding
    cursor where it has one (reviewportal.audit.postgresql), else its plain one."""
    client_binding_cursor = getattr(db, "client_binding_cursor", None)
    return client_binding_cursor() if client_binding_cursor else db.cursor()


def _take_head(db) -> tuple[int, int, str]:
    """Take a lane for this transaction; return (lane, sequence, hash) to chain to."""
    lane = lanes.enter(db)
    if lane is not None:
        return (lane.number, *lane.head)
    with _cursor(db) as cursor:
        head = _lock_and_read_head(cursor)
    if head is None:
        from reviewportal.audit import chain  # here: chain imports this module

        start = chain.anchor(lanes.SHARED)
        head = (start.sequence, start.hash)
    return (lanes.SHARED, *head)


def _lock_and_read_head(cursor) -> tuple[int, str] | None:
    """Take the shared lane's lock, then read its newest (sequence, hash); None for an empty lane."""
    if connection.vendor == "postgresql":
        # The lock, then the head, in one round trip: each statement of the string takes its own
        # snapshot (READ COMMITTED), so the read sees every row committed before the lock was
        # ours. One statement reading the head after locking would not: its snapshot is taken
        # before it waits. (Needs client-side binding: see _cursor.)
        cursor.execute(_statements().locked_last, [ADVISORY_LOCK_KEY])
        cursor.nextset()
    else:
        cursor.execute(_statements().last)  # SQLite's IMMEDIATE transaction is the lock
    return cursor.fetchone()


@dataclass(frozen=True)
class _Statements:
    last: str
    locked_last: str
    insert: object  # precompiled.insert_statement(AccessEvent): into, row, fields
    insert_sealed: str  # PostgreSQL: the INSERT from the model, each row read from its sealed JSON;
    # the body of migration audit.0008's function must be this (a test compares them)
    append: str  # PostgreSQL: what is sent, a call of that function (its JSON quoted in, on our backend)


@functools.cache
def _statements() -> _Statements:
    """The chain head's SELECT and the events' INSERT, written once per process.

    The trail is on the path of nearly every request; building these through the ORM cost more
    CPU than running them (bench/queue.py --audit both). Same SQL as the ORM's, minus its compiler.
    """
    meta = AccessEvent._meta
    quote = connection.ops.quote_name
    last = (
        f"SELECT {quote('sequence')}, {quote('hash')} FROM {quote(meta.db_table)} "  # noqa: S608  names from the model
        f"WHERE {quote('lane')} = {lanes.SHARED} ORDER BY {quote('sequence')} DESC LIMIT 1"
    )
    return _Statements(
        last=last,
        locked_last=f"SELECT pg_advisory_xact_lock(%s); {last}",
        insert=insert_statement(AccessEvent),
        insert_sealed=_insert_sealed(meta, quote) if connection.vendor == "postgresql" else "",
        append="SELECT audit_accessevent_append(%s::jsonb)",
    )


def _insert_sealed(meta, quote) -> str:
    """PostgreSQL's INSERT of rows given as one JSON array of [lane, hash, sealed], where sealed is
    the row's _sealed_text(): the values the HMAC covers, in SEALED_FIELDS' order. Strings are
    cast to text, not varchar(n), so a value too long for its column fails as it would in a
    plain INSERT instead of being cut."""
    fields = {field.attname: field for field in meta.concrete_fields}
    values = {"lane": "(e->>0)::smallint", "hash": "e->>1"}
    for place, name in enumerate(SEALED_FIELDS):
        field = fields[name]
        kind = field.get_internal_type()
        if kind == "JSONField":
            values[field.column] = f"e->2->{place}"
        else:
            cast = "text" if kind in ("CharField", "TextField") else field.db_type(connection)
            values[field.column] = f"(e->2->>{place})::{cast}"
    columns = ", ".join(quote(column) for column in values)
    return (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608  names from the model
        f"SELECT {', '.join(values.values())} FROM jsonb_array_elements(%s::jsonb) AS e"
    )


def _insert(db, rows: list[dict], sealed: list[str], then: str) -> None:
    statements = _statements()
    if db.vendor == "postgresql":
        # The rows as one JSON string, built from the text each was sealed over: libpq quotes one
        # string (in C) instead of psycopg adapting sixteen values per row in Python, and nothing
        # is serialised twice (py-spy, docs/benchmarks.md). The INSERT is in a function
        # (migration audit.0008): PostgreSQL plans it once per session, where a statement sent
        # as text with its COMMIT was planned every time.
        payload = ",".join(f'[{row["lane"]},"{row["hash"]}",{text}]' for row, text in zip(rows, sealed, strict=True))
        send_statements = getattr(db, "send_statements", None)
        if send_statements is not None:  # reviewportal.audit.postgresql: straight to libpq, with the COMMIT
            sql = f"{statements.append}; {then}" if then else statements.append
            send_statements(sql, f"[{payload}]")
            return
        sql, values = statements.append, [f"[{payload}]"]
    else:
        insert = statements.insert
        values = [
            prepare(row[field.attname], db) if prepare else row[field.attname]
            for row in rows
            for field, prepare in insert.fields
        ]
        sql = insert.into + ", ".join([insert.row] * len(rows))
    with db.cursor() as cursor:
        cursor.execute(sql, values)


def high_water() -> dict[int, tuple[int, str]]:
    """Each lane's newest committed (sequence, hash) as far as the cache knows (see high_water.py)."""
    return mark.read()


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
