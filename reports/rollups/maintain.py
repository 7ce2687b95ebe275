"""Keeping the roll-ups: deltas added at an organisation and all its ancestors, subtrees moved.

``Rollup(organization, month, metric, value)`` counts the events of DOMAIN.md rule 3 that
happened in ``organization`` *or anywhere below it* in that calendar month. The handlers of
:mod:`reports.rollups.subscribers` turn each domain event into counts and call these functions;
one grouped statement per event however many rows it names (an import's 100,000 admissions
included).
"""

from collections import Counter, defaultdict
from contextlib import contextmanager

from django.db import connection

from core.models import values_relations
from reports.metrics import Metric
from reports.rollups.common import STEPLEN, levels_sql, month_of, rollup_table, upsert_sql


def apply_counts(counts, table=None):
    """Add ``counts`` ``{(organisation id, month, metric): n}`` at each organisation and all its
    ancestors, in the roll-up table ``table`` (default :class:`~reports.models.Rollup`'s): one grouped
    INSERT … ON CONFLICT (per 200 rows on SQLite, whose statements take at most 999 parameters), the
    ancestors of each organisation read from the tree once."""
    rows = [(*key, n) for key, n in counts.items() if n and key[0] is not None]
    if not rows:
        return
    columns = [("organization_id", "bigint"), ("month", "date"), ("metric", "text"), ("n", "bigint")]
    with connection.cursor() as cursor:
        for values, params in values_relations(connection, columns, rows, size=200, alias="s"):
            # The ancestors (and self) of each organisation, looked up once per organisation
            # rather than once per (organisation, month, metric) row.
            select = (
                f"WITH s AS (SELECT * FROM {values}), "
                f"up AS (SELECT o.id AS organization_id, a.id AS ancestor_id "
                f"FROM (SELECT DISTINCT organization_id FROM s) d "
                f"JOIN branches_organization o ON o.id = d.organization_id "
                f"JOIN {levels_sql()} lv ON lv.column1 * {STEPLEN} <= LENGTH(o.path) "
                f"JOIN branches_organization a ON a.path = SUBSTR(o.path, 1, lv.column1 * {STEPLEN})) "
                f"SELECT up.ancestor_id, s.month, s.metric, SUM(s.n) FROM s "
                f"JOIN up ON up.organization_id = s.organization_id "
                f"WHERE up.ancestor_id IS NOT NULL GROUP BY up.ancestor_id, s.month, s.metric"
            )
            cursor.execute(upsert_sql(select, table), params)


def counts_of(deltas):
    """``{(organisation id, month, metric): n}`` of ``deltas`` ``[(organisation id, day, metric, n)]``."""
    counts = defaultdict(int)
    for organization_id, day, metric, n in deltas:
        if n and organization_id is not None and day is not None:
            counts[(organization_id, month_of(day), str(metric))] += n
    return counts


def admission_counts(admissions, sign=1):
    """The counts of ``admissions`` ``[(admitting organisation id, admitted on, owner at admission)]``."""
    admitted, owners = str(Metric.MEMBERS_ADMITTED), str(Metric.OWNERS_ADMITTED)
    months = {}  # an import's rows share a few thousand dates at most
    counts = defaultdict(int)
    for (organization_id, admitted_on, owner), n in Counter(admissions).items():
        if admitted_on is None:
            continue
        month = months.get(admitted_on)
        if month is None:
            month = months[admitted_on] = month_of(admitted_on)
        counts[(organization_id, month, admitted)] += sign * n
        if owner:
            counts[(organization_id, month, owners)] += sign * n
    return counts


def apply_admissions(admissions):
    """Count admissions given as ``(admitting organisation id, admitted on, owner at admission)``:
    grouped here by organisation and month, then one grouped statement (no scan of the member rows)."""
    apply_counts(admission_counts(admissions))


def shift_subtrees(moves, table=None):
    """Organisations moved (``moves``: ``(organisation id, old path, new path)``, none inside or
    above another's subtree): the subtree totals of each (its own rows: they count everything below
    it) leave its old ancestors and join its new ones. One grouped statement for them all (per 300
    moves on SQLite, whose statements take at most 999 parameters): each moved organisation's rows
    read once, the deltas netted per ancestor, month and metric."""
    shifts = []  # (moved organisation id, ancestor path, sign)
    for organization_id, old_path, new_path in moves:
        old_ancestors = {old_path[:end] for end in range(STEPLEN, len(old_path), STEPLEN)}
        new_ancestors = {new_path[:end] for end in range(STEPLEN, len(new_path), STEPLEN)}
        shifts += [(organization_id, path, -1) for path in sorted(old_ancestors - new_ancestors)]
        shifts += [(organization_id, path, 1) for path in sorted(new_ancestors - old_ancestors)]
    if not shifts:
        return
    table = table or rollup_table()
    columns = [("organization_id", "bigint"), ("path", "text"), ("sign", "integer")]
    with connection.cursor() as cursor, _without_jit(cursor):
        for values, params in values_relations(connection, columns, shifts, size=300, alias="s"):
            select = (
                f"WITH s AS (SELECT * FROM {values}), moved AS (SELECT r.organization_id, r.month, r.metric, "
                f"r.value FROM {table} r WHERE r.organization_id IN (SELECT DISTINCT organization_id FROM s)) "
                f"SELECT a.id, m.month, m.metric, SUM(s.sign * m.value) FROM moved m "
                f"JOIN s ON s.organization_id = m.organization_id JOIN branches_organization a ON a.path = s.path "
                f"WHERE m.value <> 0 GROUP BY a.id, m.month, m.metric HAVING SUM(s.sign * m.value) <> 0"
            )
            cursor.execute(upsert_sql(select, table), params)


@contextmanager
def _without_jit(cursor):
    """PostgreSQL compiles the shift of thousands of subtrees (its estimate is large) for longer
    than it takes to run, and sorts its deltas on disk: no JIT and more memory for it, then the
    transaction's own settings again."""
    if connection.vendor != "postgresql":
        yield
        return
    cursor.execute("SELECT current_setting('jit'), current_setting('work_mem')")
    jit, work_mem = cursor.fetchone()
    cursor.execute("SELECT set_config('jit', 'off', true), set_config('work_mem', '64MB', true)")
    yield  # (an error rolls the settings back with the statement's transaction or savepoint)
    cursor.execute("SELECT set_config('jit', %s, true), set_config('work_mem', %s, true)", [jit, work_mem])
