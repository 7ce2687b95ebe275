"""Reading the roll-ups: the engine's actuals of any ``[start, end]``.

Whole months come from the roll-up rows, and the days of a month cut by the start or the end
from the raw tables (the engine's raw counters, passed in: this module does not import the
engine), so any ``[start, end]`` is exact. A cut month is read from its roll-up row all the same
when no event is dated in the days cut off (one probe query): a report up to today needs no raw
count.
"""

import datetime
from collections import defaultdict

from django.db import connection
from django.db.models import Q, Sum

from branches.choices import GRASSROOTS_KINDS
from reports.metrics import Metric
from reports.models import Rollup
from reports.rollups.common import STEPLEN, month_of


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


def whole_months(start, end):
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


def count_actuals(organization, start, end, *, raw_count):
    """``{child path: {metric: n}}`` for ``[start, end]`` like ``reports.engine.count_actuals``.

    Whole months come from the roll-ups (one query over the organisation and its children);
    the days of partial months at either end are counted from the raw tables by ``raw_count``
    (the engine's raw counter). Keys: the child's path, or the organisation's own path for its
    own events.
    """
    months, edges = whole_months(start, end)
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
        for edge_start, edge_end in edges:
            for path, values in raw_count(organization, edge_start, edge_end).items():
                for metric, n in values.items():
                    if n:
                        result[path][metric] += n
    return {path: dict(values) for path, values in result.items() if any(values.values())}


def subtree_totals(organization, anchors, start, end, *, raw_count):
    """``{path: {metric: n}}``: the events of ``[start, end]`` in today's subtree of
    ``organization``, of each organisation directly below it and of each of ``anchors``
    (``{path: organisation id}``), for the engine to map onto the tree of another date.

    Whole months from the roll-ups (one query), the days of partial months from ``raw_count``
    (``raw_count(first, last)`` → ``{path: {metric: n}}`` by the organisation counted for).
    """
    months, edges = whole_months(start, end)
    result = defaultdict(lambda: defaultdict(int))
    if months is not None:
        first, last = months
        rows = (
            Rollup.objects.filter(
                Q(
                    organization__path__startswith=organization.path,
                    organization__depth__in=(organization.depth, organization.depth + 1),
                )
                | Q(organization_id__in=sorted(anchors.values())),
                month__range=(first, last),
            )
            .order_by()
            .values_list("organization__path", "metric")
            .annotate(total=Sum("value"))
        )
        for path, metric, total in rows:
            result[path][metric] += total
    child_length = len(organization.path) + STEPLEN
    for edge_start, edge_end in edges:
        for path, values in raw_count(edge_start, edge_end).items():
            keys = {path[:cut] for cut in range(STEPLEN, len(path) + 1, STEPLEN) if path[:cut] in anchors}
            if path.startswith(organization.path):
                keys.add(organization.path)
                if len(path) >= child_length:
                    keys.add(path[:child_length])
            for key in keys:
                for metric, n in values.items():
                    result[key][metric] += n
    return {path: dict(values) for path, values in result.items() if any(values.values())}


def admissions_by_month(organization, start, end, *, raw_count):
    """Members admitted in the subtree per calendar month of ``[start, end]``: ``{month number: n}``.

    Whole months from the organisation's own roll-up rows, partial months from ``raw_count``
    (the engine's raw ``admissions_by_month``).
    """
    counts = defaultdict(int)
    months, edges = whole_months(start, end)
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
            for month, n in raw_count(organization, edge_start, edge_end).items():
                counts[month] += n
    return {month: n for month, n in counts.items() if n}
