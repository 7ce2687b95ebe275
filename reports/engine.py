"""The tally engine: target fulfilment, structure and gaps of one organisation's subtree.

The rules are DOMAIN.md's "How the reports tally". Each report covers an organisation's whole
subtree (``path__startswith``) and breaks it down by the organisations directly below it: an
event belongs to the child whose path is the prefix ``path[: (depth + 1) * steplen]`` of the
path it counts for (the organisation itself when the event is its own). Every figure is
aggregated in the database, grouped by that prefix, one query per source table, so the number
of queries does not depend on the size of the tree or the number of records.

Counting the actual events of a period lives in :func:`count_actuals` and the four
``_count_*`` functions it calls; a maintained roll-up table can replace them without touching
the rest.
"""

import datetime
from bisect import bisect_left
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connections, transaction
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, Subquery, Sum, TextChoices, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, ExtractMonth, Substr
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from branches.choices import GRASSROOTS_KINDS, OrganizationKind
from branches.models import Member, MembershipPeriod, Organization
from core.dates import add_years
from core.models import in_force_on
from core.text import display_date
from enterprises.choices import MassOrganizationKind, OperatingStatus
from enterprises.models import Enterprise, ManagingCommitteePeriod, MassOrganization, MembershipReturn
from reports.dated_tree import DatedTree, change_days, committee_changes, dated_tree, subtree_q
from reports.formatting import display, format_number, percent_of
from reports.metrics import MASS_ORG_KIND_METRICS, Metric
from reports.models import Target
from reports.rollups import read as rollups_read
from reports.rollups import standing
from reports.rollups.common import chunks
from reports.target_rows import year_targets

METRICS = tuple(Metric)

#: Organisations that sit in an enterprise: set one up once this many official members work there.
ELIGIBLE_OFFICIAL_MEMBERS = standing.ELIGIBLE_OFFICIAL_MEMBERS


# Report objects ---------------------------------------------------------------------------


@dataclass
class FulfilmentRow:
    """One metric of a fulfilment report: actual, effective target (None: none set), percent."""

    metric: Metric
    actual: int
    target: int | None = None
    percent: Decimal | None = field(init=False)

    def __post_init__(self):
        self.percent = percent_of(self.actual, self.target)

    @property
    def label(self):
        return self.metric.label

    @property
    def display(self):
        """``actual/target (percent%)`` in the active language."""
        return display(self.actual, self.target, self.percent)


@dataclass
class FigureRow:
    """One figure of a structure or gaps report; ``total`` and ``percent`` for shares only."""

    metric: str
    value: int
    total: int | None = None

    @property
    def label(self):
        """Looked up by key, not stored: cached figures then hold no lazy translations (slow to
        unpickle) and show in the language of the page that reads them."""
        return FIGURE_LABELS[self.metric]

    @property
    def percent(self):
        return percent_of(self.value, self.total)

    @property
    def display(self):
        if self.total is None:
            return format_number(self.value)
        return display(self.value, self.total, self.percent)


class _RowsMixin:
    def row(self, metric):
        """The row of ``metric`` (a key or a Metric member)."""
        for row in self.rows:
            if row.metric == metric:
                return row
        raise KeyError(metric)


@dataclass
class Part(_RowsMixin):
    """The figures of one organisation directly below the report's organisation; ``ended_on``:
    the last day it stood there when that was before the end of the period (historical structure)."""

    organization: Organization
    rows: list
    ended_on: datetime.date | None = None

    @property
    def ended_label(self):
        """ "ended dd/mm/yyyy" in the active language, or "" while it stands."""
        if self.ended_on is None:
            return ""
        return _("ended %(date)s") % {"date": display_date(self.ended_on)}


@dataclass
class FulfilmentReport(_RowsMixin):
    organization: Organization
    start: datetime.date
    end: datetime.date
    year: int | None
    rows: list
    children: list
    as_of: datetime.date | None = None
    structure: str = "end"


@dataclass
class StructureReport(_RowsMixin):
    organization: Organization
    date: datetime.date
    rows: list
    children: list


@dataclass
class GapsReport(_RowsMixin):
    organization: Organization
    date: datetime.date
    stagnant_years: int
    rows: list
    children: list
    #: What the dashboard links to: querysets of enterprises (evaluated by the caller), a list of organisations.
    eligible_enterprises: object = None
    small_enterprises: object = None
    stagnant_organizations: object = None


# Periods ----------------------------------------------------------------------------------


def today():
    """Today in the project's time zone (Asia/Ho_Chi_Minh)."""
    return timezone.localdate()


def year_period(year, as_of=None):
    """The period of a yearly report: 1 January up to 31 December, today in the current year, or ``as_of``.

    ``as_of`` is clamped to 31 December; before 1 January it is an error.
    """
    start = datetime.date(year, 1, 1)
    end = datetime.date(year, 12, 31)
    if as_of is not None:
        if as_of < start:
            raise ValueError(
                _("The as-of date %(date)s is before the year %(year)s.") % {"date": display_date(as_of), "year": year}
            )
        return start, min(as_of, end)
    current = today()
    if current.year == year:
        end = current
    return start, end


def has_targets(organization, year):
    """Whether any committee of the subtree has a target for ``year`` (else the dashboard says so)."""
    return Target.objects.filter(committee__path__startswith=organization.path, year=year).exists()


def years_before(date, years):
    """The same day ``years`` years earlier (28 February for 29 February)."""
    return add_years(date, -years)


# Grouping by the child of the report's organisation ---------------------------------------


def _child_key(organization, lookup="path"):
    """The path of the organisation directly below ``organization`` that a row belongs to."""
    return Substr(lookup, 1, (organization.depth + 1) * Organization.steplen)


def _grouped(queryset, organization, lookup, by_path=False, **aggregates):
    """``{child path: {name: value}}`` of ``aggregates`` over ``queryset`` grouped by the child
    (``by_path``: by the organisation's own path)."""
    key = F(lookup) if by_path else _child_key(organization, lookup)
    rows = queryset.order_by().annotate(_key=key).values("_key").annotate(**aggregates)
    return {row.pop("_key"): {name: value or 0 for name, value in row.items()} for row in rows}


def _grouped_list(objects, organization, name):
    """``{child path: {name: count}}`` of organisations already read, by the child they are in."""
    length = (organization.depth + 1) * Organization.steplen
    groups = defaultdict(lambda: {name: 0})
    for obj in objects:
        groups[obj.path[:length]][name] += 1
    return dict(groups)


def _merge(*groups):
    merged = defaultdict(dict)
    for group in groups:
        for key, values in group.items():
            for name, value in values.items():
                merged[key][name] = merged[key].get(name, 0) + value
    return merged


def _total(groups):
    total = defaultdict(int)
    for values in groups.values():
        for name, value in values.items():
            total[name] += value
    return total


def _children(organization):
    return list(Organization.objects.children_of(organization).select_related("enterprise", "locality"))


# Actuals (rule 2 and 3) -------------------------------------------------------------------


def _count_organizations_established(organization, start, end, outside=(), by_path=False):
    queryset = Organization.objects.filter(
        subtree_q("path", organization.path, outside), kind__in=GRASSROOTS_KINDS, established_on__range=(start, end)
    )
    return _grouped(queryset, organization, "path", by_path, **{Metric.PARTY_ORGS_ESTABLISHED: Count("pk")})


def _count_admissions(organization, start, end, outside=(), by_path=False):
    """Admissions count for the admitting organisation, wherever the member is now."""
    queryset = Member.objects.filter(
        subtree_q("admitted_by__path", organization.path, outside), admitted_on__range=(start, end)
    )
    return _grouped(
        queryset,
        organization,
        "admitted_by__path",
        by_path,
        **{
            # No COUNT(id): the covering index (admitted_on, admitted_by, owner) answers alone.
            Metric.MEMBERS_ADMITTED: Count("*"),
            Metric.OWNERS_ADMITTED: Count("owner_at_admission", filter=Q(owner_at_admission=True)),
        },
    )


def _count_mass_organizations_established(organization, start, end, outside=(), by_path=False):
    """Mass organisations count for their enterprise's managing committee."""
    lookup = "enterprise__managing_committee__path"
    queryset = MassOrganization.objects.filter(
        subtree_q(lookup, organization.path, outside), established_on__range=(start, end)
    )
    return _grouped(
        queryset,
        organization,
        lookup,
        by_path,
        **{
            Metric.MASS_ORGS_ESTABLISHED: Count("pk"),
            Metric.TRADE_UNIONS_ESTABLISHED: Count("pk", filter=Q(kind=MassOrganizationKind.TRADE_UNION)),
            Metric.YOUTH_UNIONS_ESTABLISHED: Count("pk", filter=Q(kind=MassOrganizationKind.YOUTH_UNION)),
        },
    )


def _count_mass_organization_admissions(organization, start, end, outside=(), by_path=False):
    """Members admitted according to the returns dated in the period (founding returns included)."""
    lookup = "mass_organization__enterprise__managing_committee__path"
    queryset = MembershipReturn.objects.filter(subtree_q(lookup, organization.path, outside), date__range=(start, end))
    kind = "mass_organization__kind"
    return _grouped(
        queryset,
        organization,
        lookup,
        by_path,
        **{
            Metric.MASS_ORG_MEMBERS_ADMITTED: Sum("members_admitted"),
            Metric.TRADE_UNION_MEMBERS_ADMITTED: Sum(
                "members_admitted", filter=Q(**{kind: MassOrganizationKind.TRADE_UNION})
            ),
            Metric.YOUTH_UNION_MEMBERS_ADMITTED: Sum(
                "members_admitted", filter=Q(**{kind: MassOrganizationKind.YOUTH_UNION})
            ),
        },
    )


ACTUAL_SOURCES = [
    _count_organizations_established,
    _count_admissions,
    _count_mass_organizations_established,
    _count_mass_organization_admissions,
]


def count_actuals(organization, start, end):
    """Like :func:`raw_count_actuals`, read from the maintained roll-ups (``reports.rollups``).

    Whole months come from the roll-up table, the days of partial months from the raw tables,
    so the figures are exact for any ``[start, end]``.
    """
    return rollups_read.count_actuals(organization, start, end, raw_count=raw_count_actuals)


def raw_count_actuals(organization, start, end):
    """``{child path: {metric: count}}`` of the events of ``[start, end]`` in the subtree.

    The key is the path of the organisation directly below ``organization`` that the event
    belongs to, or ``organization.path`` for its own events. One query per source table.
    """
    return _merge(*(source(organization, start, end) for source in ACTUAL_SOURCES))


def raw_count_by_organization(organization, start, end, outside=()):
    """``{path: {metric: count}}`` of the events of ``[start, end]`` by the organisation they count
    for, in ``organization``'s subtree and the ``outside`` subtrees. One query per source table."""
    return _merge(*(source(organization, start, end, outside, by_path=True) for source in ACTUAL_SOURCES))


def count_actuals_on(organization, start, end, tree):
    """Like :func:`count_actuals`, keyed by the organisations directly below ``organization`` on
    ``tree``'s date (:class:`~reports.dated_tree.DatedTree`).

    Without restructurings after that date the tree is today's: :func:`count_actuals`. Otherwise
    the subtree totals of today's tree (the roll-ups) are read for ``organization``, its children
    and every restructured organisation that matters (one query, whatever their number), cut into
    the blocks that kept their parents, and each block counted for the row it stood under. The
    mass organisations of an enterprise that passed to another committee since count for the
    committee of that date.
    """
    return _moved_enterprise_figures(
        _count_organization_actuals_on(organization, start, end, tree),
        tree,
        organization,
        _enterprise_actuals(tree, organization, start, end),
    )


def _count_organization_actuals_on(organization, start, end, tree):
    anchors, outside = tree.anchors(organization.path) if tree.moved else (set(), [])
    if not anchors:
        return count_actuals(organization, start, end)
    totals = rollups_read.subtree_totals(
        organization,
        {path: tree.ids[path] for path in anchors},
        start,
        end,
        raw_count=lambda first, last: raw_count_by_organization(organization, first, last, outside),
    )
    return _regrouped(totals, tree, organization)


def _regrouped(totals, tree, organization):
    """``{row path: {metric: n}}`` from ``totals`` ``{path: {metric: n}}``, the subtree totals of
    today's tree for ``organization``, its children and the restructured organisations that matter:
    cut into the blocks that kept their parents, each counted for the row it stood under on
    ``tree``'s date."""
    steplen = Organization.steplen
    exclusive = {path: dict(values) for path, values in totals.items()}
    for path, values in totals.items():
        # the nearest block above this one today: its total includes this one's
        for cut in range(len(path) - steplen, 0, -steplen):
            above = exclusive.get(path[:cut])
            if above is not None:
                for metric, n in values.items():
                    above[metric] = above.get(metric, 0) - n
                break
    groups = defaultdict(lambda: defaultdict(int))
    for path, values in exclusive.items():
        row = tree.row_of(path, organization.path)
        if row is not None:
            for metric, n in values.items():
                groups[row][metric] += n
    return {path: dict(values) for path, values in groups.items() if any(values.values())}


def _moved_enterprise_figures(groups, tree, organization, figures):
    """Move the ``figures`` ``{(today's committee path, that date's): {metric: n}}`` of the
    enterprises managed on ``tree``'s date by another committee than today's from the row of
    today's committee (where the roll-ups and standing counts put them) to the row of that date's."""
    if not figures:
        return groups
    groups = defaultdict(lambda: defaultdict(int), {path: defaultdict(int, values) for path, values in groups.items()})
    for (today_path, dated_path), values in figures.items():
        counted, belongs = tree.row_of(today_path, organization.path), tree.row_of(dated_path, organization.path)
        if counted == belongs:
            continue
        for metric, n in values.items():
            if counted is not None:
                groups[counted][metric] -= n
            if belongs is not None:
                groups[belongs][metric] += n
    return {path: dict(values) for path, values in groups.items() if any(values.values())}


def _by_pair(tree, pairs, sql, params, names):
    """``{(today path, then path): {name: n}}`` of ``sql``, which reads the table ``m`` of the
    enterprises of ``pairs`` (:meth:`~reports.dated_tree.DatedTree.moved_enterprises_sql`) and
    selects the pair, then ``names``."""
    moved, moved_params = tree.moved_enterprises_sql(pairs)
    figures = {}
    with connections[Enterprise.objects.db].cursor() as cursor:
        cursor.execute(f"WITH m AS ({moved}) {sql}", [*moved_params, *params])
        for today_path, then_path, *values in cursor:
            figures[(today_path, then_path)] = {
                name: int(value or 0) for name, value in zip(names, values, strict=True)
            }
    return figures


def _enterprise_actuals(tree, organization, start, end):
    """``{(today's committee path, that date's): {metric: n}}``: the mass-organisation events of
    ``[start, end]`` of the enterprises that ``tree`` sees under another committee than today's,
    in another row of ``organization``'s report. Two queries, grouped by the pair of committees."""
    pairs = tree.enterprise_pairs(organization.path)
    if not pairs:
        return {}
    mass, returns = MassOrganization._meta.db_table, MembershipReturn._meta.db_table
    kinds = [str(MassOrganizationKind.TRADE_UNION), str(MassOrganizationKind.YOUTH_UNION)]
    established = _by_pair(
        tree,
        pairs,
        f"""SELECT m.today_path, m.then_path, COUNT(*),
                SUM(CASE WHEN mo.kind = %s THEN 1 ELSE 0 END), SUM(CASE WHEN mo.kind = %s THEN 1 ELSE 0 END)
            FROM {mass} mo INNER JOIN m ON m.e = mo.enterprise_id
            WHERE mo.established_on BETWEEN %s AND %s GROUP BY 1, 2""",
        [*kinds, start.isoformat(), end.isoformat()],
        (Metric.MASS_ORGS_ESTABLISHED, Metric.TRADE_UNIONS_ESTABLISHED, Metric.YOUTH_UNIONS_ESTABLISHED),
    )
    admitted = _by_pair(
        tree,
        pairs,
        f"""SELECT m.today_path, m.then_path, SUM(r.members_admitted),
                SUM(CASE WHEN mo.kind = %s THEN r.members_admitted ELSE 0 END),
                SUM(CASE WHEN mo.kind = %s THEN r.members_admitted ELSE 0 END)
            FROM {returns} r INNER JOIN {mass} mo ON mo.id = r.mass_organization_id
            INNER JOIN m ON m.e = mo.enterprise_id
            WHERE r.date BETWEEN %s AND %s GROUP BY 1, 2""",
        [*kinds, start.isoformat(), end.isoformat()],
        (Metric.MASS_ORG_MEMBERS_ADMITTED, Metric.TRADE_UNION_MEMBERS_ADMITTED, Metric.YOUTH_UNION_MEMBERS_ADMITTED),
    )
    return _merge(established, admitted)


def admissions_by_month(organization, start, end):
    """Like :func:`raw_admissions_by_month`, whole months read from the roll-ups."""
    return rollups_read.admissions_by_month(organization, start, end, raw_count=raw_admissions_by_month)


def raw_admissions_by_month(organization, start, end):
    """Members admitted in the subtree per calendar month of ``[start, end]``: ``{month: count}``."""
    rows = (
        Member.objects.filter(admitted_by__path__startswith=organization.path, admitted_on__range=(start, end))
        .order_by()
        .annotate(month=ExtractMonth("admitted_on"))
        .values("month")
        .annotate(count=Count("pk"))
    )
    return {row["month"]: row["count"] for row in rows}


# Targets (rule 4) -------------------------------------------------------------------------


class EffectiveTargets:
    """Effective targets in a subtree for one year on ``tree``'s date, from the year's Target rows
    and targets carried by restructurings (:func:`reports.target_rows.year_targets`).

    A committee's target is its own row, else the sum of the targets of the committees directly
    below it on that date (recursively), else None. For the all-kinds mass-organisation metrics:
    the own row, else the sum of the kinds' (trade and youth union) targets, else the rule above.
    Committees established after the date have no target yet; a target carried to a successor
    (``TargetCarry``) counts at the successor from the day of the carry and no longer at the
    committee that ended, so the committees above keep the same target.
    """

    def __init__(self, organization, year, tree=None):
        self.tree = tree if tree is not None else DatedTree()
        self.rows = {}  # metric → [(key, value)] sorted by key
        self.paths = {}  # metric → [key] (for bisect)
        if year is None:
            return
        kept = year_targets(year)
        rows = kept.derived((self.tree.on, organization.path), lambda: self._read(kept, organization))
        self.rows, self.paths = rows

    def _read(self, kept, organization):
        on = self.tree.on
        _anchors, outside = self.tree.anchors(organization.path) if self.tree.moved else (set(), [])
        tops = [organization.path, *outside]
        carried_away, before_carry = set(), {}
        for source, successor, metric, carried_on, previous in kept.carries_touching(tops):
            if on is None or carried_on <= on:
                carried_away.add((source, metric))
            else:
                before_carry.setdefault((successor, metric), previous)  # the earliest carry after the date
        top = self.tree.key(organization.path)
        rows = defaultdict(list)
        for path, established_on, metric, value in kept.in_subtrees(tops):
            if (on is not None and established_on > on) or (path, metric) in carried_away:
                continue
            value = before_carry.get((path, metric), value)
            key = self.tree.key(path)
            if value is not None and key.startswith(top):
                rows[metric].append((key, value))
        # A subtree's rows are contiguous in key order: bisect to them instead of scanning all
        # (the national root has thousands of committees below it).
        paths = {}
        for metric, metric_rows in rows.items():
            metric_rows.sort()
            paths[metric] = [row_key for row_key, _value in metric_rows]
        return dict(rows), paths

    def _subtree_rows(self, path, metric):
        rows = self.rows.get(metric, ())
        index = bisect_left(self.paths.get(metric, ()), path)
        while index < len(rows) and rows[index][0].startswith(path):
            yield rows[index]
            index += 1

    def _recursive(self, path, metric):
        """The own row at ``path``, else the sum of the topmost rows below it; None without any."""
        total = None
        covered = None
        for row_path, value in self._subtree_rows(path, metric):
            if row_path == path:
                return value
            if covered is not None and row_path.startswith(covered):
                continue  # a committee below one whose own row already counts
            covered = row_path
            total = (total or 0) + value
        return total

    def own(self, path, metric):
        """The own Target row of the committee at ``path`` (today's path), or None."""
        return self._own(self.tree.key(path), metric)

    def _own(self, key, metric):
        for row_key, value in self._subtree_rows(key, metric):
            return value if row_key == key else None
        return None

    def get(self, path, metric):
        """The effective target of the committee at ``path`` (today's path), or None."""
        return self._get(self.tree.key(path), metric)

    def _get(self, key, metric):
        kinds = MASS_ORG_KIND_METRICS.get(metric)
        if kinds:
            own = self._own(key, metric)
            if own is not None:
                return own
            values = [value for value in (self._get(key, kind) for kind in kinds) if value is not None]
            if values:
                return sum(values)
        return self._recursive(key, metric)


# Fulfilment -------------------------------------------------------------------------------


def _fulfilment_rows(counts, targets, path):
    return [
        FulfilmentRow(metric=metric, actual=counts.get(metric, 0), target=targets.get(path, metric))
        for metric in METRICS
    ]


def _was_active_between(organization, start, end):
    return organization.established_on <= end and (
        organization.dissolved_on is None or organization.dissolved_on > start
    )


class ReportStructure(TextChoices):
    """Which tree a report's rows and totals follow (issue 13)."""

    END_DATE = "end", _("organisations as they stood on the end date")
    HISTORICAL = "historical", _("organisations as they stood on each event's date")


def children_on(organization, tree):
    """The organisations directly below ``organization`` on ``tree``'s date, in tree order, each
    with its name of that date (today's children when nothing was restructured since)."""
    children = _children(organization)
    if not tree.moved:
        return children
    children = [
        child for child in children if tree.parent(child.path) == organization.path and child.path not in tree.merged
    ]
    arrived = [path for path, parent in tree.moved.items() if parent == organization.path and path not in tree.merged]
    if arrived:
        children += Organization.objects.filter(path__in=arrived).select_related("enterprise", "locality")
    for child in children:
        child.name = tree.name(child)
    return sorted(children, key=lambda child: tree.key(child.path))


def _fulfilment_parts(organization, start, end, tree, groups, targets):
    """The rows of the organisations directly below ``organization`` on ``tree``'s date: those
    standing on ``end`` and those with figures (an organisation that ended in the period)."""
    parts = []
    for child in children_on(organization, tree):
        rows = _fulfilment_rows(groups.get(child.path, {}), targets, child.path)
        if child.is_active_on(end) or any(row.actual or row.target is not None for row in rows):
            parts.append(Part(organization=child, rows=rows))
    return parts


def _build_fulfilment(organization, start, end, year, as_of=None, structure=ReportStructure.END_DATE):
    if structure == ReportStructure.HISTORICAL:
        return _build_historical_fulfilment(organization, start, end, year, as_of)
    tree = dated_tree(end)
    groups = count_actuals_on(organization, start, end, tree)
    targets = EffectiveTargets(organization, year, tree)
    return FulfilmentReport(
        organization=organization,
        start=start,
        end=end,
        year=year,
        rows=_fulfilment_rows(_total(groups), targets, organization.path),
        children=_fulfilment_parts(organization, start, end, tree, groups, targets),
        as_of=as_of,
    )


def restructuring_segments(start, end):
    """``[(first, last)]``: the parts of ``[start, end]`` in which the tree stayed the same (cut
    on each day a dated state begins or ends, or an enterprise passes to another committee).

    An establishment or a dissolution cuts nothing: an organisation stands where its first state
    puts it before it begins and where its last one puts it after it ends, and has no events
    outside its life, so only the changes of a parent (moves, merges, splits) and renamings cut.
    At national size branches are founded and dissolved on most days of a year."""
    states, passes = change_days()
    days = {day for pair in states for day in pair if day is not None and start < day <= end}
    for valid_from, valid_to in passes:
        if start < valid_from <= end:
            days.add(valid_from)
            if valid_to is not None and valid_to <= end:
                days.add(valid_to)
    days = sorted(days)
    firsts = [start, *days]
    lasts = [day - datetime.timedelta(days=1) for day in days] + [end]
    return list(zip(firsts, lasts, strict=True))


def _build_historical_fulfilment(organization, start, end, year, as_of):
    """Each event counts through the ancestors its organisation had on the event's date: the
    period is cut where the tree changed, each part counted on its own tree. The rows are the
    organisations below ``organization`` in any part, those gone before the end marked with the
    last day they stood there; the targets are those of the tree on the end date (rule 4), an
    organisation gone before showing its own as of its last day."""
    groups = defaultdict(lambda: defaultdict(int))
    rows_of = {}  # path → (organisation, last day it stood below, targets of that part)
    for first, last in restructuring_segments(start, end):
        tree = dated_tree(last)
        part_groups = count_actuals_on(organization, first, last, tree)
        targets = EffectiveTargets(organization, year, tree)
        for path, values in part_groups.items():
            for metric, n in values.items():
                groups[path][metric] += n
        for child in children_on(organization, tree):
            if child.is_active_on(last) or any(part_groups.get(child.path, {}).values()):
                rows_of[child.path] = (child, last, targets)
    end_targets = targets  # the last part's tree is the tree on the end date
    parts = []
    for path in sorted(rows_of, key=DatedTree().key):
        child, last, targets = rows_of[path]
        ended_on = last if last < end else None
        if child.dissolved_on is not None and child.dissolved_on <= end:
            ended_on = min(ended_on or end, child.dissolved_on - datetime.timedelta(days=1))
        parts.append(
            Part(organization=child, rows=_fulfilment_rows(groups.get(path, {}), targets, path), ended_on=ended_on)
        )
    return FulfilmentReport(
        organization=organization,
        start=start,
        end=end,
        year=year,
        rows=_fulfilment_rows(_total(groups), end_targets, organization.path),
        children=parts,
        as_of=as_of,
        structure=ReportStructure.HISTORICAL,
    )


def fulfilment(organization, year, as_of=None, structure=ReportStructure.END_DATE):
    """Target fulfilment of ``organization``'s subtree in ``year`` up to ``as_of`` (rule 1, 4, 5).

    The period ends on 31 December, today in the current year, or ``as_of`` (clamped to the year);
    the target stays the whole year's plan however early the end. The rows follow the tree of the
    end date, or with ``structure="historical"`` the tree of each event's date.
    """
    start, end = year_period(year, as_of)
    return _build_fulfilment(organization, start, end, year, as_of=as_of, structure=structure)


def fulfilment_range(organization, start, end, structure=ReportStructure.END_DATE):
    """The actuals of any period ``[start, end]`` (both included); no targets, so no percentages."""
    if start > end:
        raise ValueError(_("The start %(start)s comes after the end %(end)s.") % {"start": start, "end": end})
    return _build_fulfilment(organization, start, end, None, structure=structure)


@contextmanager
def _room_for_aggregates(database):
    """A transaction in which PostgreSQL may use more memory per sort or hash (the national
    aggregates then stay in memory instead of spilling batches to disk)."""
    with transaction.atomic(using=database):
        if connections[database].vendor == "postgresql":
            with connections[database].cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '64MB'")
        yield


# Structure (rule 6) -----------------------------------------------------------------------

STRUCTURE_METRICS = {
    "party_organizations": _("grassroots and subordinate Party organisations"),
    "grassroots_committees": _("grassroots Party committees"),
    "branches": _("Party branches (grassroots and subordinate)"),
    "grassroots_branches": _("grassroots Party branches"),
    "subordinate_branches": _("subordinate branches"),
    "members": _("Party members"),
    "business_owners": _("of which business owners"),
    "organizations_with_owners": _("organisations in which business owners sit"),
    "enterprises": _("enterprises"),
    "enterprises_operating": _("of which operating"),
    "mass_organizations": _("mass organisations"),
    "trade_unions": _("trade unions"),
    "youth_unions": _("youth unions"),
    "mass_organization_members": _("mass organisation members (latest returns)"),
}


def _count_organizations_active(organization, date):
    queryset = Organization.objects.filter(path__startswith=organization.path).active_on(date)
    return _grouped(
        queryset,
        organization,
        "path",
        party_organizations=Count("pk", filter=Q(kind__in=GRASSROOTS_KINDS)),
        grassroots_committees=Count("pk", filter=Q(kind=OrganizationKind.GRASSROOTS_COMMITTEE)),
        branches=Count(
            "pk", filter=Q(kind__in=(OrganizationKind.GRASSROOTS_BRANCH, OrganizationKind.SUBORDINATE_BRANCH))
        ),
        grassroots_branches=Count("pk", filter=Q(kind=OrganizationKind.GRASSROOTS_BRANCH)),
        subordinate_branches=Count("pk", filter=Q(kind=OrganizationKind.SUBORDINATE_BRANCH)),
    )


def _count_members_active(organization, date):
    """Members whose membership period is in force on ``date``, by the organisation they are in."""
    queryset = MembershipPeriod.objects.on(date).filter(organization__path__startswith=organization.path)
    owner = Q(member__is_business_owner=True)
    return _grouped(
        queryset,
        organization,
        "organization__path",
        members=Count("member", distinct=True),
        business_owners=Count("member", distinct=True, filter=owner),
        organizations_with_owners=Count("organization", distinct=True, filter=owner),
    )


def _count_enterprises(organization, date):
    queryset = Enterprise.objects.filter(managing_committee__path__startswith=organization.path)
    return _grouped(
        queryset,
        organization,
        "managing_committee__path",
        enterprises=Count("pk"),
        enterprises_operating=Count("pk", filter=Q(operating_status=OperatingStatus.OPERATING)),
    )


def _mass_organizations_active_on(date):
    return MassOrganization.objects.filter(
        Q(established_on__lte=date), Q(dissolved_on__isnull=True) | Q(dissolved_on__gt=date)
    )


def _count_mass_organizations_active(organization, date):
    """Mass organisations active on ``date`` by the child their enterprise's committee is in, with
    the members total of each one's latest return up to ``date`` (a grouped ``MAX(date)`` per mass
    organisation joined back to its return, instead of a correlated subquery per row)."""
    length = (organization.depth + 1) * Organization.steplen
    mass = MassOrganization._meta.db_table
    returns = MembershipReturn._meta.db_table
    enterprise = Enterprise._meta.db_table
    committee = Organization._meta.db_table
    sql = f"""
        SELECT SUBSTR(c.path, 1, {length}) AS child, COUNT(*),
            SUM(CASE WHEN mo.kind = %(trade_union)s THEN 1 ELSE 0 END),
            SUM(CASE WHEN mo.kind = %(youth_union)s THEN 1 ELSE 0 END),
            SUM(COALESCE(r.members_total, 0))
        FROM {mass} mo
        INNER JOIN {enterprise} e ON e.id = mo.enterprise_id
        INNER JOIN {committee} c ON c.id = e.managing_committee_id
        LEFT JOIN (
            SELECT mass_organization_id, MAX(date) AS latest FROM {returns}
            WHERE date <= %(date)s GROUP BY mass_organization_id
        ) l ON l.mass_organization_id = mo.id
        LEFT JOIN {returns} r ON r.mass_organization_id = l.mass_organization_id AND r.date = l.latest
        WHERE c.path LIKE %(subtree)s AND mo.established_on <= %(date)s
            AND (mo.dissolved_on IS NULL OR mo.dissolved_on > %(date)s)
        GROUP BY 1
    """
    params = {
        "trade_union": str(MassOrganizationKind.TRADE_UNION),
        "youth_union": str(MassOrganizationKind.YOUTH_UNION),
        "date": date.isoformat(),
        "subtree": organization.path + "%",
    }
    names = ("mass_organizations", "trade_unions", "youth_unions", "mass_organization_members")
    with connections[MassOrganization.objects.db].cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: {name: value or 0 for name, value in zip(names, row[1:], strict=True)} for row in cursor}


def _figure_rows(values, metrics):
    return [FigureRow(metric=key, value=values.get(key, 0)) for key in metrics]


def _parts(organization, children, groups, date, rows_for):
    parts = []
    for child in children:
        values = groups.get(child.path, {})
        if child.is_active_on(date) or any(values.values()):
            parts.append(Part(organization=child, rows=rows_for(values)))
    return parts


def raw_structure_groups(organization, date):
    """``{child path: {figure: n}}`` of the structure on ``date`` counted from the raw tables (what
    :func:`structure_groups` reads from the standing counts; kept to check them)."""
    with _room_for_aggregates(Member.objects.db):
        return _merge(
            _count_organizations_active(organization, date),
            _count_members_active(organization, date),
            _count_enterprises(organization, date),
            _count_mass_organizations_active(organization, date),
        )


def _own_and_children(organization, date, metrics):
    """``{path: {figure: n}}`` of ``metrics`` on ``date``: the subtree of each organisation directly
    below ``organization`` (today's tree) under its path, ``organization``'s own figures under its
    own (its subtree less its children's). Two queries, from the standing roll-up."""
    figures = standing.subtree_figures(
        date,
        metrics,
        "(a.path LIKE %s AND a.depth = %s) OR a.id = %s",
        [organization.path + "%", organization.depth + 1, organization.pk],
    )
    own = dict(figures.pop(organization.path, {}))
    for values in figures.values():
        for metric, value in values.items():
            own[metric] = own.get(metric, 0) - value
    figures[organization.path] = own
    return {path: {m: v for m, v in values.items() if v} for path, values in figures.items() if any(values.values())}


def structure_groups(organization, date):
    """``{child path: {figure: n}}`` of the structure on ``date``, read from the standing counts'
    roll-up (``reports.rollups.standing``): two queries, whatever the subtree's size."""
    return _own_and_children(organization, date, standing.STRUCTURE_FIGURES)


def _subtree_totals(anchors, date, metrics):
    """``{path: {figure: n}}``: the standing figures ``metrics`` on ``date`` of each subtree of
    today's tree rooted at ``anchors`` (paths). Two queries, whatever their number."""
    if not anchors:
        return {}
    listed = ", ".join(["%s"] * len(anchors))
    return standing.subtree_figures(date, metrics, f"a.path IN ({listed})", sorted(anchors))


def _structure_anchor_totals(anchors, date):
    return _subtree_totals(anchors, date, standing.STRUCTURE_FIGURES)


def _enterprise_standing(tree, organization, date):
    """``{(today's committee path, that date's): {figure: n}}``: what the enterprises that ``tree``
    sees under another committee than today's count in the structure on ``date`` (the enterprises,
    their mass organisations active then and their members by the latest return). Two queries,
    grouped by the pair of committees (only those in different rows of ``organization``'s report)."""
    pairs = tree.enterprise_pairs(organization.path)
    if not pairs:
        return {}
    enterprise, mass, returns = (
        Enterprise._meta.db_table,
        MassOrganization._meta.db_table,
        MembershipReturn._meta.db_table,
    )
    day = date.isoformat()
    enterprises = _by_pair(
        tree,
        pairs,
        f"""SELECT m.today_path, m.then_path, COUNT(*), SUM(CASE WHEN e.operating_status = %s THEN 1 ELSE 0 END)
            FROM {enterprise} e INNER JOIN m ON m.e = e.id GROUP BY 1, 2""",
        [str(OperatingStatus.OPERATING)],
        ("enterprises", "enterprises_operating"),
    )
    unions = _by_pair(
        tree,
        pairs,
        f"""SELECT m.today_path, m.then_path, COUNT(*),
                SUM(CASE WHEN mo.kind = %s THEN 1 ELSE 0 END), SUM(CASE WHEN mo.kind = %s THEN 1 ELSE 0 END),
                SUM(COALESCE((SELECT r.members_total FROM {returns} r WHERE r.mass_organization_id = mo.id
                    AND r.date <= %s ORDER BY r.date DESC LIMIT 1), 0))
            FROM {mass} mo INNER JOIN m ON m.e = mo.enterprise_id
            WHERE mo.established_on <= %s AND (mo.dissolved_on IS NULL OR mo.dissolved_on > %s)
            GROUP BY 1, 2""",
        [str(MassOrganizationKind.TRADE_UNION), str(MassOrganizationKind.YOUTH_UNION), day, day, day],
        ("mass_organizations", "trade_unions", "youth_unions", "mass_organization_members"),
    )
    return _merge(enterprises, unions)


def structure_groups_on(organization, date, tree):
    """Like :func:`structure_groups`, keyed by the organisations directly below ``organization``
    on ``tree``'s date (see :func:`count_actuals_on`)."""
    groups = structure_groups(organization, date)
    anchors, _outside = tree.anchors(organization.path) if tree.moved else (set(), [])
    if anchors:
        totals = {**groups, organization.path: dict(_total(groups))}  # ``groups`` holds the own figures under that key
        totals.update(_structure_anchor_totals(anchors, date))
        groups = _regrouped(totals, tree, organization)
    return _moved_enterprise_figures(groups, tree, organization, _enterprise_standing(tree, organization, date))


def structure(organization, date, tree=None):
    """Organisations, members, enterprises and mass organisations of the subtree on ``date``, by
    the organisations directly below it on that date (``tree``: ``DatedTree(date)`` if not given,
    so that a caller counting gaps of the same date reads the dated tree once)."""
    tree = dated_tree(date) if tree is None else tree
    children = children_on(organization, tree)
    groups = structure_groups_on(organization, date, tree)

    def rows_for(values):
        return _figure_rows(values, STRUCTURE_METRICS)

    total = _total(groups)
    # A member counts once and an organisation once, whichever child they are in: the sums are exact.
    return StructureReport(
        organization=organization,
        date=date,
        rows=rows_for(total),
        children=_parts(organization, children, groups, date, rows_for),
    )


# Gaps (rule 7) ----------------------------------------------------------------------------

GAP_METRICS = {
    "eligible_enterprises": _("enterprises without a Party organisation with at least 3 official members"),
    "enterprises_with_one_or_two_members": _("enterprises without a Party organisation with 1–2 members"),
    "stagnant_organizations": _("grassroots organisations with no recent admission"),
    "trade_union_share": _("operating enterprises with a trade union"),
}

#: The label of every structure and gaps figure, by key.
FIGURE_LABELS = {**STRUCTURE_METRICS, **GAP_METRICS}


def _committees_on(organization, tree):
    """``(on the date, today)``: the ids of the committees (the only managing committees) in
    ``organization``'s subtree on ``tree``'s date and today. One query over the committees, placed
    on the tree in Python (a condition per restructured organisation would grow past what a
    database parses)."""
    on_date, today = set(), set()
    for pk, path in Organization.objects.filter(kind=OrganizationKind.COMMITTEE).values_list("pk", "path"):
        if tree.row_of(path, organization.path) is not None:
            on_date.add(pk)
        if path.startswith(organization.path):
            today.add(pk)
    return on_date, today


def _passed_across(organization, tree, committees):
    """Whether an enterprise managed on ``tree``'s date by a committee of ``committees`` (the
    subtree's then) is managed today from outside the subtree, or the other way round."""
    on = tree.on
    return any(
        today_path.startswith(organization.path) != (then_id in committees)
        for _today_id, today_path, then_id, _then_path, valid_from, valid_to in committee_changes()
        if (valid_from is None or valid_from <= on) and valid_to > on
    )


def _managed_in(organization, tree):
    """Enterprises managed on ``tree``'s date by a committee in ``organization``'s subtree on that
    date: those that passed to another committee since by their period then, the others by today's
    committee (as :class:`~reports.dated_tree.DatedTree` sees them).

    When the subtree held the same committees then as today and no enterprise passed across its
    edge since (a province through the reform, the national root), that is today's subtree: one
    condition on the path, not a correlated look-up per enterprise."""
    if not tree.moved and not tree.enterprises:
        return Q(managing_committee__path__startswith=organization.path)
    committees, today_committees = _committees_on(organization, tree)
    if committees == today_committees and not (tree.enterprises and _passed_across(organization, tree, committees)):
        return Q(managing_committee__path__startswith=organization.path)
    committees = sorted(committees)
    today = Q(managing_committee_id__in=committees)
    if not tree.enterprises:
        return today
    changed = DatedTree.enterprises_changed_since(tree.on)
    then = ManagingCommitteePeriod.objects.on(tree.on).filter(committee_id__in=committees)
    return (Q(pk__in=changed) & Q(pk__in=then.values("enterprise_id"))) | (~Q(pk__in=changed) & today)


def enterprises_with_gap_figures(organization, date, managed=None):
    """Enterprises managed in the subtree, annotated with what the gaps report needs on ``date``.

    ``active_members`` and ``official_members`` (members working there with a period in force),
    ``has_party_organization`` (an active Party organisation sits in it), ``has_trade_union``.
    ``managed``: which enterprises are in the subtree (default: by today's committee and tree).
    """
    periods = MembershipPeriod.objects.on(date).filter(member__enterprise=OuterRef("pk")).order_by()

    def count_members(queryset):
        counted = queryset.values("member__enterprise").annotate(n=Count("member", distinct=True)).values("n")
        return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))

    if managed is None:
        managed = Q(managing_committee__path__startswith=organization.path)
    return Enterprise.objects.filter(managed).annotate(
        active_members=count_members(periods),
        official_members=count_members(periods.filter(member__official_on__lte=date)),
        has_party_organization=Exists(Organization.objects.active_on(date).filter(enterprise=OuterRef("pk"))),
        has_trade_union=Exists(
            _mass_organizations_active_on(date).filter(enterprise=OuterRef("pk"), kind=MassOrganizationKind.TRADE_UNION)
        ),
    )


def _gap_list(organization, date, condition, tree):
    """Enterprises managed on ``date`` in ``organization``'s subtree on ``tree``'s date (see
    :func:`_managed_in`) that are the gap ``condition`` (``eligible``: without an active Party
    organisation, with enough official members; ``small``: without, with one or two members).

    The enterprises are chosen by their gap flags in the standing counts
    (``reports.rollups.standing``); the per-row counts the lists show are annotated on the rows
    returned only (the dashboard reads the first page). ``committee_name``: the committee that
    managed the enterprise on ``date``.
    """
    metric = {"eligible": "eligible_enterprises", "small": "enterprises_with_one_or_two_members"}[condition]
    values, params = standing.values_on_sql("enterprise", date, [metric])
    matching = RawSQL(f"SELECT v.k FROM ({values}) v WHERE v.value > 0", params)
    managed = _managed_in(organization, tree)
    committee_name = F("managing_committee__name")
    if tree.enterprises:  # some enterprise passed to another committee since: name the one of the date
        then = ManagingCommitteePeriod.objects.filter(in_force_on(date, open_start=True), enterprise=OuterRef("pk"))
        committee_name = Coalesce(Subquery(then.values("committee__name")[:1]), committee_name)
    return (
        enterprises_with_gap_figures(organization, date, managed)
        .filter(pk__in=matching)
        .select_related("managing_committee", "locality")
        .annotate(committee_name=committee_name)
    )


#: The figures of :func:`count_gap_enterprises`: the gaps and the operating enterprises.
_GAP_FIGURES = (*standing.GAP_FIGURES, "operating")

#: The committees' standing figures the gaps report reads.
_GAP_STANDING = (*standing.GAP_FIGURES, "enterprises_operating")


def _as_gap_figures(groups):
    """The committees' standing figures as the gaps report names them (each figure present)."""
    return {
        path: {
            **dict.fromkeys(_GAP_FIGURES, 0),
            **{"operating" if m == "enterprises_operating" else m: v for m, v in values.items()},
        }
        for path, values in groups.items()
    }


def _enterprise_gap_figures(cursor, tree, organization, date):
    """``{(today's committee path, that date's): {figure: count}}``: what the enterprises that
    ``tree`` sees under another committee than today's count in the gaps on ``date``. One query,
    grouped by the pair of committees (only those in different rows of ``organization``'s report)."""
    pairs = tree.enterprise_pairs(organization.path)
    if not pairs:
        return {}
    values, values_params = standing.values_on_sql("enterprise", date, standing.GAP_FIGURES)
    moved, moved_params = tree.moved_enterprises_sql(pairs)
    flags = ", ".join(
        f"SUM(CASE WHEN v.metric = '{metric}' THEN v.value ELSE 0 END)" for metric in standing.GAP_FIGURES
    )
    sql = f"""
        WITH m AS ({moved})
        SELECT m.today_path, m.then_path, {flags},
            COUNT(DISTINCT CASE WHEN e.operating_status = '{OperatingStatus.OPERATING}' THEN e.id END)
        FROM {Enterprise._meta.db_table} e
        INNER JOIN m ON m.e = e.id
        LEFT JOIN ({values}) v ON v.k = e.id
        GROUP BY 1, 2
    """
    cursor.execute(sql, [*moved_params, *values_params])
    return {
        (today_path, then_path): {name: int(value or 0) for name, value in zip(_GAP_FIGURES, values, strict=True)}
        for today_path, then_path, *values in cursor
    }


def count_gap_enterprises(organization, date, tree=None):
    """``{row path: {figure: count}}`` of the enterprise gaps on ``date`` by the organisations
    directly below ``organization`` on ``tree``'s date (default: ``DatedTree(date)``), each
    enterprise counted for the committee that managed it then.

    Read from the standing counts' roll-up (``reports.rollups.standing``): the enterprises' gap
    flags summed per committee and subtree. Grouped by today's tree and committees, then, as
    :func:`structure_groups_on` does, regrouped on the tree of the date (the subtree totals of the
    restructured organisations that matter: one more query pair, whatever their number) and the
    figures of the enterprises that passed to another committee since moved to the row of the
    committee of the date (one more query, from the enterprises' flags).
    """
    tree = dated_tree(date) if tree is None else tree
    anchors, _outside = tree.anchors(organization.path) if tree.moved else (set(), [])
    groups = _as_gap_figures(_own_and_children(organization, date, _GAP_STANDING))
    anchor_totals = _as_gap_figures(_subtree_totals(anchors, date, _GAP_STANDING))
    with _room_for_aggregates(Enterprise.objects.db), connections[Enterprise.objects.db].cursor() as cursor:
        enterprise_figures = _enterprise_gap_figures(cursor, tree, organization, date)
    if anchors:
        totals = {**groups, organization.path: dict(_total(groups))}  # ``groups`` holds the own figures under that key
        totals.update(anchor_totals)
        groups = _regrouped(totals, tree, organization)
    return _moved_enterprise_figures(groups, tree, organization, enterprise_figures)


def raw_count_gap_enterprises(organization, date, tree=None):
    """``{row path: {figure: count}}`` of the enterprise gaps on ``date`` from the raw tables: two
    queries (the check of :func:`count_gap_enterprises`, counted another way).

    The members are counted per enterprise once (one grouped scan of the members with a period
    in force), joined to their enterprises in the subtree that have no active Party organisation
    (an anti-join), and tallied by the child of ``organization``; the operating enterprises and
    those with an active trade union (a distinct set, hash-joined) are tallied in a second query.
    Two statements rather than one: a parallel plan would otherwise rebuild the member counts in
    every worker.

    When the tree or the committees of ``date`` (``tree``, default ``DatedTree(date)``) differ from
    today's, each enterprise is tallied by the path of the committee that managed it then (its
    period in force on ``date`` if it passed to another committee since), and each path put in
    its row on the tree of the date.
    """
    tree = dated_tree(date) if tree is None else tree
    length = (organization.depth + 1) * Organization.steplen
    enterprise = Enterprise._meta.db_table
    committee = Organization._meta.db_table
    member = Member._meta.db_table
    period = MembershipPeriod._meta.db_table
    mass = MassOrganization._meta.db_table
    params = {
        "eligible": ELIGIBLE_OFFICIAL_MEMBERS,
        "operating": str(OperatingStatus.OPERATING),
        "trade_union": str(MassOrganizationKind.TRADE_UNION),
        "date": date.isoformat(),
        "subtree": organization.path + "%",
    }
    dated = bool(tree.moved or tree.enterprises)
    if dated:
        managed = ManagingCommitteePeriod._meta.db_table
        # the committee of the date: its period then for an enterprise that passed to another since
        join = f"""
            LEFT JOIN {managed} mp ON mp.enterprise_id = e.id
                AND (mp.valid_from IS NULL OR mp.valid_from <= %(date)s)
                AND (mp.valid_to IS NULL OR mp.valid_to > %(date)s)
                AND e.id IN (SELECT enterprise_id FROM {managed} WHERE valid_from > %(date)s)
            LEFT JOIN {committee} mc ON mc.id = mp.committee_id
        """
        key = "COALESCE(mc.path, c.path)"
        outside = tree.anchors(organization.path)[1] if tree.moved else []
        params.update({f"outside{index}": path + "%" for index, path in enumerate(outside)})
        where = " OR ".join(
            f"{key} LIKE %({name})s" for name in ["subtree", *(f"outside{i}" for i in range(len(outside)))]
        )
        where = f"({where})"
    else:
        join, key, where = "", f"SUBSTR(c.path, 1, {length})", "c.path LIKE %(subtree)s"
    members_sql = f"""
        SELECT {key} AS child,
            SUM(CASE WHEN n.official_members >= %(eligible)s THEN 1 ELSE 0 END),
            SUM(CASE WHEN n.active_members BETWEEN 1 AND 2 THEN 1 ELSE 0 END)
        FROM (
            SELECT m.enterprise_id, COUNT(*) AS active_members,
                SUM(CASE WHEN m.official_on <= %(date)s THEN 1 ELSE 0 END) AS official_members
            FROM {member} m
            WHERE m.enterprise_id IS NOT NULL AND EXISTS (
                SELECT 1 FROM {period} p WHERE p.member_id = m.id AND p.started_on <= %(date)s
                AND (p.ended_on IS NULL OR p.ended_on > %(date)s))
            GROUP BY m.enterprise_id
        ) n
        INNER JOIN {enterprise} e ON e.id = n.enterprise_id
        INNER JOIN {committee} c ON c.id = e.managing_committee_id
        {join}
        WHERE {where} AND NOT EXISTS (
            SELECT 1 FROM {committee} o WHERE o.enterprise_id = e.id AND o.established_on <= %(date)s
            AND (o.dissolved_on IS NULL OR o.dissolved_on > %(date)s))
        GROUP BY 1
    """
    enterprises_sql = f"""
        SELECT {key} AS child,
            SUM(CASE WHEN t.enterprise_id IS NOT NULL THEN 1 ELSE 0 END), COUNT(*)
        FROM {enterprise} e
        INNER JOIN {committee} c ON c.id = e.managing_committee_id
        {join}
        LEFT JOIN (
            SELECT DISTINCT enterprise_id FROM {mass}
            WHERE kind = %(trade_union)s AND established_on <= %(date)s
            AND (dissolved_on IS NULL OR dissolved_on > %(date)s)
        ) t ON t.enterprise_id = e.id
        WHERE {where} AND e.operating_status = %(operating)s
        GROUP BY 1
    """
    database = Enterprise.objects.db
    groups = []
    with _room_for_aggregates(database), connections[database].cursor() as cursor:
        for sql, names in (
            (members_sql, ("eligible_enterprises", "enterprises_with_one_or_two_members")),
            (enterprises_sql, ("trade_union_share", "operating")),
        ):
            cursor.execute(sql, params)
            groups.append(
                {row[0]: {name: value or 0 for name, value in zip(names, row[1:], strict=True)} for row in cursor}
            )
    if not dated:
        return _merge(*groups)
    rows = defaultdict(lambda: defaultdict(int))
    for path, values in _merge(*groups).items():
        row = tree.row_of(path, organization.path)
        if row is not None:
            for name, value in values.items():
                rows[row][name] += value
    return {path: dict(values) for path, values in rows.items()}


ELIGIBLE = Q(has_party_organization=False, official_members__gte=ELIGIBLE_OFFICIAL_MEMBERS)
ONE_OR_TWO_MEMBERS = Q(has_party_organization=False, active_members__gte=1, active_members__lte=2)
OPERATING = Q(operating_status=OperatingStatus.OPERATING)


def stagnant_organizations(organization, date, stagnant_years=3, tree=None):
    """Grassroots organisations in ``organization``'s subtree on ``date`` (on ``tree``, default
    ``DatedTree(date)``), active then, established before the last ``stagnant_years`` years, that
    admitted nobody in those years (admissions by the organisations below them on ``date`` count).

    A list in the tree's order, each with its name of ``date`` and ``last_admitted_on`` (None:
    never). On today's tree over the standard window, the candidates that admitted somebody are
    told by their subtree's recent admissions in the standing roll-up (a few rows each), and only
    the stagnant ones are read whole; otherwise by the last admission of every organisation of
    the subtree (see :func:`_last_admissions`).
    """
    tree = dated_tree(date) if tree is None else tree
    top = organization.path
    window_start = years_before(date, stagnant_years)
    if stagnant_years == standing.RECENT_YEARS and not _grassroots_restructured(tree):
        return _stagnant_from_recent_admissions(organization, date, window_start, tree)
    outside = tree.anchors(top)[1] if tree.moved else []
    candidates = list(_stagnant_candidates(subtree_q("path", top, outside), date, window_start).order_by("path"))
    if tree.moved:
        candidates = sorted(
            (candidate for candidate in candidates if tree.row_of(candidate.path, top) is not None),
            key=lambda candidate: tree.key(candidate.path),
        )
    for candidate in candidates if tree.names else ():
        candidate.name = tree.name(candidate)
    last_by_path = _last_admissions(Organization.objects.filter(subtree_q("path", top, outside)), date, tree, top)
    stagnant = []
    for candidate in candidates:
        candidate.last_admitted_on = last_by_path.get(candidate.path)
        if candidate.last_admitted_on is None or candidate.last_admitted_on <= window_start:
            stagnant.append(candidate)
    return stagnant


def _stagnant_candidates(where, date, window_start):
    """Grassroots organisations ``where``, active on ``date``, established by ``window_start``."""
    return (
        Organization.objects.filter(where, kind__in=GRASSROOTS_KINDS)
        .active_on(date)
        .filter(established_on__lte=window_start)
    )


def _last_admissions(organizations, date, tree, top):
    """``{path: day}``: the last admission up to ``date`` in the subtree of each organisation, on
    ``tree`` (read for ``organizations``, an index probe each into the members' admissions by
    admitting organisation and day, carried up to the organisations above them: by path prefix
    below ``top`` on today's tree, through their ancestors on the date's when it differs)."""
    last_admission = (
        Member.objects.filter(admitted_by=OuterRef("pk"), admitted_on__lte=date)
        .order_by("-admitted_on")
        .values("admitted_on")[:1]
    )
    admissions = organizations.order_by().annotate(last=Subquery(last_admission)).values_list("path", "last")
    last_by_path = {}
    steplen = Organization.steplen
    for path, last in admissions:
        if last is None:
            continue
        if tree.moved:
            above = tree.ancestors(path)
        else:
            above = (path[:end] for end in range(len(top), len(path) + 1, steplen))
        for prefix in above:
            if last_by_path.get(prefix) is None or last_by_path[prefix] < last:
                last_by_path[prefix] = last
    return last_by_path


def _grassroots_restructured(tree):
    """Whether some grassroots organisation held on ``tree``'s date other organisations below it
    than today (one moved or merged below it then or today): only then do the recent admissions
    of its subtree on today's tree miss or add some. Kept with the tree (one query per chunk of
    the paths above the restructured organisations)."""
    if not tree.moved and not tree.merged:
        return False
    if not hasattr(tree, "grassroots_restructured"):
        steplen = Organization.steplen
        above = set()
        for path in {*tree.moved, *tree.merged}:
            above.update(path[:end] for end in range(steplen, len(path), steplen))
            above.update(tree.ancestors(path)[1:])
        tree.grassroots_restructured = any(
            Organization.objects.filter(path__in=chunk, kind__in=GRASSROOTS_KINDS).exists()
            for chunk in chunks(sorted(above))
        )
    return tree.grassroots_restructured


def _stagnant_from_recent_admissions(organization, date, window_start, tree):
    """:func:`stagnant_organizations` over the standing counts' window, when no grassroots
    organisation's subtree was restructured since ``date``: the candidates whose subtree's recent
    admissions in the standing roll-up stand at zero (a row or two each, summed in the database),
    read whole with the last admission of their subtree."""
    top = organization.path
    outside = tree.anchors(top)[1] if tree.moved else []
    prefixes = [top, *outside]
    kinds = ", ".join(f"'{kind}'" for kind in GRASSROOTS_KINDS)
    candidates = standing.subtrees_without(
        date,
        standing.RECENT_ADMISSIONS,
        "(" + " OR ".join(["a.path LIKE %s"] * len(prefixes)) + f") AND a.kind IN ({kinds}) "
        "AND a.established_on <= %s AND (a.dissolved_on IS NULL OR a.dissolved_on > %s)",
        [*(prefix + "%" for prefix in prefixes), window_start.isoformat(), date.isoformat()],
    )
    stagnant_ids = [pk for pk, path in candidates if not tree.moved or tree.row_of(path, top) is not None]
    stagnant = []
    for chunk in chunks(stagnant_ids):
        stagnant += Organization.objects.filter(pk__in=chunk)
    stagnant.sort(key=lambda candidate: tree.key(candidate.path) if tree.moved else candidate.path)
    for candidate in stagnant if tree.names else ():
        candidate.name = tree.name(candidate)
    # Their subtrees' last admissions: a branch's own, a grassroots committee's with its branches'.
    last_by_path = {}
    leaves = [candidate.pk for candidate in stagnant if not candidate.numchild]
    above = [candidate.path for candidate in stagnant if candidate.numchild]
    for chunk in chunks(leaves):
        last_by_path.update(_last_admissions(Organization.objects.filter(pk__in=chunk), date, tree, top))
    for chunk in chunks(above, 100):
        below = Q()
        for path in chunk:
            below |= Q(path__startswith=path)
        last_by_path.update(_last_admissions(Organization.objects.filter(below), date, tree, top))
    for candidate in stagnant:
        candidate.last_admitted_on = last_by_path.get(candidate.path)
    return stagnant


def _grouped_list_on(objects, organization, name, tree):
    """``{row path: {name: count}}`` of organisations already read, by the organisation directly
    below ``organization`` on ``tree``'s date that they stood in."""
    if not tree.moved:
        return _grouped_list(objects, organization, name)
    groups = defaultdict(lambda: {name: 0})
    for obj in objects:
        row = tree.row_of(obj.path, organization.path)
        if row is not None:
            groups[row][name] += 1
    return dict(groups)


def gaps(organization, date, stagnant_years=3, tree=None):
    """Where Party building lags on ``date`` (rule 7), with the lists the dashboard links to, by
    the organisations directly below ``organization`` on that date and the committees that
    managed the enterprises then (``tree`` as for :func:`structure`)."""
    tree = dated_tree(date) if tree is None else tree
    children = children_on(organization, tree)
    stagnant = stagnant_organizations(organization, date, stagnant_years, tree)
    groups = _merge(
        count_gap_enterprises(organization, date, tree),
        _grouped_list_on(stagnant, organization, "stagnant_organizations", tree),
    )

    def rows_for(values):
        rows = _figure_rows(values, GAP_METRICS)
        rows[-1].total = values.get("operating", 0)
        return rows

    return GapsReport(
        organization=organization,
        date=date,
        stagnant_years=stagnant_years,
        rows=rows_for(_total(groups)),
        children=_parts(organization, children, groups, date, rows_for),
        eligible_enterprises=_gap_list(organization, date, "eligible", tree),
        small_enterprises=_gap_list(organization, date, "small", tree),
        stagnant_organizations=stagnant,
    )


# Whole gap lists (issue 16): the dashboard shows the first ones, these pages and exports all of them.

GAP_LISTS = ("eligible-enterprises", "small-enterprises", "stagnant-organizations")


def gap_list(organization, date, kind, stagnant_years=3):
    """Every row of one of the dashboard's gap lists on ``date``, those its figure counts (on the
    tree and with the committees of ``date``): enterprises (a queryset, in Vietnamese name order)
    or organisations (a list, in tree order)."""
    if kind not in GAP_LISTS:
        raise ValueError(kind)
    tree = dated_tree(date)
    if kind == "eligible-enterprises":
        return _gap_list(organization, date, "eligible", tree)
    if kind == "small-enterprises":
        return _gap_list(organization, date, "small", tree)
    return stagnant_organizations(organization, date, stagnant_years, tree)
