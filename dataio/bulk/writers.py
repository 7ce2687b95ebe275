"""Bulk writers: ids reserved in one statement, rows and their history COPYed (PostgreSQL) or inserted."""

import io
import queue
import sys
import threading
from contextlib import contextmanager
from operator import attrgetter, itemgetter

from django.db import IntegrityError, connections

from core.models import (
    fill_derived_text,
    with_derived_fields,
)
from dataio.bulk.common import BATCH_SIZE, postgres


def reserve_ids(connection, model, count):
    """``count`` fresh ids for ``model`` (one or two queries).

    PostgreSQL: values taken from the id sequence. SQLite: the ids after the highest ever given
    (``sqlite_sequence`` of the AUTOINCREMENT key); SQLite runs one writer at a time, and a
    concurrent insert would make this one fail on the primary key, never mix rows.
    """
    table, column = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if postgres(connection):
            # One row back: the range when the values are consecutive (no concurrent insert took
            # any in between), otherwise every value. The sequence is looked up once, in a
            # sub-query: pg_get_serial_sequence() per row would cost ten times the nextval()s.
            cursor.execute(
                "SELECT MIN(v), MAX(v), CASE WHEN MAX(v) - MIN(v) + 1 <> COUNT(*) THEN array_agg(v) END "
                "FROM (SELECT nextval((SELECT CAST(pg_get_serial_sequence(%s, %s) AS regclass))) AS v "
                "FROM generate_series(1, %s)) s",
                [table, column, count],
            )
            first, last, values = cursor.fetchone()
            return sorted(values) if values is not None else list(range(first, last + 1))
        quoted = connection.ops.quote_name(table)
        cursor.execute(
            f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "  # noqa: S608
            f"COALESCE((SELECT MAX({connection.ops.quote_name(column)}) FROM {quoted}), 0))",
            [table],
        )
        start = cursor.fetchone()[0] + 1
        return list(range(start, start + count))


def _copy_rows(connection, table, fields, rows):
    """COPY ``rows`` (tuples of values in the order of ``fields``) into ``table`` (one statement)."""
    with copy_writer(connection, table, fields) as write:
        for row in rows:
            write(row)


def copy_statement(connection, table, fields):
    """The COPY of ``fields`` into ``table`` and the types of its binary format (None: text).

    Binary format, each column dumped as its field's database type by psycopg (in C with
    psycopg[binary]): no text to format in Python nor to parse on the server, five to ten times
    faster than COPY text lines built in Python. Text format, each value dumped as psycopg
    would pass it as a parameter, when psycopg does not know a column's type.
    """
    from psycopg import sql

    with connection.cursor() as cursor:
        registry = cursor.cursor.adapters.types
    types = []
    for model_field in fields:
        # "varchar(200)" → "varchar", "numeric(12, 2)" → "numeric"; PostgreSQL's own spellings.
        info = registry.get((model_field.db_type(connection) or "").split("(")[0].strip())
        types.append(info.name if info is not None else None)
    binary = None not in types
    statement = sql.SQL("COPY {} ({}) FROM STDIN{}").format(
        sql.Identifier(table),
        sql.SQL(", ").join(sql.Identifier(model_field.column) for model_field in fields),
        sql.SQL(" (FORMAT BINARY)" if binary else ""),
    )
    return statement, types if binary else None


@contextmanager
def copy_writer(connection, table, fields):
    """A COPY into ``table`` open for the length of the block (see :func:`copy_statement`): yields
    the function that writes one row (a tuple of values in the order of ``fields``). No other
    statement can run meanwhile. An exception in the block abandons the COPY (the transaction
    must then roll back, or back to a savepoint).
    """
    statement, types = copy_statement(connection, table, fields)
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        if types is not None:
            copy.set_types(types)
        # Streamed: psycopg sends a buffer of rows while the server inserts the previous one.
        yield copy.write_row


class CopyThread:
    """COPYs batches of rows into several tables from a thread of its own while the caller goes
    on (PostgreSQL), as a context manager: :meth:`add` formats one batch and queues it, the end of
    the block waits for every batch to be written and raises what the writing raised (as Django's
    errors).

    Each COPY's end waits for the server to finish it; here the thread waits, not the caller. The
    caller formats the rows (psycopg's ``Copy`` writing to memory, in C with psycopg[binary]) and
    the thread only sends them, so that the two threads seldom want Python's lock at once. The
    thread uses the psycopg connection beneath ``connection`` (Django's wrapper belongs to one
    thread); the caller must not use ``connection`` inside the block. ``targets``: ``(table,
    fields)`` pairs, COPYed in this order. The thread is no background work: it ends and is joined
    before the block does, whatever the block raises.

    While the block runs, Python switches threads every half millisecond instead of every five:
    the thread needs Python's lock for a moment after each wait, and the caller, busy, would
    otherwise keep it for the whole interval while the server waits for the next COPY.

    The foreign keys of the rows written are checked once for all of them, at the end of the
    block, instead of row by row (see :class:`KeyCheck`), when the connection may turn the
    per-row checks off (``session_replication_role``) and a transaction is open; otherwise the
    database checks them as it always does.
    """

    SWITCH_INTERVAL = 0.0005

    def __init__(self, connection, targets):
        self.connection = connection
        self.statements = [copy_statement(connection, table, fields) for table, fields in targets]
        self.batches = queue.SimpleQueue()
        self.error = None
        self.abandoned = False
        self.formatting = self.thread = self.switch_interval = None
        self.keys = KeyCheck(targets) if connection.in_atomic_block and may_defer_keys(connection) else None

    def __enter__(self):
        self.connection.ensure_connection()
        raw = self.connection.connection
        if self.keys is not None:
            self.keys.begin(self.connection)
        self.formatting = raw.cursor()  # its adapters format the rows; it runs no statement
        self.thread = threading.Thread(target=self._write, args=(raw,))
        self.thread.start()
        self.switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self.switch_interval, self.SWITCH_INTERVAL))
        return self

    def add(self, batch):
        """Format and queue one list of rows per target (tuples of values in the order of its fields)."""
        from psycopg import Copy
        from psycopg.copy import FileWriter

        formatted = []
        for (_statement, types), rows in zip(self.statements, batch, strict=True):
            if not rows:
                formatted.append(None)
                continue
            buffer = io.BytesIO()
            copy = Copy(self.formatting, binary=types is not None, writer=FileWriter(buffer))
            if types is not None:
                copy.set_types(types)
            for row in rows:
                copy.write_row(row)
            copy.finish(None)
            formatted.append(buffer.getvalue())
        if self.keys is not None:
            self.keys.add(batch)
        self.batches.put(formatted)

    def _write(self, raw):
        while (batch := self.batches.get()) is not None:
            if self.error is not None or self.abandoned:
                continue  # the transaction is aborted or about to roll back: the rest is not sent
            try:
                with raw.cursor() as cursor:
                    for (statement, _types), data in zip(self.statements, batch, strict=True):
                        if data is not None:
                            with cursor.copy(statement) as copy:
                                copy.write(data)
            except Exception as error:  # noqa: BLE001 — raised in the caller's thread by __exit__
                self.error = error

    def __exit__(self, exc_type, exc, traceback):
        self.abandoned = exc_type is not None
        self.batches.put(None)
        self.thread.join()
        sys.setswitchinterval(self.switch_interval)
        self.formatting.close()
        if self.error is not None:
            # The transaction is aborted: rolling it back (or back to a savepoint taken before
            # the block) also takes back the setting KeyCheck.begin made.
            if exc_type is None:
                with self.connection.wrap_database_errors:
                    raise self.error
            return False
        if self.keys is not None:
            self.keys.end(self.connection, check=exc_type is None)
        return False


def may_defer_keys(connection):
    """Whether ``connection`` may turn the database's per-row foreign-key checks off for its
    session (``session_replication_role``: a superuser, or a role granted ``SET`` on it)."""
    if not postgres(connection):
        return False
    with connection.cursor() as cursor:
        if connection.pg_version >= 150000:
            cursor.execute("SELECT has_parameter_privilege('session_replication_role', 'SET')")
        else:
            cursor.execute("SELECT current_setting('is_superuser') = 'on'")
        return cursor.fetchone()[0]


class KeyCheck:
    """The foreign keys of rows COPYed in bulk, checked once for all of them instead of one row
    at a time, with what the database's own check guarantees.

    PostgreSQL checks a foreign key by a trigger and a query per new row, which costs about as
    much as writing the row. Here the writing session turns those triggers off
    (``session_replication_role = replica``, for the block only; the database's other triggers
    are ``ENABLE ALWAYS`` and still fire), collects the distinct values of each foreign key from
    the rows as they are formatted, and at the end reads every referenced row in one query per
    referenced table: a value with no row raises ``IntegrityError``, and each row found is locked
    ``FOR KEY SHARE``, as the database's check locks it, so that no other transaction can delete
    it or change its key before this one commits. A reference to a row written in the same block
    (a new period's new member) needs no query: that row's COPY ended before the check, and no
    other transaction can see the row, let alone delete it.

    Every other writer, and this one without the right to set ``session_replication_role``,
    keeps the database's own checks.
    """

    def __init__(self, targets):
        self.columns = []  # (target's position, column's position, referenced table, its column)
        self.primary_keys = {}  # (table, primary key column) → (target's position, column's position)
        for position, (table, fields) in enumerate(targets):
            for index, field in enumerate(fields):
                if field.primary_key:
                    self.primary_keys.setdefault((table, field.column), (position, index))
                remote = getattr(field, "target_field", None)
                if (field.many_to_one or field.one_to_one) and getattr(field, "db_constraint", False):
                    target = remote.model._meta.db_table
                    self.columns.append((position, index, target, remote.column))
        self.values = {(table, column): set() for _p, _i, table, column in self.columns}
        self.written = {key: set() for key in self.primary_keys}  # their values in the rows written
        self.previous_role = None

    def begin(self, connection):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('session_replication_role')")
            self.previous_role = cursor.fetchone()[0]
            cursor.execute("SET session_replication_role = replica")

    def add(self, batch):
        """Collect the values of the foreign keys (and primary keys) of one batch (see CopyThread.add)."""
        for position, index, table, column in self.columns:
            self.values[table, column].update(map(itemgetter(index), batch[position]))
        for key, (position, index) in self.primary_keys.items():
            self.written[key].update(map(itemgetter(index), batch[position]))

    def end(self, connection, *, check=True):
        """Give the session its setting back and, when ``check``, check and lock the references."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('session_replication_role', %s, false)", [self.previous_role])
        if not check:
            return
        for (table, column), values in self.values.items():
            values.discard(None)
            self._check(connection, table, column, values - self.written.get((table, column), set()))

    def _check(self, connection, table, column, values):
        if not values:
            return
        quote = connection.ops.quote_name
        statement = "SELECT {column} FROM {table} WHERE {column} = ANY(%s) ORDER BY {column} FOR KEY SHARE".format(  # noqa: S608
            table=quote(table), column=quote(column)
        )
        with connection.cursor() as cursor:
            cursor.execute(statement, [sorted(values)])
            found = {row[0] for row in cursor.fetchall()}
        missing = sorted(values - found)
        if missing:
            raise IntegrityError(
                f'A row written refers to {column} = {missing[0]} of table "{table}", which is not there '
                f"({len(missing)} such values in all): a foreign key would be violated."
            )


HISTORY_FIELDS = ("history_date", "history_change_reason", "history_type", "history_user")


def history_fields_of(model, fields):
    """The fields of ``model``'s history table holding ``fields``, then HISTORY_FIELDS; None when
    the history does not keep every one of ``fields``."""
    history_meta = model.history.model._meta
    by_attname = {field.attname: field for field in history_meta.concrete_fields}
    if not all(field.attname in by_attname for field in fields):
        return None
    return [by_attname[field.attname] for field in fields] + [history_meta.get_field(n) for n in HISTORY_FIELDS]


def history_values(*, user, reason, date, history_type):
    """The values of the HISTORY_FIELDS columns a history row ends with (after the record's own)."""
    return (date, reason, history_type, getattr(user, "pk", None))


def copy_with_history(connection, model, fields, objs, *, user, reason, date, history_type):
    """PostgreSQL: each row's values read once, COPYed into the table and, with the history columns
    appended, into its history table. False when the history does not keep every field."""
    history_fields = history_fields_of(model, fields)
    if history_fields is None:
        return False
    values_of = attrgetter(*(field.attname for field in fields))
    rows = []
    with copy_writer(connection, model._meta.db_table, fields) as write:
        for obj in objs:  # each row read while the server inserts the previous ones
            row = values_of(obj)
            rows.append(row)
            write(row)
    constant = history_values(user=user, reason=reason, date=date, history_type=history_type)
    _copy_rows(connection, model.history.model._meta.db_table, history_fields, (row + constant for row in rows))
    return True


def _insert(connection, table, fields, rows):
    """Insert ``rows`` (values in the order of ``fields``) in one statement.

    PostgreSQL: COPY (see :func:`_copy_rows`). Elsewhere: one ``executemany`` of prepared values.
    """
    if postgres(connection):
        _copy_rows(connection, table, fields, rows)
        return
    columns = [field.column for field in fields]
    quote = connection.ops.quote_name
    statement = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
        quote(table), ", ".join(quote(column) for column in columns), ", ".join(["%s"] * len(columns))
    )
    prepared = [
        [field.get_db_prep_save(value, connection) for field, value in zip(fields, row, strict=True)] for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(statement, prepared)


def _insert_history(connection, model, objs, *, user, reason, date, history_type):
    """One history row per object (as django-simple-history writes them), in one statement."""
    meta = model.history.model._meta
    fields = [f for f in meta.concrete_fields if f.name not in HISTORY_FIELDS and f.name != "history_id"]
    values_of = attrgetter(*(f.attname for f in fields))
    fields += [meta.get_field(name) for name in HISTORY_FIELDS]
    constant = history_values(user=user, reason=reason, date=date, history_type=history_type)
    _insert(connection, meta.db_table, fields, (values_of(obj) + constant for obj in objs))


def connection_for(model):
    from django.db import router

    return connections[router.db_for_write(model)]


class NewRow:
    """A row to insert without building a model instance (its fields by attribute name).

    Used for the membership periods an admission opens: ``ended_on``, ``end_reason`` and the
    ending decision empty.
    """

    def __init__(self, **values):
        self.ended_on = None
        self.end_reason = ""
        self.end_decision_number = ""
        self.end_decided_on = None
        self.__dict__.update(values)


def prepare_new(model, obj, pk, date, connection):
    """Make ``obj`` (a ``model`` instance or a :class:`NewRow`) the row it will be once inserted
    with id ``pk`` on ``date``; ``save()`` is not called, so its search and sort keys are derived here."""
    setattr(obj, model._meta.pk.attname, pk)
    obj.created = obj.updated = date
    fill_derived_text(obj)
    state = getattr(obj, "_state", None)
    if state is not None:
        state.adding = False
        state.db = connection.alias
    return obj


def insert_with_history(model, objs, *, user, reason, date, ids=None):
    """Insert new rows and their "+" history rows (all with ``user``, ``reason`` and ``date``).

    A constant number of statements however many rows: ids reserved at once (or given: ``ids``,
    reserved by :func:`reserve_ids`), then COPY on PostgreSQL or one ``executemany`` elsewhere.
    No signal is sent: the bulk services announce what they wrote (``core.events``), once per batch.
    """
    if not objs:
        return objs
    connection = connection_for(model)
    if ids is None:
        ids = reserve_ids(connection, model, len(objs))
    for obj, pk in zip(objs, ids, strict=True):
        prepare_new(model, obj, pk, date, connection)
    fields = model._meta.concrete_fields
    history = {"user": user, "reason": reason, "date": date, "history_type": "+"}
    if postgres(connection) and copy_with_history(connection, model, fields, objs, **history):
        return objs
    values_of = attrgetter(*(f.attname for f in fields))
    _insert(connection, model._meta.db_table, fields, (values_of(obj) for obj in objs))
    _insert_history(connection, model, objs, **history)
    return objs


def update_with_history(model, objs, fields, *, user, reason, date):
    """Update ``fields`` of ``objs`` (raising their version) and add their "~" history rows."""
    if not objs:
        return objs
    for obj in objs:
        obj.updated = date
        fill_derived_text(obj)
        if hasattr(obj, "version"):
            obj.version += 1
    fields = with_derived_fields(model, fields)
    fields = sorted(set(fields) | {"updated"} | ({"version"} if hasattr(objs[0], "version") else set()))
    model.objects.bulk_update(objs, fields, batch_size=BATCH_SIZE)
    _insert_history(connection_for(model), model, objs, user=user, reason=reason, date=date, history_type="~")
    return objs


def attnames(model, names):
    return frozenset(model._meta.get_field(name).attname for name in names)
