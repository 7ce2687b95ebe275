"""What the roll-up modules share: the metrics per kind and the SQL pieces (PostgreSQL and SQLite)."""

from django.db import connection

from core.models import TREE_STEPLEN
from enterprises.choices import MassOrganizationKind
from reports.metrics import Metric

STEPLEN = TREE_STEPLEN
#: Deepest tree level the SQL expands ancestors for (the tree is five levels deep in practice).
MAX_DEPTH = 16

ESTABLISHED_BY_KIND = {
    MassOrganizationKind.TRADE_UNION: Metric.TRADE_UNIONS_ESTABLISHED,
    MassOrganizationKind.YOUTH_UNION: Metric.YOUTH_UNIONS_ESTABLISHED,
}
ADMITTED_BY_KIND = {
    MassOrganizationKind.TRADE_UNION: Metric.TRADE_UNION_MEMBERS_ADMITTED,
    MassOrganizationKind.YOUTH_UNION: Metric.YOUTH_UNION_MEMBERS_ADMITTED,
}


def month_of(day):
    return day.replace(day=1)


def rollup_table():
    from reports.models import Rollup

    return Rollup._meta.db_table


def month_sql(column):
    if connection.vendor == "postgresql":
        return f"CAST(date_trunc('month', {column}) AS date)"
    return f"date({column}, 'start of month')"


def levels_sql():
    return "(VALUES " + ", ".join(f"({k})" for k in range(1, MAX_DEPTH + 1)) + ")"


def upsert_sql(select_sql, table=None):
    """Add the rows of ``select_sql`` (organisation id, month, metric, value) to the roll-up table
    ``table`` (default :class:`~reports.models.Rollup`'s)."""
    table = table or rollup_table()
    return (
        f"INSERT INTO {table} (organization_id, month, metric, value) {select_sql} "
        f"ON CONFLICT (organization_id, month, metric) DO UPDATE SET value = {table}.value + excluded.value"
    )


#: Keys per statement when ``ids_in`` writes them into it as integers (no parameter limit).
IDS_CHUNK = 20_000


def ids_in(column, ids):
    """``column IN (ids)`` with the ids written in (cast to int: no parameter limit, one statement),
    or true for every key when ``ids`` is None. Consecutive ids (the new rows of a bulk write)
    become ``BETWEEN``: PostgreSQL reads a range without parsing and hashing a long list."""
    if ids is None:
        return "1 = 1"
    ids = {int(i) for i in ids}
    if len(ids) > 2 and max(ids) - min(ids) + 1 == len(ids):
        return f"{column} BETWEEN {min(ids)} AND {max(ids)}"
    return f"{column} IN ({', '.join(map(str, sorted(ids))) or 'NULL'})"


def chunks(values, size=900):
    """``values`` in lists of ``size``: ``IN`` lists of parameters small enough for SQLite's limit."""
    values = list(values)
    return [values[start : start + size] for start in range(0, len(values), size)]
