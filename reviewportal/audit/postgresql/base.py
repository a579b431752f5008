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

from django.db.backends.postgresql import base


def _trail():
    from reviewportal.audit import trail  # here, not at the top: its models load after the database backend

    return trail


def _lanes():
    from reviewportal.audit import lanes

    return lanes


def _append_before_statement(execute, sql, params, many, context):
    db = context["connection"]
    if db.run_on_commit and not db.appending_audit_events:  # nearly always empty: events come last
        return _trail().append_before_statement(execute, sql, params, many, context)
    return execute(sql, params, many, context)


class DatabaseWrapper(base.DatabaseWrapper):
    appends_audit_events_at_commit = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.appending_audit_events = False
        self.audit_lane = None  # the lane this connection's transaction holds (lanes.enter)
        self.execute_wrappers.append(_append_before_statement)

    def client_binding_cursor(self):
        """A cursor that quotes its parameters into the SQL, so one execute may carry several
        statements (the trail's lock and head read; its INSERT and the COMMIT). Every other
        statement is bound on the server (settings.py), which refuses more than one per call."""
        self.ensure_connection()
        return self._prepare_cursor(base.Cursor(self.connection))

    def _commit(self):
        try:
            if self.connection is not None and self.run_on_commit and _trail().append_waiting(self, then="COMMIT"):
                pass  # the events' INSERT carried the COMMIT; psycopg has nothing left to commit
            else:
                super()._commit()
        except BaseException:
            if self.audit_lane is not None:
                _lanes().leave(self, committed=None)
            raise
        if self.audit_lane is not None:
            _lanes().leave(self, committed=True)

    def _rollback(self):
        try:
            super()._rollback()
        finally:
            if self.audit_lane is not None:
                _lanes().leave(self, committed=False)

    def _close(self):
        try:
            super()._close()
        finally:
            if self.audit_lane is not None:  # closed inside a transaction: PostgreSQL rolls it back
                _lanes().leave(self, committed=False)
