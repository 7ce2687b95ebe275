"""The exact roll-ups counted from the raw tables: :func:`rebuild` stores them, :func:`differences`
compares them with the table (``manage.py verify_rollups [--repair]``)."""

import datetime
from collections import defaultdict

from django.db import connection, transaction

from branches.choices import GRASSROOTS_KINDS
from core.versions import bump_data_version
from reports.metrics import Metric
from reports.rollups import standing, statistics
from reports.rollups.common import (
    ADMITTED_BY_KIND,
    ESTABLISHED_BY_KIND,
    STEPLEN,
    levels_sql,
    month_sql,
    rollup_table,
)


def _event_sources_sql():
    """(path counted for, month, metric, n) of every event, from the raw tables."""
    kinds = ", ".join(f"'{k}'" for k in GRASSROOTS_KINDS)
    committee = (
        "FROM enterprises_massorganization mo JOIN enterprises_enterprise e ON e.id = mo.enterprise_id "
        "JOIN branches_organization c ON c.id = e.managing_committee_id"
    )
    returns = (
        "FROM enterprises_membershipreturn r JOIN enterprises_massorganization mo ON mo.id = r.mass_organization_id "
        "JOIN enterprises_enterprise e ON e.id = mo.enterprise_id "
        "JOIN branches_organization c ON c.id = e.managing_committee_id"
    )
    parts = [
        f"SELECT o.path, {month_sql('o.established_on')} AS month, '{Metric.PARTY_ORGS_ESTABLISHED}' AS metric, "
        f"COUNT(*) AS n FROM branches_organization o WHERE o.kind IN ({kinds}) GROUP BY 1, 2",
        f"SELECT o.path, {month_sql('m.admitted_on')}, '{Metric.MEMBERS_ADMITTED}', COUNT(*) "
        "FROM branches_member m JOIN branches_organization o ON o.id = m.admitted_by_id GROUP BY 1, 2",
        f"SELECT o.path, {month_sql('m.admitted_on')}, '{Metric.OWNERS_ADMITTED}', COUNT(*) "
        "FROM branches_member m JOIN branches_organization o ON o.id = m.admitted_by_id "
        "WHERE m.owner_at_admission GROUP BY 1, 2",
        f"SELECT c.path, {month_sql('mo.established_on')}, '{Metric.MASS_ORGS_ESTABLISHED}', COUNT(*) "
        f"{committee} GROUP BY 1, 2",
        f"SELECT c.path, {month_sql('r.date')}, '{Metric.MASS_ORG_MEMBERS_ADMITTED}', SUM(r.members_admitted) "
        f"{returns} GROUP BY 1, 2",
    ]
    for kind, metric in ESTABLISHED_BY_KIND.items():
        parts.append(
            f"SELECT c.path, {month_sql('mo.established_on')}, '{metric}', COUNT(*) "
            f"{committee} WHERE mo.kind = '{kind}' GROUP BY 1, 2"
        )
    for kind, metric in ADMITTED_BY_KIND.items():
        parts.append(
            f"SELECT c.path, {month_sql('r.date')}, '{metric}', SUM(r.members_admitted) "
            f"{returns} WHERE mo.kind = '{kind}' GROUP BY 1, 2"
        )
    return " UNION ALL ".join(parts)


def recount_sql():
    """SELECT organization_id, month, metric, value of the exact roll-ups (non-zero rows only)."""
    return (
        f"SELECT a.id AS organization_id, s.month AS month, s.metric AS metric, SUM(s.n) AS value "
        f"FROM ({_event_sources_sql()}) s "
        f"JOIN {levels_sql()} lv ON lv.column1 * {STEPLEN} <= LENGTH(s.path) "
        f"JOIN branches_organization a ON a.path = SUBSTR(s.path, 1, lv.column1 * {STEPLEN}) "
        f"GROUP BY a.id, s.month, s.metric HAVING SUM(s.n) <> 0"
    )


@transaction.atomic
def rebuild():
    """Recount every roll-up and standing count from the raw tables (after bulk loads, or
    ``verify_rollups --repair``)."""
    table = rollup_table()
    with connection.cursor() as cursor:
        _more_memory(cursor)
        cursor.execute(f"DELETE FROM {table}")
        cursor.execute(f"INSERT INTO {table} (organization_id, month, metric, value) {recount_sql()}")
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {table}")
    standing.rebuild()
    statistics.rebuild()
    bump_data_version()


def _more_memory(cursor):
    if connection.vendor == "postgresql":
        cursor.execute("SET LOCAL work_mem = '256MB'")


@transaction.atomic
def differences(limit=50):
    """Where the tables and a full recount disagree: ``(count, [(org id, month, metric, stored, exact)])``;
    a standing count's row reads ``(key id, day, "<organization|enterprise> <figure>", stored, exact)``."""
    table = rollup_table()
    stored = f"SELECT organization_id, month, metric, value FROM {table} WHERE value <> 0"
    exact = recount_sql()
    with connection.cursor() as cursor:
        _more_memory(cursor)
        cursor.execute(
            f"SELECT 's', organization_id, month, metric, value FROM "
            f"(SELECT * FROM ({stored}) s1 EXCEPT SELECT * FROM ({exact}) e1) d1 "
            f"UNION ALL SELECT 'e', organization_id, month, metric, value FROM "
            f"(SELECT * FROM ({exact}) e2 EXCEPT SELECT * FROM ({stored}) s2) d2"
        )
        found = defaultdict(lambda: [0, 0])
        for side, organization_id, month, metric, value in cursor.fetchall():
            month = month if isinstance(month, datetime.date) else datetime.date.fromisoformat(str(month))
            found[(organization_id, month, metric)][0 if side == "s" else 1] = int(value)
    details = [(*key, stored_value, exact_value) for key, (stored_value, exact_value) in sorted(found.items())]
    details += [
        (pk, day, f"{kind} {metric}", stored, exact) for kind, pk, day, metric, stored, exact in standing.differences()
    ]
    details += statistics.differences(limit=None)[1]
    return len(details), details[:limit]
