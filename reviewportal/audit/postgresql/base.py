"""Django's PostgreSQL backend, with the access trail's events appended in the commit's round trip.

settings.py uses it (ENGINE "reviewportal.audit.postgresql") whenever DATABASE_URL names
PostgreSQL. An event recorded as a transaction's last step, as services record, waits for the
commit and goes in with it: `INSERT …; COMMIT` in one round trip, chained to the head of a lane
the transaction borrows from its process (reviewportal.audit.lanes), with no lock or read in the
database. An event followed by any other statement goes
in before that statement (an execute wrapper), so the transaction still reads what it recorded.
Every commit, rollback and close gives the lane back. See
reviewportal.audit.trail.record() and docs/audit.md.

With Django's own backend record() inserts at once, in the shared lane: slower, never wrong.
"""

import time

from django.db.backends.postgresql import base
from psycopg import errors, pq

from reviewportal.audit import lanes

_SENT = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)
_IDLE = pq.TransactionStatus.IDLE
_trail = None  # reviewportal.audit.trail, imported on first use: its models load after the database backend


def trail():
    global _trail
    if _trail is None:
        from reviewportal.audit import trail as module

        _trail = module
    return _trail


def _append_before_statement(execute, sql, params, many, context):
    db = context["connection"]
    if db.run_on_commit and not db.appending_audit_events:  # nearly always empty: events come last
        return trail().append_before_statement(execute, sql, params, many, context)
    return execute(sql, params, many, context)


class DatabaseWrapper(base.DatabaseWrapper):
    appends_audit_events_at_commit = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.appending_audit_events = False
        self.audit_lane = None  # the lane this connection's transaction holds (lanes.enter)
        self.execute_wrappers.append(_append_before_statement)

    def send_statements(self, sql: str, text: str) -> None:
        """Run `sql`, one or more statements, with its one `%s` replaced by `text` quoted as an SQL
        string literal by libpq, in one round trip over libpq's simple protocol, and discard what
        they return.

        The trail's append and its COMMIT go this way: straight to libpq, without a Django cursor
        and psycopg's client-binding cursor around them, which cost more Python per commit than
        the rest of the append (docs/benchmarks.md, eleventh round). What a cursor would also do
        is done here: errors become Django's, and the statement is logged where queries are
        (DEBUG, CaptureQueriesContext). libpq stops at the first statement that fails and
        returns its error; PostgreSQL then rolls the transaction back at the COMMIT.
        """
        self.ensure_connection()
        connection = self.connection
        literal = pq.Escaping(connection.pgconn).escape_literal(text.encode()).decode()
        sql = sql.replace("%s", literal, 1)
        if not connection.autocommit and connection.pgconn.transaction_status == _IDLE:
            # The transaction's first statement: psycopg sends its BEGIN before a cursor's first
            # statement, so this must too, or the rows would commit on their own.
            sql = f"{connection._get_tx_start_command().decode()}; {sql}"
        started = time.monotonic()
        with self.wrap_database_errors:
            result = connection.pgconn.exec_(sql.encode())  # lets go of the GIL while it waits
            if result.status not in _SENT:
                raise errors.error_from_result(result, encoding=connection.info.encoding)
        if self.queries_logged:
            self.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})

    def client_binding_cursor(self):
        """A cursor that quotes its parameters into the SQL, so one execute may carry several
        statements (the shared lane's lock and head read; the append and its COMMIT go through
        send_statements()). Every other statement is bound on the server (settings.py), which
        refuses more than one per call."""
        self.ensure_connection()
        return self._prepare_cursor(base.Cursor(self.connection))

    def _commit(self):
        try:
            if self.connection is not None and self.run_on_commit and trail().append_waiting(self, then="COMMIT"):
                pass  # the events' INSERT carried the COMMIT; psycopg has nothing left to commit
            else:
                super()._commit()
        except BaseException:
            if self.audit_lane is not None:
                lanes.leave(self, committed=None)
            raise
        if self.audit_lane is not None:
            lanes.leave(self, committed=True)

    def _rollback(self):
        try:
            super()._rollback()
        finally:
            if self.audit_lane is not None:
                lanes.leave(self, committed=False)

    def _close(self):
        try:
            super()._close()
        finally:
            if self.audit_lane is not None:  # closed inside a transaction: PostgreSQL rolls it back
                lanes.leave(self, committed=False)
