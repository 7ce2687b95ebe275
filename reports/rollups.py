"""The maintained roll-up table of the reports: events per organisation subtree, month and metric.

``Rollup(organization, month, metric, value)`` counts the events of DOMAIN.md rule 3 that
happened in ``organization`` *or anywhere below it* in that calendar month. A fulfilment report
of organisation X therefore reads the rows of X and of its children only (a few thousand rows
at the national root), instead of aggregating hundreds of thousands of raw rows.

Kept exact:

* every single-record write (the service functions, the admin, the API, factories) goes through
  ``Model.save()``/``delete()``; the signal handlers below turn the change into a delta (one SQL
  statement adding or subtracting at the organisation and its ancestors);
* moving an organisation moves its subtree's totals from its old ancestors to its new ones (its
  own rows and those below it stay: they follow the tree);
* bulk loaders (``bulk_create``/COPY: the demo loader, the importers, the scale generator) call
  :func:`apply_members` or :func:`rebuild` after writing;
* :func:`differences` recounts everything from the raw tables (``manage.py verify_rollups``).

Reports read them through :func:`count_actuals` (the engine's actuals function): whole months
from the roll-ups, and the days of a month cut by the start or the end from the raw tables, so
any ``[start, end]`` is exact. A cut month is read from its roll-up row all the same when no
event is dated in the days cut off (one probe query): a report up to today needs no raw count.
"""

import datetime
import os
from collections import Counter, defaultdict

from django.db import connection, transaction
from django.db.models import Sum
from django.db.models.signals import post_delete, post_init, post_save, pre_delete

from branches.choices import GRASSROOTS_KINDS
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

_enabled = True

#: The cache key of the data version: a counter every write to the reports' source tables bumps.
DATA_VERSION_KEY = "reports:data-version"


def data_version():
    """The current data version (an integer); cached reports are keyed by it, so any write invalidates them."""
    from django.core.cache import cache

    version = cache.get(DATA_VERSION_KEY)
    if version is None:
        # First use, or evicted: start from a fresh random value so that no entry of before is reused.
        cache.add(DATA_VERSION_KEY, int.from_bytes(os.urandom(6), "big"), timeout=None)
        version = cache.get(DATA_VERSION_KEY)
    return version


def bump_data_version():
    """A write happened: bump now and once more after the commit (a report computed while the
    transaction was open, before its rows were visible, must not be reused afterwards)."""
    _bump()
    pending = transaction.get_connection().run_on_commit
    if not any(entry[1] is _bump for entry in pending):  # once per transaction, however many rows it writes
        transaction.on_commit(_bump)


def _bump():
    from django.core.cache import cache

    try:
        cache.incr(DATA_VERSION_KEY)
    except ValueError:  # not set yet (or evicted)
        data_version()
        cache.incr(DATA_VERSION_KEY)


def _data_changed(sender, **kwargs):
    if kwargs.get("raw"):
        return
    bump_data_version()


def month_of(day):
    return day.replace(day=1)


# SQL helpers (PostgreSQL and SQLite) ------------------------------------------------------


def _table():
    from reports.models import Rollup

    return Rollup._meta.db_table


def _month_sql(column):
    if connection.vendor == "postgresql":
        return f"CAST(date_trunc('month', {column}) AS date)"
    return f"date({column}, 'start of month')"


def _date_sql(expression):
    return f"CAST({expression} AS date)" if connection.vendor == "postgresql" else expression


def _levels_sql():
    return "(VALUES " + ", ".join(f"({k})" for k in range(1, MAX_DEPTH + 1)) + ")"


def _upsert_sql(select_sql):
    table = _table()
    return (
        f"INSERT INTO {table} (organization_id, month, metric, value) {select_sql} "
        f"ON CONFLICT (organization_id, month, metric) DO UPDATE SET value = {table}.value + excluded.value"
    )


def _add(organization_id, deltas, *, include_self=True, path=None):
    """Add ``deltas`` ``[(day, metric, n)]`` at the organisation (or ``path``) and all its ancestors."""
    totals = defaultdict(int)
    for day, metric, n in deltas:
        if n:
            totals[(month_of(day), str(metric))] += n
    totals = {key: n for key, n in totals.items() if n}
    if not totals or not _enabled:
        return
    values = ", ".join(["(%s, %s, %s)"] * len(totals))
    params = [p for (month, metric), n in totals.items() for p in (month, metric, n)]
    bound = "<=" if include_self else "<"
    if path is None:
        source = "SELECT path FROM branches_organization WHERE id = %s"
        params.append(organization_id)
    else:
        source = "SELECT %s AS path"
        params.append(path)
    select = (
        f"SELECT a.id, {_date_sql('v.column1')}, v.column2, SUM(v.column3) "
        f"FROM ({source}) o JOIN {_levels_sql()} lv ON lv.column1 * {STEPLEN} {bound} LENGTH(o.path) "
        f"JOIN branches_organization a ON a.path = SUBSTR(o.path, 1, lv.column1 * {STEPLEN}) "
        f"CROSS JOIN (VALUES {values}) v WHERE a.id IS NOT NULL "
        f"GROUP BY a.id, v.column1, v.column2"
    )
    # The VALUES list comes after the source in the SQL text: reorder the parameters to match.
    source_params = params[-1:]
    value_params = params[:-1]
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(select), source_params + value_params)


def _shift_subtree(organization_id, old_path, new_path):
    """An organisation moved: its subtree totals leave its old ancestors and join its new ones."""
    old_ancestors = {old_path[:end] for end in range(STEPLEN, len(old_path), STEPLEN)}
    new_ancestors = {new_path[:end] for end in range(STEPLEN, len(new_path), STEPLEN)}
    table = _table()
    with connection.cursor() as cursor:
        for paths, sign in ((old_ancestors - new_ancestors, -1), (new_ancestors - old_ancestors, 1)):
            if not paths:
                continue
            marks = ", ".join(["%s"] * len(paths))
            select = (
                f"SELECT a.id, r.month, r.metric, {sign} * r.value FROM {table} r "
                f"CROSS JOIN branches_organization a WHERE r.organization_id = %s AND a.path IN ({marks})"
            )
            cursor.execute(_upsert_sql(select), [organization_id, *sorted(paths)])


# Full recount -----------------------------------------------------------------------------


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
        f"SELECT o.path, {_month_sql('o.established_on')} AS month, '{Metric.PARTY_ORGS_ESTABLISHED}' AS metric, "
        f"COUNT(*) AS n FROM branches_organization o WHERE o.kind IN ({kinds}) GROUP BY 1, 2",
        f"SELECT o.path, {_month_sql('m.admitted_on')}, '{Metric.MEMBERS_ADMITTED}', COUNT(*) "
        "FROM branches_member m JOIN branches_organization o ON o.id = m.admitted_by_id GROUP BY 1, 2",
        f"SELECT o.path, {_month_sql('m.admitted_on')}, '{Metric.OWNERS_ADMITTED}', COUNT(*) "
        "FROM branches_member m JOIN branches_organization o ON o.id = m.admitted_by_id "
        "WHERE m.owner_at_admission GROUP BY 1, 2",
        f"SELECT c.path, {_month_sql('mo.established_on')}, '{Metric.MASS_ORGS_ESTABLISHED}', COUNT(*) "
        f"{committee} GROUP BY 1, 2",
        f"SELECT c.path, {_month_sql('r.date')}, '{Metric.MASS_ORG_MEMBERS_ADMITTED}', SUM(r.members_admitted) "
        f"{returns} GROUP BY 1, 2",
    ]
    for kind, metric in ESTABLISHED_BY_KIND.items():
        parts.append(
            f"SELECT c.path, {_month_sql('mo.established_on')}, '{metric}', COUNT(*) "
            f"{committee} WHERE mo.kind = '{kind}' GROUP BY 1, 2"
        )
    for kind, metric in ADMITTED_BY_KIND.items():
        parts.append(
            f"SELECT c.path, {_month_sql('r.date')}, '{metric}', SUM(r.members_admitted) "
            f"{returns} WHERE mo.kind = '{kind}' GROUP BY 1, 2"
        )
    return " UNION ALL ".join(parts)


def recount_sql():
    """SELECT organization_id, month, metric, value of the exact roll-ups (non-zero rows only)."""
    return (
        f"SELECT a.id AS organization_id, s.month AS month, s.metric AS metric, SUM(s.n) AS value "
        f"FROM ({_event_sources_sql()}) s "
        f"JOIN {_levels_sql()} lv ON lv.column1 * {STEPLEN} <= LENGTH(s.path) "
        f"JOIN branches_organization a ON a.path = SUBSTR(s.path, 1, lv.column1 * {STEPLEN}) "
        f"GROUP BY a.id, s.month, s.metric HAVING SUM(s.n) <> 0"
    )


@transaction.atomic
def rebuild():
    """Recount every roll-up from the raw tables (after bulk loads, or ``verify_rollups --repair``)."""
    table = _table()
    with connection.cursor() as cursor:
        _more_memory(cursor)
        cursor.execute(f"DELETE FROM {table}")
        cursor.execute(f"INSERT INTO {table} (organization_id, month, metric, value) {recount_sql()}")
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {table}")
    bump_data_version()


def _more_memory(cursor):
    if connection.vendor == "postgresql":
        cursor.execute("SET LOCAL work_mem = '256MB'")


@transaction.atomic
def differences(limit=50):
    """Where the table and a full recount disagree: ``(count, [(org id, month, metric, stored, exact)])``."""
    table = _table()
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
    return len(details), details[:limit]


# Bulk loaders -----------------------------------------------------------------------------


def apply_members(member_ids):
    """Count the admissions of members just written in bulk (importers): one statement."""
    ids = list(member_ids)
    if not ids or not _enabled:
        return
    bump_data_version()
    postgres = connection.vendor == "postgresql"
    # PostgreSQL: the ids as one array parameter (a 20,000-placeholder IN list costs seconds to parse).
    size = len(ids) if postgres else 20_000
    with connection.cursor() as cursor:
        for chunk_start in range(0, len(ids), size):
            chunk = ids[chunk_start : chunk_start + size]
            marks = "SELECT unnest(CAST(%s AS bigint[]))" if postgres else ", ".join(["%s"] * len(chunk))
            params = [chunk, chunk] if postgres else chunk + chunk
            source = (
                f"SELECT o.path AS path, {_month_sql('m.admitted_on')} AS month, "
                f"'{Metric.MEMBERS_ADMITTED}' AS metric, COUNT(*) AS n "
                f"FROM branches_member m JOIN branches_organization o ON o.id = m.admitted_by_id "
                f"WHERE m.id IN ({marks}) GROUP BY 1, 2 UNION ALL "
                f"SELECT o.path, {_month_sql('m.admitted_on')}, '{Metric.OWNERS_ADMITTED}', COUNT(*) "
                f"FROM branches_member m JOIN branches_organization o ON o.id = m.admitted_by_id "
                f"WHERE m.id IN ({marks}) AND m.owner_at_admission GROUP BY 1, 2"
            )
            select = (
                f"SELECT a.id, s.month, s.metric, SUM(s.n) FROM ({source}) s "
                f"JOIN {_levels_sql()} lv ON lv.column1 * {STEPLEN} <= LENGTH(s.path) "
                f"JOIN branches_organization a ON a.path = SUBSTR(s.path, 1, lv.column1 * {STEPLEN}) "
                f"WHERE a.id IS NOT NULL GROUP BY a.id, s.month, s.metric"
            )
            cursor.execute(_upsert_sql(select), params)


def apply_admissions(admissions):
    """Count admissions written in bulk, given as ``(admitting organisation id, admitted on, owner
    at admission)``: grouped here by organisation and month, then one grouped INSERT … ON CONFLICT
    (no scan of the member rows; the admitting organisations' ancestors are read from the table,
    once per organisation)."""
    admitted, owners = str(Metric.MEMBERS_ADMITTED), str(Metric.OWNERS_ADMITTED)
    months = {}  # an import's rows share a few thousand dates at most
    totals = defaultdict(int)
    for (organization_id, admitted_on, owner), n in Counter(admissions).items():
        month = months.get(admitted_on)
        if month is None:
            month = months[admitted_on] = month_of(admitted_on)
        totals[(organization_id, month, admitted)] += n
        if owner:
            totals[(organization_id, month, owners)] += n
    if not totals or not _enabled:
        return
    bump_data_version()
    rows = [(*key, n) for key, n in totals.items()]
    postgres = connection.vendor == "postgresql"
    size = len(rows) if postgres else 200  # SQLite: at most 999 parameters
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            if postgres:
                values = (
                    "unnest(CAST(%s AS bigint[]), CAST(%s AS date[]), CAST(%s AS text[]), CAST(%s AS bigint[])) "
                    "AS s(organization_id, month, metric, n)"
                )
                params = [list(column) for column in zip(*chunk, strict=True)]
            else:
                values = (
                    "(SELECT column1 AS organization_id, column2 AS month, column3 AS metric, column4 AS n "
                    "FROM (VALUES " + ", ".join(["(%s, %s, %s, %s)"] * len(chunk)) + ")) s"
                )
                params = [value for row in chunk for value in row]
            # The ancestors (and self) of each admitting organisation, looked up once per
            # organisation rather than once per (organisation, month, metric) row.
            select = (
                f"WITH s AS (SELECT * FROM {values}), "
                f"up AS (SELECT o.id AS organization_id, a.id AS ancestor_id "
                f"FROM (SELECT DISTINCT organization_id FROM s) d "
                f"JOIN branches_organization o ON o.id = d.organization_id "
                f"JOIN {_levels_sql()} lv ON lv.column1 * {STEPLEN} <= LENGTH(o.path) "
                f"JOIN branches_organization a ON a.path = SUBSTR(o.path, 1, lv.column1 * {STEPLEN})) "
                f"SELECT up.ancestor_id, s.month, s.metric, SUM(s.n) FROM s "
                f"JOIN up ON up.organization_id = s.organization_id "
                f"WHERE up.ancestor_id IS NOT NULL GROUP BY up.ancestor_id, s.month, s.metric"
            )
            cursor.execute(_upsert_sql(select), params)


class suspended:
    """Turn the signal handlers off while a bulk loader writes; call :func:`rebuild` afterwards."""

    def __enter__(self):
        global _enabled
        self._previous, _enabled = _enabled, False
        return self

    def __exit__(self, *exc):
        global _enabled
        _enabled = self._previous


# Reading (the engine's actuals) -----------------------------------------------------------


def _month_end(day):
    return (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - datetime.timedelta(days=1)


def _nothing_dated_in(ranges):
    """For each ``(first, last)`` of ``ranges``: whether no roll-up event is dated in it (one query
    of indexed probes: the admissions, the organisations established, the mass organisations
    established and the membership returns)."""
    if not ranges:
        return []
    grassroots = ", ".join(f"'{kind}'" for kind in GRASSROOTS_KINDS)
    probes = [
        ("branches_member", "admitted_on", ""),
        ("branches_organization", "established_on", f" AND kind IN ({grassroots})"),
        ("enterprises_massorganization", "established_on", ""),
        ("enterprises_membershipreturn", "date", ""),
    ]
    columns, params = [], []
    for first, last in ranges:
        exists = " OR ".join(
            f"EXISTS (SELECT 1 FROM {table} WHERE {column} BETWEEN %s AND %s{extra})"  # noqa: S608
            for table, column, extra in probes
        )
        columns.append(f"CASE WHEN {exists} THEN 0 ELSE 1 END")
        params += [first, last] * len(probes)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(columns), params)
        return [bool(value) for value in cursor.fetchone()]


def _whole_months(start, end):
    """``((first, last) or None, edges)``: the months (first days) whose roll-up rows count for
    ``[start, end]``, and the partial days ``[(from, to)]`` to count from the raw tables.

    A month cut by ``start`` or ``end`` is still read whole from its roll-up row when no event is
    dated in the part of it outside ``[start, end]`` (checked in one query): the usual report up
    to today then needs no raw count at all, since nothing is dated after today.
    """
    lead = (month_of(start), start - datetime.timedelta(days=1)) if start.day != 1 else None
    tail = (end + datetime.timedelta(days=1), _month_end(end)) if end != _month_end(end) else None
    clean = iter(_nothing_dated_in([edge for edge in (lead, tail) if edge]))
    lead_clean = lead is None or next(clean)
    tail_clean = tail is None or next(clean)
    first = month_of(start) if lead_clean else month_of(_month_end(start) + datetime.timedelta(days=1))
    last = month_of(end) if tail_clean else month_of(month_of(end) - datetime.timedelta(days=1))
    if first > last:
        return None, [(start, end)]
    edges = []
    if not lead_clean:
        edges.append((start, first - datetime.timedelta(days=1)))
    if not tail_clean:
        edges.append((month_of(end), end))
    return (first, last), edges


def count_actuals(organization, start, end, raw_count=None):
    """``{child path: {metric: n}}`` for ``[start, end]`` like ``reports.engine.count_actuals``.

    Whole months come from the roll-ups (one query over the organisation and its children);
    the days of partial months at either end are counted from the raw tables by ``raw_count``
    (the engine's raw counter). Keys: the child's path, or the organisation's own path for its
    own events.
    """
    from reports.models import Rollup

    months, edges = _whole_months(start, end)
    result = defaultdict(lambda: defaultdict(int))
    if months is not None:
        first, last = months
        rows = (
            Rollup.objects.filter(
                organization__path__startswith=organization.path,
                organization__depth__in=(organization.depth, organization.depth + 1),
                month__range=(first, last),
            )
            .order_by()
            .values_list("organization__path", "metric")
            .annotate(total=Sum("value"))
        )
        own_total = defaultdict(int)
        children_total = defaultdict(int)
        for path, metric, total in rows:
            if path == organization.path:
                own_total[metric] += total
            else:
                result[path][metric] += total
                children_total[metric] += total
        for metric, total in own_total.items():
            if total - children_total[metric]:
                result[organization.path][metric] += total - children_total[metric]
    if edges:
        if raw_count is None:
            from reports.engine import raw_count_actuals as raw_count
        for edge_start, edge_end in edges:
            for path, values in raw_count(organization, edge_start, edge_end).items():
                for metric, n in values.items():
                    if n:
                        result[path][metric] += n
    return {path: dict(values) for path, values in result.items() if any(values.values())}


def admissions_by_month(organization, start, end, raw_count=None):
    """Members admitted in the subtree per calendar month of ``[start, end]``: ``{month number: n}``.

    Whole months from the organisation's own roll-up rows, partial months from ``raw_count``
    (the engine's raw ``admissions_by_month``).
    """
    from reports.models import Rollup

    counts = defaultdict(int)
    months, edges = _whole_months(start, end)
    if months is not None:
        first, last = months
        rows = (
            Rollup.objects.filter(organization=organization, metric=Metric.MEMBERS_ADMITTED, month__range=(first, last))
            .order_by()
            .values_list("month", "value")
        )
        for month, value in rows:
            counts[month.month] += value
    for edge_start, edge_end in edges:
        if edge_start <= edge_end:
            if raw_count is None:
                from reports.engine import raw_admissions_by_month as raw_count
            for month, n in raw_count(organization, edge_start, edge_end).items():
                counts[month] += n
    return {month: n for month, n in counts.items() if n}


# Signal handlers --------------------------------------------------------------------------

_SNAPSHOT = "_rollup_snapshot"


def _snapshot(instance, fields):
    values = instance.__dict__
    setattr(instance, _SNAPSHOT, tuple(values.get(f) for f in fields) if instance.pk else None)


MEMBER_FIELDS = ("admitted_by_id", "admitted_on", "owner_at_admission")
ORGANIZATION_FIELDS = ("path", "kind", "established_on")
MASS_FIELDS = ("kind", "enterprise_id", "established_on")
RETURN_FIELDS = ("mass_organization_id", "date", "members_admitted")
ENTERPRISE_FIELDS = ("managing_committee_id",)


def _member_deltas(values, sign):
    admitted_by_id, admitted_on, owner = values
    deltas = [(admitted_on, Metric.MEMBERS_ADMITTED, sign)]
    if owner:
        deltas.append((admitted_on, Metric.OWNERS_ADMITTED, sign))
    return admitted_by_id, deltas


def _member_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    new = tuple(getattr(instance, f) for f in MEMBER_FIELDS)
    old = None if created else getattr(instance, _SNAPSHOT, None)
    if old != new:
        if old is not None and None not in old[:2]:
            _add(*_member_deltas(old, -1))
        _add(*_member_deltas(new, 1))
    setattr(instance, _SNAPSHOT, new)


#: The Member fields the dashboard's structure and gaps read (to count, to group, to list). A save
#: changing none of them leaves the cached figures current, so it does not bump the data version:
#: a secretary correcting a name or a Party card number does not make every dashboard recount.
#: tests/reports/test_reports_dashboard_cache.py checks that the other fields change no figure.
REPORTED_MEMBER_FIELDS = (
    *MEMBER_FIELDS,
    "is_business_owner",
    "official_on",
    "enterprise_id",
    "organization_id",
    "status",
)
_REPORTED_SNAPSHOT = "_reported_snapshot"
_UNREAD = object()  # a deferred field: its value before the save is unknown


def _snapshot_reported_member_fields(sender, instance, **kwargs):
    values = instance.__dict__
    snapshot = tuple(values.get(f, _UNREAD) for f in REPORTED_MEMBER_FIELDS) if instance.pk else None
    setattr(instance, _REPORTED_SNAPSHOT, snapshot)


def _member_data_changed(sender, instance, created, raw=False, **kwargs):
    """Bump the data version when a saved member differs in a field the reports read."""
    if raw:
        return
    new = tuple(instance.__dict__.get(f, _UNREAD) for f in REPORTED_MEMBER_FIELDS)
    old = None if created else getattr(instance, _REPORTED_SNAPSHOT, None)
    if old is None or old != new or _UNREAD in old:
        bump_data_version()
    setattr(instance, _REPORTED_SNAPSHOT, new)


def _member_deleted(sender, instance, **kwargs):
    _add(*_member_deltas(tuple(getattr(instance, f) for f in MEMBER_FIELDS), -1))


def _organization_event(kind, established_on, sign):
    if kind in GRASSROOTS_KINDS and established_on is not None:
        return [(established_on, Metric.PARTY_ORGS_ESTABLISHED, sign)]
    return []


def _organization_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    new = tuple(getattr(instance, f) for f in ORGANIZATION_FIELDS)
    old = None if created else getattr(instance, _SNAPSHOT, None)
    if created or old is None:
        _add(instance.pk, _organization_event(instance.kind, instance.established_on, 1))
    elif old != new:
        old_path, old_kind, old_established = old
        if old_path != instance.path:
            _shift_subtree(instance.pk, old_path, instance.path)
        if (old_kind, old_established) != (instance.kind, instance.established_on):
            _add(instance.pk, _organization_event(old_kind, old_established, -1))
            _add(instance.pk, _organization_event(instance.kind, instance.established_on, 1))
    setattr(instance, _SNAPSHOT, new)


def _organization_deleting(sender, instance, **kwargs):
    # An organisation with admissions or managed enterprises cannot be deleted (PROTECT), so its
    # subtree holds only establishment events: each deleted node takes its own one away.
    _add(instance.pk, _organization_event(instance.kind, instance.established_on, -1), include_self=False)


def _committee_of_enterprise(enterprise_id):
    from enterprises.models import Enterprise

    return Enterprise.objects.filter(pk=enterprise_id).values_list("managing_committee_id", flat=True).first()


def _committee_of_mass_organization(mass_organization_id):
    from enterprises.models import MassOrganization

    return (
        MassOrganization.objects.filter(pk=mass_organization_id)
        .values_list("kind", "enterprise__managing_committee_id")
        .first()
    )


def _mass_establishment(kind, established_on, sign):
    deltas = [(established_on, Metric.MASS_ORGS_ESTABLISHED, sign)]
    if kind in ESTABLISHED_BY_KIND:
        deltas.append((established_on, ESTABLISHED_BY_KIND[kind], sign))
    return deltas


def _return_deltas(kind, day, admitted, sign):
    deltas = [(day, Metric.MASS_ORG_MEMBERS_ADMITTED, sign * admitted)]
    if kind in ADMITTED_BY_KIND:
        deltas.append((day, ADMITTED_BY_KIND[kind], sign * admitted))
    return deltas


def _returns_of(mass_organization_id):
    from enterprises.models import MembershipReturn

    return list(
        MembershipReturn.objects.filter(mass_organization_id=mass_organization_id).values_list(
            "date", "members_admitted"
        )
    )


def _mass_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    new = tuple(getattr(instance, f) for f in MASS_FIELDS)
    old = None if created else getattr(instance, _SNAPSHOT, None)
    if old != new:
        if old is None:
            _add(
                _committee_of_enterprise(instance.enterprise_id),
                _mass_establishment(instance.kind, instance.established_on, 1),
            )
        else:
            old_kind, old_enterprise, old_established = old
            old_committee = _committee_of_enterprise(old_enterprise)
            new_committee = _committee_of_enterprise(instance.enterprise_id)
            _add(old_committee, _mass_establishment(old_kind, old_established, -1))
            _add(new_committee, _mass_establishment(instance.kind, instance.established_on, 1))
            if (old_kind, old_committee) != (instance.kind, new_committee):
                returns = _returns_of(instance.pk)
                _add(old_committee, [d for day, n in returns for d in _return_deltas(old_kind, day, n, -1)])
                _add(new_committee, [d for day, n in returns for d in _return_deltas(instance.kind, day, n, 1)])
    setattr(instance, _SNAPSHOT, new)


def _mass_deleted(sender, instance, **kwargs):
    _add(
        _committee_of_enterprise(instance.enterprise_id),
        _mass_establishment(instance.kind, instance.established_on, -1),
    )


def _return_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    bump_data_version()  # also called directly by the bulk writers, which send no signal
    new = tuple(getattr(instance, f) for f in RETURN_FIELDS)
    old = None if created else getattr(instance, _SNAPSHOT, None)
    if old != new:
        if old is not None:
            kind, committee = _committee_of_mass_organization(old[0])
            _add(committee, _return_deltas(kind, old[1], old[2], -1))
        kind, committee = _committee_of_mass_organization(instance.mass_organization_id)
        _add(committee, _return_deltas(kind, instance.date, instance.members_admitted, 1))
    setattr(instance, _SNAPSHOT, new)


def _return_deleted(sender, instance, **kwargs):
    found = _committee_of_mass_organization(instance.mass_organization_id)
    if found:
        kind, committee = found
        _add(committee, _return_deltas(kind, instance.date, instance.members_admitted, -1))


def _enterprise_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    bump_data_version()  # also called directly by the bulk writers, which send no signal
    old = None if created else getattr(instance, _SNAPSHOT, None)
    if old is not None and old[0] != instance.managing_committee_id:
        from enterprises.models import MassOrganization

        deltas = []
        for mass_id, kind, established_on in MassOrganization.objects.filter(enterprise=instance).values_list(
            "pk", "kind", "established_on"
        ):
            deltas += _mass_establishment(kind, established_on, 1)
            deltas += [d for day, n in _returns_of(mass_id) for d in _return_deltas(kind, day, n, 1)]
        _add(old[0], [(day, metric, -n) for day, metric, n in deltas])
        _add(instance.managing_committee_id, deltas)
    setattr(instance, _SNAPSHOT, (instance.managing_committee_id,))


def _snapshotter(fields):
    def handler(sender, instance, **kwargs):
        _snapshot(instance, fields)

    return handler


_HANDLERS = []


def connect():
    """Connect the signal handlers (called from ``ReportsConfig.ready``)."""
    from branches.models import Member, MembershipPeriod, Organization
    from enterprises.models import Enterprise, MassOrganization, MembershipReturn

    for model, fields, saved, deleted, deleting in (
        (Member, MEMBER_FIELDS, _member_saved, _member_deleted, None),
        (Organization, ORGANIZATION_FIELDS, _organization_saved, None, _organization_deleting),
        (MassOrganization, MASS_FIELDS, _mass_saved, _mass_deleted, None),
        (MembershipReturn, RETURN_FIELDS, _return_saved, _return_deleted, None),
        (Enterprise, ENTERPRISE_FIELDS, _enterprise_saved, None, None),
    ):
        snap = _snapshotter(fields)
        _HANDLERS.append(snap)
        post_init.connect(snap, sender=model, dispatch_uid=f"rollup-init-{model.__name__}")
        post_save.connect(saved, sender=model, dispatch_uid=f"rollup-save-{model.__name__}")
        if deleted:
            post_delete.connect(deleted, sender=model, dispatch_uid=f"rollup-delete-{model.__name__}")
        if deleting:
            pre_delete.connect(deleting, sender=model, dispatch_uid=f"rollup-deleting-{model.__name__}")
    # Any write to a source of the structure and gaps reports bumps the data version (even the
    # fields the roll-ups ignore: a member's status, an enterprise's operating status, a period),
    # except a member's save that changes none of the fields the reports read.
    post_init.connect(_snapshot_reported_member_fields, sender=Member, dispatch_uid="data-version-init-Member")
    post_save.connect(_member_data_changed, sender=Member, dispatch_uid="data-version-save-Member")
    for model in (MembershipPeriod, Organization, Enterprise, MassOrganization, MembershipReturn):
        post_save.connect(_data_changed, sender=model, dispatch_uid=f"data-version-save-{model.__name__}")
    for model in (Member, MembershipPeriod, Organization, Enterprise, MassOrganization, MembershipReturn):
        post_delete.connect(_data_changed, sender=model, dispatch_uid=f"data-version-delete-{model.__name__}")
