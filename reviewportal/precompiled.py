"""Querysets whose SQL is built once per thread and then run with new values.

The review loop's reads are a dozen short querysets (the caller's lease, the latest revision, the
queue's head...) run on every claim, save and submit. Django builds each one's SQL again on every
call, and under load that building cost more server CPU than the rest of the request together
(bench/queue.py, docs/benchmarks.md). A function decorated with @precompiled returns the
queryset, written as usual; its arguments are the values that change from call to call, typed
(int, str, uuid.UUID, datetime). The first call in a thread builds the queryset once with
stand-in values, finds where each stand-in landed among the SQL's parameters and keeps the SQL;
later calls only fill the parameters in, run it and turn the rows into model instances as the
ORM would (select_related and annotations included).

    @precompiled
    def latest_revision(clip_id: int):
        return TranscriptRevision.objects.filter(clip_id=clip_id).order_by("-version")[:1]

    revision = latest_revision.first(clip_id=clip.pk)

The function must depend on nothing but its arguments: it is built twice with different stand-ins
and refused (ImproperlyConfigured) unless the two differ only where the stand-ins went, which
catches a timezone.now() or a value read from the database inside it. Values that can change
between migrations (permission ids) are passed as arguments too; the kept SQL is dropped after
every migrate or flush (forget_all()) anyway. Only querysets of model instances are supported,
without prefetch_related; a row lock (select_for_update) still needs transaction.atomic.

The loop's writes are kept the same way. @precompiled_update's function returns the queryset and
the changes, as its update() would take them; @precompiled_delete's returns the queryset. Both run
with .run(**values), which returns the number of rows changed, as update() and delete() count
them. Only single-table statements are kept; a delete runs no signals and cascades nothing (as
Django's own fast delete, for a model that nothing points to).

    @precompiled_update
    def end_lease(lease_id: int, ended_at: datetime):
        return Lease.objects.filter(pk=lease_id), {"ended_at": ended_at}

    end_lease.run(lease_id=lease.pk, ended_at=now)

insert(instance) adds a new model instance's row as instance.save() would, with the INSERT written
once per model: a claim's lease and a save's transcript revision; insert_all() several rows of one
model, as bulk_create() would (a lease's grants). No signals are sent.
"""

import functools
import inspect
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.query import ModelIterable, get_related_populators
from django.db.models.sql import DeleteQuery, UpdateQuery
from django.db.transaction import TransactionManagementError

_KINDS = (int, str, uuid.UUID, datetime)
_local = threading.local()
_generation = 0  # bumped by forget_all(); a thread's kept SQL of an older generation is rebuilt


def _stand_in(kind: type, index: int, round_: int):
    """A value of `kind` that no real query passes, different for each argument and each build."""
    serial = 100 * round_ + index
    if kind is int:
        # Within a SmallIntegerField's range: Django skips a lookup whose value no column could hold.
        return 30_011 + serial
    if kind is str:
        return f"precompiled-stand-in-{serial}"
    if kind is uuid.UUID:
        return uuid.UUID(int=0x7E57_0000_0000_4000_8000_0000_0000_0000 + serial)
    return datetime(1901, 2, 3, 4, 5, 6, 100_000 + serial, tzinfo=UTC)


def _to_db(kind: type, value, connection):
    """`value` as the ORM hands it to this connection's driver (what the field would do to it)."""
    if kind is uuid.UUID:
        value = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        return value if connection.features.has_native_uuid_field else value.hex
    if kind is datetime:
        return connection.ops.adapt_datetimefield_value(value)
    return value


@dataclass(frozen=True)
class _Built:
    generation: int
    sql: str
    params: tuple  # the constant parameters, with None where an argument goes
    slots: tuple  # for each parameter: the index of its argument, or None for a constant
    compiler: object
    converters: dict
    locks: bool
    model: type
    fields_start: int
    init_list: list
    related_populators: list
    annotation_col_map: dict


class Precompiled:
    def __init__(self, build: Callable, using: str = DEFAULT_DB_ALIAS):
        self.build = build
        self.using = using
        signature = inspect.signature(build)
        self.names = tuple(signature.parameters)
        self.kinds = tuple(signature.parameters[name].annotation for name in self.names)
        for name, kind in zip(self.names, self.kinds, strict=True):
            if kind not in _KINDS:
                raise ImproperlyConfigured(f"{build.__qualname__}: argument {name} needs a type among {_KINDS}")
        functools.update_wrapper(self, build)

    def all(self, **values) -> list:
        """The queryset's model instances for these values."""
        built = self._built()
        connection = connections[self.using]
        if built.locks and not connection.in_atomic_block:
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        with connection.cursor() as cursor:
            cursor.execute(built.sql, self._params(built, values, connection))
            rows = cursor.fetchall()
        if built.converters:
            rows = built.compiler.apply_converters(rows, built.converters)
        return [self._instance(built, row) for row in rows]

    def first(self, **values):
        """The first instance, or None. Put the LIMIT ([:1]) in the queryset: this does not add one."""
        found = self.all(**values)
        return found[0] if found else None

    def _instance(self, built: _Built, row):
        end = built.fields_start + len(built.init_list)
        instance = built.model.from_db(self.using, built.init_list, row[built.fields_start : end])
        for populator in built.related_populators:
            populator.populate(row, instance)
        for name, position in built.annotation_col_map.items():
            setattr(instance, name, row[position])
        return instance

    def _built(self) -> _Built:
        kept = getattr(_local, "built", None)
        if kept is None:
            kept = _local.built = {}
        built = kept.get(self)
        if built is None or built.generation != _generation:
            built = kept[self] = self._compile()
        return built

    def _params(self, built, values: dict, connection) -> list:
        """The statement's parameters: the kept constants, and these values in their slots."""
        args = [_to_db(kind, values[name], connection) for name, kind in zip(self.names, self.kinds, strict=True)]
        slotted = zip(built.slots, built.params, strict=True)
        return [args[slot] if slot is not None else constant for slot, constant in slotted]

    def _compile(self) -> _Built:
        sql, params, slots, compiler = self._compile_twice()
        select, klass_info = compiler.select, compiler.klass_info
        select_fields = klass_info["select_fields"]
        fields_start, fields_end = select_fields[0], select_fields[-1] + 1
        return _Built(
            generation=_generation,
            sql=sql,
            params=_constants(params, slots),
            slots=slots,
            compiler=compiler,
            converters=compiler.get_converters([column[0] for column in select[: compiler.col_count]]),
            locks=compiler.query.select_for_update,
            model=klass_info["model"],
            fields_start=fields_start,
            init_list=[column[0].target.attname for column in select[fields_start:fields_end]],
            related_populators=get_related_populators(klass_info, select, self.using),
            annotation_col_map=dict(compiler.annotation_col_map or {}),
        )

    def _query(self, stand_ins: list):
        queryset = self.build(*stand_ins)
        name = self.build.__qualname__
        if queryset._iterable_class is not ModelIterable or queryset._prefetch_related_lookups:
            raise ImproperlyConfigured(f"{name}: only querysets of model instances, without prefetch_related")
        if queryset._known_related_objects:
            raise ImproperlyConfigured(f"{name}: build it from a model's manager, not a related manager")
        return queryset.query

    def _compile_with(self, round_: int):
        """Build with this round's stand-ins: the SQL, its parameters, where each argument went, the compiler."""
        connection = connections[self.using]
        stand_ins = [_stand_in(kind, index, round_) for index, kind in enumerate(self.kinds)]
        compiler = self._query(stand_ins).get_compiler(using=self.using)
        sql, params = compiler.as_sql()
        in_db = [_to_db(kind, value, connection) for kind, value in zip(self.kinds, stand_ins, strict=True)]
        slots = tuple(next((index for index, value in enumerate(in_db) if value == param), None) for param in params)
        missing = [self.names[index] for index in range(len(in_db)) if index not in slots]
        if missing:
            raise ImproperlyConfigured(
                f"{self.build.__qualname__}: argument(s) {', '.join(missing)} did not reach the SQL as given"
            )
        return sql, tuple(params), slots, compiler

    def _compile_twice(self) -> tuple:
        """Build with two rounds of stand-ins, which must differ only where the stand-ins went;
        return the first build (_compile_with's)."""
        (sql, params, slots, compiler), (sql_again, params_again, slots_again, _) = (
            self._compile_with(round_) for round_ in (1, 2)
        )
        if (
            sql != sql_again
            or slots != slots_again
            or any(a != b for a, b, slot in zip(params, params_again, slots, strict=True) if slot is None)
        ):
            raise ImproperlyConfigured(
                f"{self.build.__qualname__} builds a different query for the same arguments: "
                "it may depend only on its arguments (pass the time, ids and the like in)"
            )
        return sql, params, slots, compiler


def _constants(params: tuple, slots: tuple) -> tuple:
    return tuple(None if slot is not None else param for param, slot in zip(params, slots, strict=True))


def precompiled(build: Callable) -> Precompiled:
    """Decorator: see the module docstring."""
    return Precompiled(build)


@dataclass(frozen=True)
class _BuiltWrite:
    generation: int
    sql: str
    params: tuple
    slots: tuple


class PrecompiledWrite(Precompiled):
    """An UPDATE or DELETE of a queryset's rows, built once per thread (see the module docstring)."""

    def __init__(self, build: Callable, kind: type[UpdateQuery] | type[DeleteQuery], using: str = DEFAULT_DB_ALIAS):
        super().__init__(build, using)
        self.kind = kind

    def run(self, **values) -> int:
        """Run the statement with these values; the number of rows it changed."""
        built = self._built()
        connection = connections[self.using]
        with connection.cursor() as cursor:
            cursor.execute(built.sql, self._params(built, values, connection))
            return cursor.rowcount

    def all(self, **values):
        raise TypeError(f"{self.build.__qualname__} writes: call run()")

    def _compile(self) -> _BuiltWrite:
        sql, params, slots, _ = self._compile_twice()
        return _BuiltWrite(generation=_generation, sql=sql, params=_constants(params, slots), slots=slots)

    def _query(self, stand_ins: list):
        name = self.build.__qualname__
        if self.kind is UpdateQuery:
            queryset, changes = self.build(*stand_ins)
            query = queryset.query.chain(UpdateQuery)
            query.add_update_values(changes)
        else:
            queryset = self.build(*stand_ins)
            query = queryset.query.chain(DeleteQuery)
        query.get_initial_alias()
        if query.count_active_tables() != 1 or getattr(query, "related_updates", None):
            raise ImproperlyConfigured(f"{name}: only statements on one table are kept")
        return query


def precompiled_update(build: Callable) -> PrecompiledWrite:
    """Decorator: an UPDATE built once per thread; `build` returns (queryset, changes)."""
    return PrecompiledWrite(build, UpdateQuery)


def precompiled_delete(build: Callable) -> PrecompiledWrite:
    """Decorator: a DELETE built once per thread; `build` returns the queryset. No signals, no cascades."""
    return PrecompiledWrite(build, DeleteQuery)


@dataclass(frozen=True)
class _Insert:
    into: str  # up to VALUES
    row: str  # one row's placeholders
    returning: str
    fields: tuple  # (field, how to prepare its value for the driver, or None: as it is)


def insert(instance, using: str = DEFAULT_DB_ALIAS):
    """Add the row of a new model instance, as instance.save() would, and return the instance.

    The INSERT is written once per model, not built by the ORM on every call. Each field's value
    goes through its pre_save() and, unless it is a plain string or integer, get_db_prep_save(),
    as in save(); the primary key comes back with RETURNING. No pre_save or post_save signal is
    sent, and an instance that already has a primary key is refused: only new rows go in here.
    """
    insert_all([instance], using=using)
    return instance


def insert_all(instances: list, *, ignore_conflicts: bool = False, using: str = DEFAULT_DB_ALIAS) -> None:
    """insert() for several new instances of one model, in one statement, as bulk_create() would.

    With ignore_conflicts, a row that would break a unique constraint is left out (ON CONFLICT DO
    NOTHING) and, as with bulk_create(), no primary keys are set; otherwise each instance gets its own.
    """
    if any(instance.pk is not None for instance in instances):
        raise ValueError("insert() adds new rows only: an instance already has a primary key")
    [model] = {type(instance) for instance in instances}
    connection = connections[using]
    statement = insert_statement(model, using)
    values = []
    for instance in instances:
        for field, prepare in statement.fields:
            value = field.pre_save(instance, True)
            values.append(prepare(value, connection) if prepare else value)
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else statement.returning
    with connection.cursor() as cursor:
        cursor.execute(statement.into + ", ".join([statement.row] * len(instances)) + tail, values)
        if not ignore_conflicts:
            for instance, (pk,) in zip(instances, cursor.fetchall(), strict=True):
                instance.pk = pk
                instance._state.adding = False
                instance._state.db = using


@functools.cache
def insert_statement(model: type, using: str = DEFAULT_DB_ALIAS) -> _Insert:
    """The model's INSERT, in parts: `into` (up to VALUES), one `row` of placeholders per row,
    RETURNING its key; `fields` in column order, each with its db_preparer(). Also the trail's."""
    meta, quote = model._meta, connections[using].ops.quote_name
    if meta.pk is not meta.auto_field:
        raise ImproperlyConfigured(f"insert(): {meta.label} needs an auto-incrementing primary key")
    fields = tuple(field for field in meta.concrete_fields if field is not meta.pk)
    columns = ", ".join(quote(field.column) for field in fields)
    return _Insert(
        into=f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ",  # noqa: S608  names from the model
        row=f"({', '.join(['%s'] * len(fields))})",
        returning=f" RETURNING {quote(meta.pk.column)}",
        fields=tuple((field, db_preparer(field)) for field in fields),
    )


def db_preparer(field) -> Callable | None:
    """What the ORM does to this field's value before the driver gets it, as a function of (value,
    connection); None where that is nothing (strings, integers and foreign keys, as the callers
    set them): Field.get_db_prep_save for every value is a tenth of an insert's CPU."""
    kind = field.get_internal_type()
    if kind == "ForeignKey":
        kind = field.target_field.get_internal_type()
    if kind in (
        "CharField",
        "TextField",
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
    ):
        return None
    if kind == "DateTimeField":
        return lambda value, connection: connection.ops.adapt_datetimefield_value(value)
    return field.get_db_prep_save


def forget_all(**kwargs) -> None:
    """post_migrate receiver: rebuild every kept query (a flush may renumber what they were built with)."""
    global _generation
    _generation += 1
