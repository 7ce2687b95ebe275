"""Statutory statistics: completeness of the member profile (form 2-HSĐV), member movement (the
content of form 1-BTCTW) and new admissions (the content of form 3-BTCTW).

Plain functions returning plain data (dataclasses of whole numbers, the organisations they are
about); the pages, the API, the CLI and the exports render them. Each reads a fixed number of
queries whatever the size of the subtree.

Member movement is read from the membership periods (``[started_on, ended_on)``). For a unit (an
organisation's subtree) and a period ``[start, end]``:

- members at the start are those in the unit at the end of the day before ``start``, members at
  the end those in it at the end of ``end``;
- every period of the unit that starts inside the range is an addition, every one that ends inside
  it a removal, except a *move inside the unit*: a period ended by a transfer or a dissolution
  followed on the same day by a period in the same unit (a transfer or a merger), or a transfer
  whose letter and presentation both fall inside the range (the member was in transit between
  them). Both halves of such a move are left out or neither is: start + additions − removals = end
  holds for every row by construction (and the tests check it on data). Otherwise a transfer counts
  out at the sender on the day its membership ended (the letter's date) and in at the receiver on
  the day the letter was presented.
- An addition is an *admission* (the member's first period, starting on the admission date), a
  *transfer in* (from outside the unit, or a first period recorded after the admission: the member
  came from outside the records) or a *restoration* (a period after one that ended by leaving the
  Party). A removal is by the reason its period ended: died, expelled, struck off (of which
  probationary members not recognised), resigned, or transferred out (to another organisation
  outside the unit, to the place of residence, or with a dissolved organisation).
- The change against the previous year compares members at the end with members at the same day
  a year earlier, in percent.

Both forms are counted in the database: the members on the three dates in one pass over the
periods, the movements by grouping each period that starts or ends in the range with the periods
before and after it (``LAG`` and ``LEAD`` over every period of the members moving), the admissions
by grouping the members admitted. The rules are also written in Python, period by period and
member by member (:func:`raw_member_movement`, :func:`raw_new_admissions`): the tests compare both
on random histories.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Case, Count, F, Q, When
from django.db.models.functions import ExtractDay, ExtractMonth, ExtractYear, Substr
from django.db.models.lookups import LessThan
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branches.choices import (
    ETHNICITY_FOREIGN,
    ETHNICITY_KINH,
    MEMBER_PROFILE_FIELDS,
    MemberStatus,
    PeriodEndReason,
)
from branches.models import Member, MembershipPeriod, Organization
from core.dates import add_years
from reports.dated_tree import dated_tree, subtree_q
from reports.engine import _child_key, _children, _room_for_aggregates, children_on
from reports.formatting import percent_of
from reports.rollups import statistics as statistic_counts
from reports.statistics_rules import (
    AGE_GROUPS,
    LEFT_PARTY_REASONS,
    MOVE_REASONS,
    RECORDED,
    REMOVAL_BY_REASON,
    admission_keys,
)

# Data completeness of the member profile ---------------------------------------------------


def _missing_q(name):
    if name == "youth_union_member_at_admission":
        return Q(youth_union_member_at_admission__isnull=True)
    return Q(**{name: ""})


@dataclass
class CompletenessRow:
    organization: Organization
    members: int = 0
    complete: int = 0
    missing: dict = field(default_factory=dict)  # profile field → members without it

    @property
    def percent(self):
        """Share of the active members whose profile is complete (None without members)."""
        return percent_of(self.complete, self.members)


@dataclass
class CompletenessReport:
    organization: Organization
    total: CompletenessRow
    children: list


def data_completeness(organization):
    """How complete the profile (form 2-HSĐV) of the active members of ``organization``'s subtree is,
    per organisation directly below it and in total: members, members with a complete profile, and
    members missing each field. One query."""
    incomplete = Q()
    for name in MEMBER_PROFILE_FIELDS:
        incomplete |= _missing_q(name)
    aggregates = {"members": Count("pk"), "complete": Count("pk", filter=~incomplete)}
    aggregates |= {f"missing_{name}": Count("pk", filter=_missing_q(name)) for name in MEMBER_PROFILE_FIELDS}
    rows = (
        Member.objects.filter(organization__path__startswith=organization.path, status=MemberStatus.ACTIVE)
        .order_by()
        .annotate(_key=_child_key(organization, "organization__path"))
        .values("_key")
        .annotate(**aggregates)
    )
    groups = {row.pop("_key"): row for row in rows}

    def build(org, values_list):
        row = CompletenessRow(organization=org, missing=dict.fromkeys(MEMBER_PROFILE_FIELDS, 0))
        for values in values_list:
            row.members += values["members"]
            row.complete += values["complete"]
            for name in MEMBER_PROFILE_FIELDS:
                row.missing[name] += values[f"missing_{name}"]
        return row

    children = [
        build(child, [groups[child.path]] if child.path in groups else [])
        for child in _children(organization)
        if child.path in groups or child.dissolved_on is None
    ]
    return CompletenessReport(organization=organization, total=build(organization, groups.values()), children=children)


# Member movement (form 1-BTCTW) -------------------------------------------------------------

ADDITIONS = ("admitted", "transferred_in", "restored")
REMOVALS = ("died", "expelled", "struck_off", "resigned", "transferred_out")


@dataclass
class MovementRow:
    organization: Organization
    at_start: int = 0
    admitted: int = 0
    transferred_in: int = 0
    restored: int = 0
    died: int = 0
    expelled: int = 0
    struck_off: int = 0
    struck_off_probationary: int = 0  # of which probationary members not recognised
    resigned: int = 0
    transferred_out: int = 0
    at_end: int = 0
    previous_year_end: int = 0  # members at the same day a year before the end

    @property
    def additions(self):
        return self.admitted + self.transferred_in + self.restored

    @property
    def removals(self):
        return self.died + self.expelled + self.struck_off + self.resigned + self.transferred_out

    @property
    def balanced(self):
        return self.at_start + self.additions - self.removals == self.at_end

    @property
    def change_percent(self):
        """Members at the end against a year earlier, in percent, rounded half-up to one decimal
        (None when there were none a year earlier)."""
        if not self.previous_year_end:
            return None
        return percent_of(self.at_end - self.previous_year_end, self.previous_year_end)


@dataclass
class MovementReport:
    organization: Organization
    start: datetime.date
    end: datetime.date
    total: MovementRow
    children: list


def check_period(start, end):
    if start is None or end is None:
        raise ValueError(_("Give the start and the end of the period."))
    if start > end:
        raise ValueError(_("The start %(start)s comes after the end %(end)s.") % {"start": start, "end": end})


def half_year(year, half):
    """``(start, end)`` of the first (1) or second (2) half of ``year``."""
    if half == 1:
        return datetime.date(year, 1, 1), datetime.date(year, 6, 30)
    if half == 2:
        return datetime.date(year, 7, 1), datetime.date(year, 12, 31)
    raise ValueError(_("A half-year is 1 or 2."))


class _Units:
    """The rows of a statutory report: each of today's paths counts for the organisation directly
    below the report's organisation on ``tree``'s date (its end date), or for that organisation
    itself; None outside its subtree then. Without restructurings since, the prefix of the path."""

    def __init__(self, organization, tree):
        self.top = organization.path
        self.tree = tree
        self.length = (organization.depth + 1) * Organization.steplen
        self.anchors, self.outside = tree.anchors(self.top) if tree.moved else (set(), [])
        self.dated = bool(self.anchors)
        self._rows = {}

    def q(self, lookup):
        """The filter of the rows whose ``lookup`` (a path) may lie in the subtree on the date."""
        return subtree_q(lookup, self.top, self.outside)

    def key(self, lookup):
        """What to group by in the database: the path itself on a dated tree, else the prefix."""
        return F(lookup) if self.dated else Substr(lookup, 1, self.length)

    def where_sql(self, column):
        """``(sql, params)``: :meth:`q` on the path ``column`` of a statement."""
        paths = [self.top, *self.outside]
        return "(" + " OR ".join([f"{column} LIKE %s"] * len(paths)) + ")", [f"{path}%" for path in paths]

    def key_sql(self, column):
        """:meth:`key` on the path ``column`` of a statement."""
        return column if self.dated else f"SUBSTR({column}, 1, {self.length})"

    def row(self, path):
        if not self.dated:
            if not path.startswith(self.top):
                return None
            return path[: self.length] if len(path) > len(self.top) else self.top
        if path not in self._rows:
            self._rows[path] = self.tree.row_of(path, self.top)
        return self._rows[path]

    def regroup(self, groups):
        """``{row: n}`` from ``{key: n}``."""
        if not self.dated:
            return groups
        rows = defaultdict(int)
        for key, n in groups.items():
            row = self.row(key)
            if row is not None:
                rows[row] += n
        return dict(rows)


def _members_on(units, dates):
    """``{date: {row path: members in the periods in force at the end of date}}`` of the subtree for
    each of ``dates``: one pass over the periods (one query, whatever the number of dates)."""
    dates = sorted(set(dates))
    periods, organizations = MembershipPeriod._meta.db_table, Organization._meta.db_table
    where, where_params = units.where_sql("o.path")
    key = units.key_sql("o.path")
    in_force = ", ".join(
        ["SUM(CASE WHEN p.started_on <= %s AND (p.ended_on IS NULL OR p.ended_on > %s) THEN 1 ELSE 0 END)"] * len(dates)
    )
    sql = (
        f"SELECT {key}, {in_force} FROM {periods} p INNER JOIN {organizations} o ON o.id = p.organization_id "
        f"WHERE {where} AND p.started_on <= %s GROUP BY {key}"
    )
    params = [date for date in dates for _twice in range(2)] + where_params + [dates[-1]]
    groups = {date: {} for date in dates}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for key, *counts in cursor.fetchall():
            for date, n in zip(dates, counts, strict=True):
                if n:
                    groups[date][key] = int(n)
    return {date: units.regroup(counted) for date, counted in groups.items()}


def _raw_members_on(units, date):
    """``{row path: members in the periods in force at the end of date}`` of the subtree."""
    rows = (
        MembershipPeriod.objects.filter(units.q("organization__path"))
        .on(date)
        .order_by()
        .annotate(_key=units.key("organization__path"))
        .values("_key")
        .annotate(n=Count("pk"))
    )
    return units.regroup({row["_key"]: row["n"] for row in rows})


def _quoted(values):
    return ", ".join(f"'{value}'" for value in sorted(values))


def _movements_sql(units):
    """``(sql, params)`` of SELECT key, other key, column, n, of which probationary: the additions and
    removals of the subtree's periods in ``[start, end]`` (named parameters ``start`` and ``end``),
    grouped by the row key of the period's organisation, the row key of the organisation a linked
    move came from or went to (NULL otherwise) and the column it counts in. The neighbours of each
    period come from a window over every period of the members moving, ordered as the rules read
    them (by start, then id)."""
    periods, organizations, members = (
        MembershipPeriod._meta.db_table,
        Organization._meta.db_table,
        Member._meta.db_table,
    )
    paths = [units.top, *units.outside]
    names = {f"path{index}": f"{path}%" for index, path in enumerate(paths)}

    def subtree(column):
        return "(" + " OR ".join(f"{column} LIKE %({name})s" for name in names) + ")"

    move, left = _quoted(MOVE_REASONS), _quoted(LEFT_PARTY_REASONS)
    transfer = PeriodEndReason.TRANSFER
    # ``before`` continues into the period the same day, or after a transfer in transit when both
    # the leaving and the arrival fall inside the range (``_linked``).
    linked_in = (
        f"(e.before_reason IN ({move}) AND (e.before_ended_on = e.started_on OR (e.before_reason = '{transfer}' "
        "AND e.before_ended_on >= %(start)s AND e.started_on <= %(end)s)))"
    )
    linked_out = (
        f"(e.end_reason IN ({move}) AND (e.ended_on = e.after_started_on OR (e.end_reason = '{transfer}' "
        "AND e.ended_on >= %(start)s AND e.after_started_on <= %(end)s)))"
    )
    removed = " ".join(f"WHEN '{reason}' THEN '{column}'" for reason, column in REMOVAL_BY_REASON.items())
    struck_off = PeriodEndReason.STRUCK_OFF
    sql = f"""
        WITH ordered AS (
            SELECT p.member_id, p.started_on, p.ended_on, p.end_reason, o.path,
                CASE WHEN a.id IS NULL THEN 0 ELSE 1 END AS on_admission,
                LAG(p.started_on) OVER w AS before_started_on, LAG(p.ended_on) OVER w AS before_ended_on,
                LAG(p.end_reason) OVER w AS before_reason, LAG(o.path) OVER w AS before_path,
                LEAD(p.started_on) OVER w AS after_started_on, LEAD(o.path) OVER w AS after_path
            FROM {periods} p INNER JOIN {organizations} o ON o.id = p.organization_id
            LEFT JOIN (
                SELECT id, admitted_on FROM {members} WHERE admitted_on BETWEEN %(start)s AND %(end)s
            ) a ON a.id = p.member_id AND a.admitted_on = p.started_on
            WHERE p.member_id IN (
                SELECT q.member_id FROM {periods} q INNER JOIN {organizations} qo ON qo.id = q.organization_id
                WHERE (q.started_on BETWEEN %(start)s AND %(end)s OR q.ended_on BETWEEN %(start)s AND %(end)s)
                    AND {subtree("qo.path")}
            )
            WINDOW w AS (PARTITION BY p.member_id ORDER BY p.started_on, p.id)
        ), events AS (
            SELECT e.path,
                CASE WHEN {linked_in} THEN e.before_path END AS other,
                CASE
                    WHEN {linked_in} THEN 'transferred_in'
                    WHEN e.before_started_on IS NULL THEN
                        CASE WHEN e.on_admission = 1 THEN 'admitted' ELSE 'transferred_in' END
                    WHEN e.before_reason IN ({left}) THEN 'restored'
                    ELSE 'transferred_in'
                END AS figure,
                0 AS probationary
            FROM ordered e
            WHERE e.started_on BETWEEN %(start)s AND %(end)s AND {subtree("e.path")}
            UNION ALL
            SELECT e.path,
                CASE WHEN {linked_out} THEN e.after_path END,
                CASE e.end_reason {removed} ELSE 'transferred_out' END,
                CASE WHEN e.end_reason = '{struck_off}' AND EXISTS (
                    SELECT 1 FROM {members} m
                    WHERE m.id = e.member_id AND (m.official_on IS NULL OR m.official_on > e.ended_on)
                ) THEN 1 ELSE 0 END
            FROM ordered e
            WHERE e.ended_on BETWEEN %(start)s AND %(end)s AND {subtree("e.path")}
        )
        SELECT {units.key_sql("path")}, {units.key_sql("other")}, figure, COUNT(*), SUM(probationary)
        FROM events GROUP BY 1, 2, 3
    """
    return sql, names


def _movements(units, start, end):
    """``{unit path: {column: count}}`` for the subtree (its own path) and each row's path, counted in
    the database (:func:`_movements_sql`). One query."""
    top = units.top
    counts = defaultdict(lambda: defaultdict(int))
    sql, params = _movements_sql(units)
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, "start": start, "end": end})
        rows = cursor.fetchall()
    for key, other, column, n, probationary in rows:
        row = units.row(key)
        if row is None:
            continue
        # A move counts for each unit the other end of it lies outside of.
        other_row = None if other is None else units.row(other)
        for unit in (top, row) if row != top else (top,):
            if other_row is None or (unit != top and other_row != unit):
                counts[unit][column] += n
                if probationary:
                    counts[unit]["struck_off_probationary"] += probationary
    return counts


def _periods_of_members_moving(units, start, end):
    """Every period of every member with a period of the subtree starting or ending in the range
    (the neighbouring periods tell a move from an admission, a restoration or a leaving)."""
    moving = MembershipPeriod.objects.filter(
        Q(started_on__range=(start, end)) | Q(ended_on__range=(start, end)),
        units.q("organization__path"),
    ).values("member_id")
    periods = defaultdict(list)
    for row in (
        MembershipPeriod.objects.filter(member_id__in=moving)
        .order_by("member_id", "started_on", "pk")
        .values(
            "member_id",
            "started_on",
            "ended_on",
            "end_reason",
            "organization__path",
            "member__admitted_on",
            "member__official_on",
        )
    ):
        periods[row["member_id"]].append(row)
    return periods


def _linked(before, after, start, end):
    """Whether ``after`` continues ``before``: the same day (a transfer or a merger), or after a
    transfer in transit when both the leaving and the arrival fall inside ``[start, end]``."""
    if before["end_reason"] not in MOVE_REASONS:
        return False
    if before["ended_on"] == after["started_on"]:
        return True
    return (
        before["end_reason"] == PeriodEndReason.TRANSFER and start <= before["ended_on"] and after["started_on"] <= end
    )


def _raw_movements(units, start, end):
    """``{unit path: {column: count}}`` for the subtree (its own path) and each row's path."""
    top = units.top
    counts = defaultdict(lambda: defaultdict(int))

    def inside(path, unit):
        """Whether ``path`` lies in ``unit`` (the subtree, or one of its rows) on the date."""
        row = units.row(path)
        return row is not None and (unit == top or row == unit)

    for periods in _periods_of_members_moving(units, start, end).values():
        for index, period in enumerate(periods):
            row = units.row(period["organization__path"])
            if row is None:
                continue
            members_of = (top, row) if row != top else (top,)
            before = periods[index - 1] if index else None
            after = periods[index + 1] if index + 1 < len(periods) else None
            if start <= period["started_on"] <= end:
                if before is not None and _linked(before, period, start, end):
                    column, came_from = "transferred_in", before["organization__path"]
                elif before is None:
                    admitted = period["started_on"] == period["member__admitted_on"]
                    column, came_from = ("admitted" if admitted else "transferred_in"), None
                elif before["end_reason"] in LEFT_PARTY_REASONS:
                    column, came_from = "restored", None
                else:
                    column, came_from = "transferred_in", None
                for unit in members_of:
                    if came_from is None or not inside(came_from, unit):
                        counts[unit][column] += 1
            ended_on = period["ended_on"]
            if ended_on is not None and start <= ended_on <= end:
                went_to = (
                    after["organization__path"] if after is not None and _linked(period, after, start, end) else None
                )
                column = REMOVAL_BY_REASON.get(period["end_reason"], "transferred_out")
                official_on = period["member__official_on"]
                probationary = column == "struck_off" and (official_on is None or official_on > ended_on)
                for unit in members_of:
                    if went_to is None or not inside(went_to, unit):
                        counts[unit][column] += 1
                        if probationary:
                            counts[unit]["struck_off_probationary"] += 1
    return counts


def member_movement(organization, start, end):
    """Member movement of ``organization``'s subtree in ``[start, end]`` (both included), per
    organisation directly below it on ``end`` and in total (see the module's docstring for the rules).
    Read from the maintained counts when they answer (a probe, then one query, and one for the days
    of a month up to a date inside it), else counted from the periods (:func:`sql_member_movement`)."""
    return _member_movement(organization, start, end, maintained=True)


def sql_member_movement(organization, start, end):
    """:func:`member_movement` counted from the membership periods themselves (what it reads when the
    maintained counts cannot answer: a range cutting a month in which periods begin or end, or rows
    of a tree restructured since the end date). Five queries whatever the size of the subtree (two
    read the tree of the end date), and one on PostgreSQL that gives the aggregates room."""
    return _member_movement(organization, start, end, maintained=False)


def _member_movement(organization, start, end, *, maintained):
    check_period(start, end)
    tree = dated_tree(end)
    units = _Units(organization, tree)
    dates = (start - datetime.timedelta(days=1), end, add_years(end, -1))
    if maintained and _maintained(units, start, end):
        members, moves = _maintained_movement(organization, units, start, end, dates)
    else:
        with _room_for_aggregates(MembershipPeriod.objects.db):
            counted = _members_on(units, dates)
            moves = _movements(units, start, end)
        members = [counted[date] for date in dates]
    return _movement_report(organization, start, end, tree, members, moves)


# Read from the maintained counts (reports.rollups.statistics) ------------------------------------


def _month_end(day):
    return (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - datetime.timedelta(days=1)


def _maintained(units, start, end):
    """Whether the maintained counts answer ``[start, end]`` for ``units``: its rows are today's
    subtrees (nothing restructured since the end date) and the days its first and last months lose
    hold no period beginning or ending and no admission (one query of indexed probes)."""
    if units.dated:
        return False
    cut = []
    if start.day != 1:
        cut.append((start.replace(day=1), start - datetime.timedelta(days=1)))
    if end != _month_end(end):
        cut.append((end + datetime.timedelta(days=1), _month_end(end)))
    if not cut:
        return True
    probes, params = [], []
    for first, last in cut:
        probes.append(
            f"EXISTS (SELECT 1 FROM {MembershipPeriod._meta.db_table} WHERE started_on BETWEEN %s AND %s) "  # noqa: S608
            f"OR EXISTS (SELECT 1 FROM {MembershipPeriod._meta.db_table} WHERE ended_on BETWEEN %s AND %s) "
            f"OR EXISTS (SELECT 1 FROM {Member._meta.db_table} WHERE admitted_on BETWEEN %s AND %s)"
        )
        params += [first, last] * 3
    with connection.cursor() as cursor:
        cursor.execute("SELECT CASE WHEN " + " OR ".join(probes) + " THEN 0 ELSE 1 END", params)
        return bool(cursor.fetchone()[0])


_BEGINNINGS = ("admitted", "transferred_in", "restored")
_ENDINGS = ("died", "expelled", "struck_off", "resigned", "transferred_out")


def _maintained_movement(organization, units, start, end, dates):
    """``(members, moves)`` of :func:`_movement_report` read from the roll-ups of the organisation and
    its children (one query), the members on a date inside a month from the periods beginning or
    ending in that month before it (one query per such date)."""
    first, last = start.replace(day=1), end.replace(day=1)
    # Members on each date: the beginnings less the endings of the months before its month, and of
    # its month when it is the month's last day (else the days of it from the periods).
    whole = {date: date.replace(day=1) if date != _month_end(date) else _month_end(date) for date in dates}
    sums = ", ".join(["SUM(CASE WHEN r.month < %s THEN r.value ELSE 0 END)"] * len(dates))
    sql = (
        f"SELECT o.path, r.metric, SUM(CASE WHEN r.month BETWEEN %s AND %s THEN r.value ELSE 0 END), {sums} "
        f"FROM {statistic_counts.ROLLUP_TABLE} r JOIN {Organization._meta.db_table} o ON o.id = r.organization_id "
        f"WHERE o.path LIKE %s AND o.depth IN (%s, %s) AND r.month <= %s AND r.metric LIKE %s "
        f"GROUP BY o.path, r.metric"
    )
    params = [first, last, *(whole[date] for date in dates)]
    params += [f"{organization.path}%", organization.depth, organization.depth + 1, last, "mv.%"]
    in_range = defaultdict(lambda: defaultdict(int))
    members = [defaultdict(int) for _date in dates]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    transit_months = set()
    month = first
    while month <= last:
        transit_months.add(f"{statistic_counts.TRANSIT}{month:%Y-%m}")
        month = _month_end(month) + datetime.timedelta(days=1)
    for path, metric, counted, *before in rows:
        column = metric[3:]
        if column in _BEGINNINGS or column in _ENDINGS:
            sign = 1 if column in _BEGINNINGS else -1
            for index, n in enumerate(before):
                members[index][path] += sign * int(n)
        if metric == statistic_counts.INSIDE or metric in transit_months:
            in_range[path]["transferred_in"] -= int(counted)
            in_range[path]["transferred_out"] -= int(counted)
        elif not metric.startswith(statistic_counts.TRANSIT):
            in_range[path][column] += int(counted)
    for index, date in enumerate(dates):
        if whole[date] == date.replace(day=1):  # inside its month: the days of it so far
            for path, n in _net_in_days(units, date.replace(day=1), date).items():
                members[index][path] += n
    top = organization.path
    on = [_own_and_children(counted, top) for counted in members]
    moves = {path: {column: n for column, n in values.items() if n} for path, values in in_range.items()}
    return on, moves


def _own_and_children(by_path, top):
    """``{row path: n}`` from subtree sums: each child's own, the organisation's less its children's."""
    rows = {path: n for path, n in by_path.items() if path != top}
    own = by_path.get(top, 0) - sum(rows.values())
    if own:
        rows[top] = own
    return {path: n for path, n in rows.items() if n}


def _net_in_days(units, first, last):
    """``{row path: periods beginning less periods ending in [first, last]}`` in the subtree, as
    subtree sums of the organisation and its children (one query)."""
    periods, organizations = MembershipPeriod._meta.db_table, Organization._meta.db_table
    where, where_params = units.where_sql("o.path")
    key = units.key_sql("o.path")
    sql = (
        f"SELECT {key}, SUM(CASE WHEN p.started_on BETWEEN %s AND %s THEN 1 ELSE 0 END) "  # noqa: S608
        f"- SUM(CASE WHEN p.ended_on BETWEEN %s AND %s THEN 1 ELSE 0 END) "
        f"FROM {periods} p INNER JOIN {organizations} o ON o.id = p.organization_id "
        f"WHERE {where} AND (p.started_on BETWEEN %s AND %s OR p.ended_on BETWEEN %s AND %s) GROUP BY {key}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [first, last, first, last, *where_params, first, last, first, last])
        rows = cursor.fetchall()
    sums = defaultdict(int)
    for path, n in rows:
        row = units.row(path)
        if row is not None and n:
            sums[units.top] += int(n)
            if row != units.top:
                sums[row] += int(n)
    return sums


def raw_member_movement(organization, start, end):
    """:func:`member_movement` counted in Python from every period of every member moving and from
    the periods in force (what :func:`member_movement` reads in SQL; kept to check it)."""
    check_period(start, end)
    tree = dated_tree(end)
    units = _Units(organization, tree)
    at_start = _raw_members_on(units, start - datetime.timedelta(days=1))
    at_end = _raw_members_on(units, end)
    previous = _raw_members_on(units, add_years(end, -1))
    return _movement_report(
        organization, start, end, tree, (at_start, at_end, previous), _raw_movements(units, start, end)
    )


def _movement_report(organization, start, end, tree, members, moves):
    """The report from ``members`` (``{row path: n}`` at the start, at the end and a year before the
    end) and ``moves`` (``{unit path: {column: n}}``)."""
    at_start, at_end, previous = members

    def build(org, keys):
        row = MovementRow(organization=org)
        row.at_start = sum(at_start.get(key, 0) for key in keys)
        row.at_end = sum(at_end.get(key, 0) for key in keys)
        row.previous_year_end = sum(previous.get(key, 0) for key in keys)
        for column, value in moves.get(org.path, {}).items():
            setattr(row, column, value)
        return row

    children = []
    for child in children_on(organization, tree):
        row = build(child, [child.path])
        if child.is_active_on(end) or row.at_start or row.at_end or row.additions or row.removals:
            children.append(row)
    total = build(organization, set(at_start) | set(at_end) | set(previous))
    return MovementReport(organization=organization, start=start, end=end, total=total, children=children)


MOVEMENT_COLUMNS = (
    "at_start",
    "admitted",
    "transferred_in",
    "restored",
    "died",
    "expelled",
    "struck_off",
    "struck_off_probationary",
    "resigned",
    "transferred_out",
    "at_end",
)


MOVEMENT_LABELS = {
    "at_start": gettext_lazy("members at the start"),
    "admitted": gettext_lazy("admitted"),
    "transferred_in": gettext_lazy("transferred in"),
    "restored": gettext_lazy("restored"),
    "died": gettext_lazy("died"),
    "expelled": gettext_lazy("expelled"),
    "struck_off": gettext_lazy("struck off"),
    "struck_off_probationary": gettext_lazy("of which probationary not recognised"),
    "resigned": gettext_lazy("resigned"),
    "transferred_out": gettext_lazy("transferred out"),
    "at_end": gettext_lazy("members at the end"),
    "change_percent": gettext_lazy("change against a year earlier, in percent"),
}


# New admissions (form 3-BTCTW) ---------------------------------------------------------------


@dataclass
class AdmissionsRow:
    organization: Organization
    counts: dict = field(default_factory=lambda: defaultdict(int))  # "group.column" → members

    def get(self, key):
        return self.counts.get(key, 0)


@dataclass
class AdmissionsReport:
    organization: Organization
    start: datetime.date
    end: datetime.date
    total: AdmissionsRow
    children: list


def _age_at_admission():
    """Whole years from the birth to the admission (:func:`core.dates.age_on`), in SQL."""
    admitted_on, born = F("admitted_on"), F("date_of_birth")
    birthday_to_come = LessThan(
        ExtractMonth(admitted_on) * 100 + ExtractDay(admitted_on), ExtractMonth(born) * 100 + ExtractDay(born)
    )
    return ExtractYear(admitted_on) - ExtractYear(born) - Case(When(birthday_to_come, then=1), default=0)


def _admission_flags():
    """``{column: condition}`` of the form's yes-or-no columns and age groups: the rules of
    :func:`_admission_keys` in SQL (``tests/reports/test_statistics_against_raw.py`` compares them)."""
    return {
        "of_whom.women": Q(sex="female"),
        "of_whom.ethnic_minorities": ~Q(ethnicity__in=("", ETHNICITY_KINH, ETHNICITY_FOREIGN)),
        "of_whom.religious": ~Q(religion__in=("", "none")),
        "of_whom.youth_union": Q(youth_union_member_at_admission=True),
        "of_whom.business_owners": Q(owner_at_admission=True),
        **{f"age.{key}": Q(age__range=(low, high)) for key, low, high in AGE_GROUPS},
    }


def _admission_counts(units, start, end):
    """``{row path: {"group.column": n}}`` of the members admitted in ``[start, end]``, counted in one
    query: per row key the admitted and each yes-or-no column, and per row key and recorded value
    the members of each (named by :data:`RECORDED`'s rules)."""
    flags = _admission_flags()
    columns = {f"f{index}": Case(When(condition, then=1), default=0) for index, condition in enumerate(flags.values())}
    columns |= {f"r{index}": F(field) for index, (field, _column_of) in enumerate(RECORDED.values())}
    admitted = (
        Member.objects.filter(units.q("admitted_by__path"), admitted_on__range=(start, end))
        .annotate(age=_age_at_admission())
        .order_by()
        .values(k=units.key("admitted_by__path"), **columns)
    )
    admitted_sql, params = admitted.query.sql_with_params()
    sums = ", ".join(f"SUM(f{index})" for index in range(len(flags)))
    nulls = ", ".join(["NULL"] * len(flags))
    groupings = [f"SELECT k, NULL, NULL, COUNT(*), {sums} FROM admitted GROUP BY k"] + [
        f"SELECT k, {index}, r{index}, COUNT(*), {nulls} FROM admitted GROUP BY k, r{index}"
        for index in range(len(RECORDED))
    ]
    by_row = defaultdict(lambda: defaultdict(int))
    recorded = list(RECORDED.items())
    with connection.cursor() as cursor:
        cursor.execute(f"WITH admitted AS ({admitted_sql}) " + " UNION ALL ".join(groupings), params)
        rows = cursor.fetchall()
    for key, index, value, n, *flagged in rows:
        row = units.row(key)
        if row is None:
            continue
        if index is None:
            by_row[row]["of_whom.total"] += n
            for column, count in zip(flags, flagged, strict=True):
                if count:
                    by_row[row][column] += count
        else:
            group, (_field, column_of) = recorded[index]
            by_row[row][f"{group}.{column_of(value)}"] += n
    return by_row


def new_admissions(organization, start, end):
    """Members admitted in ``[start, end]`` by the organisations of ``organization``'s subtree (each
    counts for the organisation that admitted them, rule 2), per organisation directly below it and
    in total: of whom women, ethnic minorities, religious, Youth Union members and private business
    owners (at admission); by age at admission, general education, professional qualification,
    political theory and ownership of the workplace enterprise (as recorded now). Read from the
    maintained counts when they answer (a probe, then one query), else counted from the members
    (:func:`sql_new_admissions`: four queries, two of which read the tree of the end date)."""
    check_period(start, end)
    tree = dated_tree(end)
    units = _Units(organization, tree)
    if _maintained(units, start, end):
        return _admissions_report(organization, start, end, tree, _maintained_admissions(organization, start, end))
    return _admissions_report(organization, start, end, tree, _admission_counts(units, start, end))


def sql_new_admissions(organization, start, end):
    """:func:`new_admissions` counted from the members themselves (what it reads when the maintained
    counts cannot answer)."""
    check_period(start, end)
    tree = dated_tree(end)
    units = _Units(organization, tree)
    return _admissions_report(organization, start, end, tree, _admission_counts(units, start, end))


def _maintained_admissions(organization, start, end):
    """``{row path: {"group.column": n}}`` read from the roll-ups of the organisation and its
    children (one query); the organisation's own admissions are its sums less its children's."""
    sql = (
        f"SELECT o.path, r.metric, SUM(r.value) FROM {statistic_counts.ROLLUP_TABLE} r "  # noqa: S608
        f"JOIN {Organization._meta.db_table} o ON o.id = r.organization_id "
        f"WHERE o.path LIKE %s AND o.depth IN (%s, %s) AND r.month BETWEEN %s AND %s AND r.metric LIKE %s "
        f"GROUP BY o.path, r.metric"
    )
    params = [f"{organization.path}%", organization.depth, organization.depth + 1]
    params += [start.replace(day=1), end.replace(day=1), "ad.%"]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    by_key = defaultdict(dict)
    for path, metric, n in rows:
        by_key[metric[3:]][path] = int(n)
    by_row = defaultdict(lambda: defaultdict(int))
    for key, by_path in by_key.items():
        for path, n in _own_and_children(by_path, organization.path).items():
            by_row[path][key] = n
    return by_row


def raw_new_admissions(organization, start, end):
    """:func:`new_admissions` counted in Python from each member admitted (what :func:`new_admissions`
    counts in SQL; kept to check it)."""
    check_period(start, end)
    tree = dated_tree(end)
    units = _Units(organization, tree)
    return _admissions_report(organization, start, end, tree, _raw_admission_counts(units, start, end))


def _raw_admission_counts(units, start, end):
    """``{row path: {"group.column": n}}`` of the members admitted in ``[start, end]``, read one by one."""
    by_row = defaultdict(lambda: defaultdict(int))
    members = (
        Member.objects.filter(units.q("admitted_by__path"), admitted_on__range=(start, end))
        .order_by()
        .values(
            "admitted_by__path",
            "sex",
            "ethnicity",
            "religion",
            "youth_union_member_at_admission",
            "owner_at_admission",
            "date_of_birth",
            "admitted_on",
            "general_education",
            "professional_qualification",
            "political_theory",
            "enterprise__ownership",
        )
    )
    for member in members.iterator(chunk_size=5000):
        row = units.row(member["admitted_by__path"])
        if row is None:
            continue
        for key in admission_keys(member):
            by_row[row][key] += 1
    return by_row


def _admissions_report(organization, start, end, tree, by_row):
    """The report from ``by_row`` (``{row path: {"group.column": n}}``, the organisation's own
    admissions under its own path)."""
    total = AdmissionsRow(organization=organization)
    for counts in by_row.values():
        for key, n in counts.items():
            total.counts[key] += n
    children = [
        AdmissionsRow(organization=child, counts=by_row.get(child.path, defaultdict(int)))
        for child in children_on(organization, tree)
        if child.is_active_on(end) or child.path in by_row
    ]
    return AdmissionsReport(organization=organization, start=start, end=end, total=total, children=children)
