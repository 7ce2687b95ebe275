"""The standing counts: what stands in each organisation and enterprise on any date.

Structure (DOMAIN.md rule 6) and the enterprise gaps (rule 7) count what is in force on a date,
not what happened in a period, so the roll-ups cannot answer them. ``StandingCount`` and
``EnterpriseStandingCount`` hold, per organisation and per enterprise, the changes by day (an
organisation established +1 and dissolved −1, a membership period opened +1 and closed −1, a
mass organisation's latest membership total stepping from one return to the next, …) and their
total. A figure on a date is the sum of the changes up to it, read from the smaller side: the
total less the changes after the date (today: almost none), or the changes up to it. Some figures
are flags (1 while an enterprise is a gap, while an organisation has a business owner or admitted
somebody lately), so that they add up. ``StandingRollup`` sums the organisations' changes per
subtree and month: :func:`subtree_figures` reads any subtree on any date in two queries.

The domain events name what they touched; :func:`refresh_organizations` (or only the figures an
event changes, :func:`refresh_members`, :func:`refresh_admissions`) and :func:`refresh_enterprises`
recount the rows of those keys from the raw tables, whatever their number, and write the
differences to the rows and the roll-up, so the order in which a service announces its changes
does not matter. :func:`rebuild` recounts everything and :func:`differences` compares
(``manage.py verify_rollups``).
"""

import datetime
from collections import defaultdict

from django.core.cache import cache
from django.db import connection, connections, router
from django.utils import timezone

from branches.choices import GRASSROOTS_KINDS, OrganizationKind
from core.dates import add_years
from core.models import values_relations
from enterprises.choices import MassOrganizationKind, OperatingStatus
from reports.rollups.common import IDS_CHUNK, STEPLEN, ids_in, levels_sql, month_sql
from reports.rollups.maintain import apply_counts, shift_subtrees

#: The day of the undated figures (counted on every date).
FIRST_DAY = datetime.date(1, 1, 1)
#: The day of each key's totals (the sum of its other rows).
TOTAL_DAY = datetime.date(9999, 12, 31)

#: The structure figures an organisation of each kind counts for itself while active.
KIND_FIGURES = [
    *((kind, "party_organizations") for kind in GRASSROOTS_KINDS),
    (OrganizationKind.GRASSROOTS_COMMITTEE, "grassroots_committees"),
    (OrganizationKind.GRASSROOTS_BRANCH, "branches"),
    (OrganizationKind.SUBORDINATE_BRANCH, "branches"),
    (OrganizationKind.GRASSROOTS_BRANCH, "grassroots_branches"),
    (OrganizationKind.SUBORDINATE_BRANCH, "subordinate_branches"),
]
MASS_KIND_FIGURES = [
    (MassOrganizationKind.TRADE_UNION, "trade_unions"),
    (MassOrganizationKind.YOUTH_UNION, "youth_unions"),
]

#: The fewest official members that make an enterprise without a Party organisation a gap (rule 7).
ELIGIBLE_OFFICIAL_MEMBERS = 3

#: The gap figures (rule 7). Per enterprise a flag (1 while the enterprise is such a gap, 0 when
#: not), per managing committee the count of its enterprises that are: an enterprise without an
#: active Party organisation with enough official members, one without with one or two members,
#: an operating enterprise with an active trade union.
GAP_FIGURES = ("eligible_enterprises", "enterprises_with_one_or_two_members", "trade_union_share")

#: Whether an organisation admitted somebody in the last ``RECENT_YEARS`` years before a date
#: (the gaps' stagnant organisations did not): a flag, on from an admission until the same day
#: ``RECENT_YEARS`` after the last one (1 March for 29 February), so that a subtree's roll-up
#: counts its organisations that did, in a row or two each.
RECENT_ADMISSIONS = "recent_admissions"
RECENT_YEARS = 3

#: The organisations with a business owner among their members (a flag per organisation).
OWNER_ORGANIZATIONS = "organizations_with_owners"

#: The figures of the structure report (the others: the recent admissions and the gap figures).
STRUCTURE_FIGURES = (
    *dict.fromkeys(metric for _kind, metric in KIND_FIGURES),
    "members",
    "business_owners",
    OWNER_ORGANIZATIONS,
    "enterprises",
    "enterprises_operating",
    "mass_organizations",
    *(metric for _kind, metric in MASS_KIND_FIGURES),
    "mass_organization_members",
)

ORGANIZATION_TABLE = "reports_standingcount"
ENTERPRISE_TABLE = "reports_enterprisestandingcount"
ROLLUP_TABLE = "reports_standingrollup"


def _greatest(a, b):
    return f"GREATEST({a}, {b})" if connection.vendor == "postgresql" else f"MAX({a}, {b})"


def _date(day):
    """A date literal (SQLite keeps dates as ISO text)."""
    return f"DATE '{day.isoformat()}'" if connection.vendor == "postgresql" else f"'{day.isoformat()}'"


def _recent_until(column):
    """The first day on which an admission on ``column`` is no longer among the last
    :data:`RECENT_YEARS` years' (``years_before(day, RECENT_YEARS) >= column``): the same day that
    many years later, 1 March for 29 February (as SQLite's date arithmetic has it)."""
    if connection.vendor == "postgresql":
        later = f"CAST({column} + INTERVAL '{RECENT_YEARS} years' AS date)"
        return (
            f"CASE WHEN EXTRACT(MONTH FROM {column}) = 2 AND EXTRACT(DAY FROM {column}) = 29 "
            f"THEN {later} + 1 ELSE {later} END"
        )
    return f"date({column}, '+{RECENT_YEARS} years')"


def _pairs(pairs):
    """A subquery of ``(kind, metric)`` rows."""
    values = ", ".join(f"('{a}', '{b}')" for a, b in pairs)
    return f"(SELECT column1 AS kind, column2 AS metric FROM (VALUES {values}) v)"


def _organization_changes_sql(ids):
    """(k, day, metric, v): every change counted for the organisations ``ids`` (None: all)."""
    committee = ids_in("e.managing_committee_id", ids)
    dissolved = _greatest("mo.dissolved_on", "mo.established_on")
    mass = (
        "FROM enterprises_massorganization mo JOIN enterprises_enterprise e ON e.id = mo.enterprise_id "
        f"{{join}} WHERE {committee}"
    )
    plain = mass.format(join="")
    by_kind = mass.format(join=f"JOIN {_pairs(MASS_KIND_FIGURES)} k ON k.kind = mo.kind")
    org_kinds = (
        f"FROM branches_organization o JOIN {_pairs(KIND_FIGURES)} k ON k.kind = o.kind WHERE {ids_in('o.id', ids)}"
    )
    enterprises = f"FROM enterprises_enterprise e WHERE {committee}"
    # A mass organisation's members: each return within its life steps the total from the
    # previous return's (from the founding day on); the dissolution takes the last total away.
    steps = (
        f"SELECT e.managing_committee_id AS k, {_greatest('r.date', 'mo.established_on')} AS day, "
        "r.members_total - COALESCE(LAG(r.members_total) OVER (PARTITION BY r.mass_organization_id "
        "ORDER BY r.date), 0) AS v FROM enterprises_membershipreturn r "
        "JOIN enterprises_massorganization mo ON mo.id = r.mass_organization_id "
        "JOIN enterprises_enterprise e ON e.id = mo.enterprise_id "
        f"WHERE {committee} AND (mo.dissolved_on IS NULL OR r.date < mo.dissolved_on)"
    )
    last_total = (
        "(SELECT r.members_total FROM enterprises_membershipreturn r WHERE r.mass_organization_id = mo.id "
        "AND r.date < mo.dissolved_on ORDER BY r.date DESC LIMIT 1)"
    )
    parts = [
        f"SELECT o.id AS k, o.established_on AS day, k.metric AS metric, 1 AS v {org_kinds}",
        f"SELECT o.id, o.dissolved_on, k.metric, -1 {org_kinds} AND o.dissolved_on IS NOT NULL",
        _member_changes_sql(ids),
        _admission_changes_sql(ids),
        f"SELECT e.managing_committee_id, {_date(FIRST_DAY)}, 'enterprises', 1 {enterprises}",
        f"SELECT e.managing_committee_id, {_date(FIRST_DAY)}, 'enterprises_operating', 1 {enterprises} "
        f"AND e.operating_status = '{OperatingStatus.OPERATING}'",
        f"SELECT e.managing_committee_id, mo.established_on, 'mass_organizations', 1 {plain}",
        f"SELECT e.managing_committee_id, {dissolved}, 'mass_organizations', -1 {plain} "
        "AND mo.dissolved_on IS NOT NULL",
        f"SELECT e.managing_committee_id, mo.established_on, k.metric, 1 {by_kind}",
        f"SELECT e.managing_committee_id, {dissolved}, k.metric, -1 {by_kind} AND mo.dissolved_on IS NOT NULL",
        f"SELECT s.k, s.day, 'mass_organization_members', s.v FROM ({steps}) s",
        f"SELECT e.managing_committee_id, {dissolved}, 'mass_organization_members', -{last_total} {plain} "
        "AND mo.dissolved_on IS NOT NULL",
        _committee_gap_changes_sql(ids),
    ]
    return " UNION ALL ".join(parts)


#: The figures the members' periods make (see :func:`refresh_members`).
MEMBER_FIGURES = ("members", "business_owners", OWNER_ORGANIZATIONS)
#: The figures the admissions make (see :func:`refresh_admissions`).
ADMISSION_FIGURES = (RECENT_ADMISSIONS,)


def _member_changes_sql(ids):
    """(k, day, metric, v): the members of the organisations ``ids`` (None: all) by their periods,
    those who own a business, and the flag of an organisation with one."""
    periods = f"FROM branches_membershipperiod p WHERE {ids_in('p.organization_id', ids)}"
    owners = _owners_from(ids)
    parts = [
        f"SELECT p.organization_id AS k, p.started_on AS day, 'members' AS metric, 1 AS v {periods}",
        f"SELECT p.organization_id, p.ended_on, 'members', -1 {periods} AND p.ended_on IS NOT NULL",
        f"SELECT p.organization_id, p.started_on, 'business_owners', 1 {owners}",
        f"SELECT p.organization_id, p.ended_on, 'business_owners', -1 {owners} AND p.ended_on IS NOT NULL",
        _owner_flag_changes_sql(owners),
    ]
    return " UNION ALL ".join(parts)


def _owners_from(ids):
    """The FROM clause of the periods ``p`` of business owners in the organisations ``ids``."""
    return (
        "FROM branches_membershipperiod p JOIN branches_member m ON m.id = p.member_id "
        f"WHERE m.is_business_owner AND {ids_in('p.organization_id', ids)}"
    )


def _owner_flag_sql(ids):
    """(k, day, metric, v): the flag of the organisations ``ids`` with a business owner among their members."""
    return _owner_flag_changes_sql(_owners_from(ids))


def _admission_changes_sql(ids):
    """(k, day, metric, v): the flag of recent admissions of the organisations ``ids`` (None: all).
    Their last admission before a date is not kept here: the members' index on the admitting
    organisation and the day answers it (``reports.engine``'s stagnant organisations)."""
    admitted = f"FROM branches_member m WHERE {ids_in('m.admitted_by_id', ids)}"
    recent = (
        f"SELECT m.admitted_by_id AS k, m.admitted_on AS day, 1 AS v {admitted} UNION ALL "
        f"SELECT m.admitted_by_id, {_recent_until('m.admitted_on')}, -1 {admitted}"
    )
    return _flag_changes_sql(RECENT_ADMISSIONS, recent)


def _owner_flag_changes_sql(owners):
    """(k, day, metric, v): ``organizations_with_owners`` of each organisation, 1 while a business
    owner is among its members (``owners``: the FROM clause of their periods ``p``), so that the
    roll-up per subtree counts such organisations by adding."""
    return _flag_changes_sql(
        OWNER_ORGANIZATIONS,
        f"SELECT p.organization_id AS k, p.started_on AS day, 1 AS v {owners} UNION ALL "
        f"SELECT p.organization_id, p.ended_on, -1 {owners} AND p.ended_on IS NOT NULL",
    )


def _flag_changes_sql(metric, changes):
    """(k, day, metric, v): ``metric``, a flag of each key stepping on (+1) and off (−1): on while
    the running sum of ``changes`` (SELECT k, day, v) is above zero. A subtree's roll-up of a flag
    counts its keys that are on, in a row or two per key whatever the changes behind it."""
    by_day = (
        f"SELECT b.k, b.day, SUM(b.v) AS v FROM ({changes}) b "
        "WHERE b.k IS NOT NULL AND b.day IS NOT NULL GROUP BY b.k, b.day"
    )
    flags = (
        "SELECT r.k, r.day, CASE WHEN SUM(r.v) OVER (PARTITION BY r.k ORDER BY r.day ROWS UNBOUNDED PRECEDING) > 0 "
        f"THEN 1 ELSE 0 END AS f FROM ({by_day}) r"
    )
    return _steps_sql(flags, column="f", metric=metric)


def _steps_sql(flags, *, column, metric):
    """(k, day, metric, v): the flag ``column`` of ``flags`` (SELECT k, day, …, one row per key and
    day) as ``metric``'s changes: each day's flag less the day before's, where it changed."""
    steps = (
        f"SELECT s.k, s.day, s.{column} - COALESCE(LAG(s.{column}) OVER (PARTITION BY s.k ORDER BY s.day), 0) AS v "
        f"FROM ({flags}) s"
    )
    return f"SELECT o.k AS k, o.day AS day, '{metric}' AS metric, o.v AS v FROM ({steps}) o WHERE o.v <> 0"


def _enterprise_figure_changes_sql(ids):
    """(k, day, metric, v): the members, official members and trade unions of the enterprises ``ids`` (None: all)."""
    official_from = _greatest("p.started_on", "m.official_on")
    periods = (
        "FROM branches_membershipperiod p JOIN branches_member m ON m.id = p.member_id "
        f"WHERE m.enterprise_id IS NOT NULL AND {ids_in('m.enterprise_id', ids)}"
    )
    official = f"{periods} AND m.official_on IS NOT NULL AND (p.ended_on IS NULL OR {official_from} < p.ended_on)"
    trade_unions = (
        f"FROM enterprises_massorganization mo WHERE mo.kind = '{MassOrganizationKind.TRADE_UNION}' "
        f"AND {ids_in('mo.enterprise_id', ids)}"
    )
    parts = [
        f"SELECT m.enterprise_id AS k, p.started_on AS day, 'members' AS metric, 1 AS v {periods}",
        f"SELECT m.enterprise_id, p.ended_on, 'members', -1 {periods} AND p.ended_on IS NOT NULL",
        f"SELECT m.enterprise_id, {official_from}, 'official_members', 1 {official}",
        f"SELECT m.enterprise_id, p.ended_on, 'official_members', -1 {official} AND p.ended_on IS NOT NULL",
        f"SELECT mo.enterprise_id, mo.established_on, 'trade_unions', 1 {trade_unions}",
        f"SELECT mo.enterprise_id, {_greatest('mo.dissolved_on', 'mo.established_on')}, 'trade_unions', -1 "
        f"{trade_unions} AND mo.dissolved_on IS NOT NULL",
    ]
    return " UNION ALL ".join(parts)


def _enterprise_gap_changes_sql(ids):
    """(k, day, metric, v): each gap flag of the enterprises ``ids`` (None: all) stepping on (+1)
    and off (−1), from their figures and their Party organisations by day (a running sum per
    enterprise, then each flag against the day before). Whether the enterprise operates is
    undated, as in the structure report: a change of it recounts the enterprise."""
    parties = f"FROM branches_organization o WHERE o.enterprise_id IS NOT NULL AND {ids_in('o.enterprise_id', ids)}"
    changes = " UNION ALL ".join(
        [
            _enterprise_figure_changes_sql(ids),
            f"SELECT o.enterprise_id, o.established_on, 'party_organizations', 1 {parties}",
            f"SELECT o.enterprise_id, {_greatest('o.dissolved_on', 'o.established_on')}, 'party_organizations', -1 "
            f"{parties} AND o.dissolved_on IS NOT NULL",
        ]
    )
    running_figures = ("members", "official_members", "trade_unions", "party_organizations")
    by_day = (
        "SELECT c.k, c.day, "
        + ", ".join(
            f"SUM(CASE WHEN c.metric = '{metric}' THEN c.v ELSE 0 END) AS {metric}" for metric in running_figures
        )
        + f" FROM ({changes}) c WHERE c.k IS NOT NULL AND c.day IS NOT NULL GROUP BY c.k, c.day"
    )
    running = (
        "SELECT d.k, d.day, "
        + ", ".join(
            f"SUM(d.{metric}) OVER (PARTITION BY d.k ORDER BY d.day ROWS UNBOUNDED PRECEDING) AS {metric}"
            for metric in running_figures
        )
        + f" FROM ({by_day}) d"
    )
    flags = (
        "SELECT r.k, r.day, "
        f"CASE WHEN r.party_organizations <= 0 AND r.official_members >= {int(ELIGIBLE_OFFICIAL_MEMBERS)} "
        "THEN 1 ELSE 0 END AS eligible_enterprises, "
        "CASE WHEN r.party_organizations <= 0 AND r.members BETWEEN 1 AND 2 "
        "THEN 1 ELSE 0 END AS enterprises_with_one_or_two_members, "
        f"CASE WHEN e.operating_status = '{OperatingStatus.OPERATING}' AND r.trade_unions > 0 "
        "THEN 1 ELSE 0 END AS trade_union_share "
        f"FROM ({running}) r JOIN enterprises_enterprise e ON e.id = r.k"
    )
    return " UNION ALL ".join(_steps_sql(flags, column=metric, metric=metric) for metric in GAP_FIGURES)


def _enterprise_changes_sql(ids):
    """(k, day, metric, v): every change counted for the enterprises ``ids`` (None: all)."""
    return f"{_enterprise_figure_changes_sql(ids)} UNION ALL {_enterprise_gap_changes_sql(ids)}"


def _committee_gap_changes_sql(ids):
    """(k, day, metric, v): the gap flags of the enterprises each committee ``ids`` (None: all)
    manages today, summed by day. Read from the enterprises' standing counts, which are recounted
    first (see :func:`refresh`)."""
    listed = ", ".join(f"'{metric}'" for metric in GAP_FIGURES)
    return (
        "SELECT e.managing_committee_id AS k, s.day AS day, s.metric AS metric, s.value AS v "
        f"FROM {ENTERPRISE_TABLE} s JOIN enterprises_enterprise e ON e.id = s.enterprise_id "
        f"WHERE s.metric IN ({listed}) AND s.day < {_date(TOTAL_DAY)} "
        f"AND {ids_in('e.managing_committee_id', ids)}"
    )


#: The enterprises first: the committees' gap figures are summed from theirs.
KINDS = {
    "enterprise": (ENTERPRISE_TABLE, "enterprise_id", _enterprise_changes_sql),
    "organization": (ORGANIZATION_TABLE, "organization_id", _organization_changes_sql),
}


def recount_sql(kind, ids=None, changes=None):
    """SELECT key, day, metric, value: the exact rows (changes by day and totals) of ``ids`` (None:
    all), of every figure or of those ``changes`` (a function of ``ids`` as in :data:`KINDS`) counts."""
    _table, key, every_change = KINDS[kind]
    changes = changes or every_change
    return (
        f"WITH g AS (SELECT c.k AS k, c.day AS day, c.metric AS metric, SUM(c.v) AS v FROM ({changes(ids)}) c "
        "WHERE c.k IS NOT NULL AND c.day IS NOT NULL GROUP BY c.k, c.day, c.metric) "
        f"SELECT k AS {key}, day, metric, v AS value FROM g WHERE v <> 0 "
        f"UNION ALL SELECT k, {_date(TOTAL_DAY)}, metric, SUM(v) FROM g GROUP BY k, metric HAVING SUM(v) <> 0"
    )


def refresh(kind, ids, changes=None, metrics=None):
    """Recount the rows of the keys ``ids`` (organisations or enterprises) from the raw tables (of
    every figure, or of ``metrics``, those ``changes`` counts; see :func:`recount_sql`).

    The recount is compared with the stored rows and only the differences are written: the rows,
    and for organisations their roll-up per subtree (:func:`roll_up`)."""
    ids = sorted({int(i) for i in ids if i is not None})
    table, key, _changes = KINDS[kind]
    chosen = "" if metrics is None else "AND metric IN (" + ", ".join(f"'{metric}'" for metric in metrics) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(ids), IDS_CHUNK):
            chunk = ids[start : start + IDS_CHUNK]
            cursor.execute(
                f"SELECT d.k, d.day, d.metric, SUM(d.v) FROM ("
                f"SELECT {key} AS k, day, metric, -value AS v FROM {table} WHERE {ids_in(key, chunk)} {chosen} "
                f"UNION ALL SELECT * FROM ({recount_sql(kind, chunk, changes)}) r"
                ") d GROUP BY d.k, d.day, d.metric HAVING SUM(d.v) <> 0"
            )
            differences = [(k, _as_date(day), metric, int(v)) for k, day, metric, v in cursor.fetchall()]
            _add(kind, differences)


def _add(kind, differences):
    """Add ``differences`` ``[(key, day, metric, n)]`` to the rows of ``kind`` (those summing to
    zero go) and, for organisations, to their roll-up per subtree (:func:`roll_up`)."""
    if not differences:
        return
    table, key, _changes = KINDS[kind]
    columns = [("k", "bigint"), ("day", "date"), ("metric", "text"), ("v", "bigint")]
    with connection.cursor() as cursor:
        for values, params in values_relations(connection, columns, differences, size=200, alias="d"):
            cursor.execute(
                f"INSERT INTO {table} ({key}, day, metric, value) SELECT d.k, d.day, d.metric, d.v FROM {values} "
                # (the WHERE tells SQLite's parser that ON CONFLICT is not a join's ON)
                f"WHERE 1 = 1 ON CONFLICT ({key}, day, metric) "
                f"DO UPDATE SET value = {table}.value + excluded.value",
                params,
            )
        keys = sorted({row[0] for row in differences})
        for start in range(0, len(keys), IDS_CHUNK):
            cursor.execute(f"DELETE FROM {table} WHERE {ids_in(key, keys[start : start + IDS_CHUNK])} AND value = 0")
    if kind == "organization":
        roll_up(differences)


def _as_date(day):
    return day if isinstance(day, datetime.date) else datetime.date.fromisoformat(str(day))


def _month(day):
    return day if day in (FIRST_DAY, TOTAL_DAY) else day.replace(day=1)


def roll_up(differences):
    """Add the differences ``[(organisation id, day, metric, n)]`` of the standing counts to the
    roll-up of the organisation's subtree and of every subtree above it."""
    counts = defaultdict(int)
    for organization_id, day, metric, n in differences:
        counts[(organization_id, _month(day), metric)] += n
    apply_counts(counts, ROLLUP_TABLE)


def refresh_organizations(ids):
    refresh("organization", ids)


def refresh_members(ids):
    """Recount only the figures the members' periods make in the organisations ``ids``."""
    refresh("organization", ids, _member_changes_sql, MEMBER_FIGURES)


def refresh_admissions(ids):
    """Recount only the figures the admissions make for the admitting organisations ``ids``."""
    refresh("organization", ids, _admission_changes_sql, ADMISSION_FIGURES)


def admitted(admissions, periods=(), owners=frozenset()):
    """Members just admitted (``branches.events.MembersAdmitted``): their ``admissions``
    (``(admitting organisation id, admitted on, owner)``) and first ``periods`` (``Period``s; none
    when announced apart), ``owners`` the ids of those owning a business.

    What they add is added, not recounted from every member of their organisations: the
    members by day; the flag of recent admissions is extended over the days the new ones cover
    (:func:`recent_admission_steps`). The flag of the organisations with an owner is
    :func:`owners_arrived`'s, to be called after."""
    differences = defaultdict(int)
    for member_id, organization_id, day in periods:
        for metric in ("members", "business_owners") if member_id in owners else ("members",):
            differences[(organization_id, day, metric)] += 1
            differences[(organization_id, TOTAL_DAY, metric)] += 1
    rows = [(*key, n) for key, n in differences.items()]
    rows += recent_admission_steps(admissions)
    _add("organization", rows)


def owners_arrived(periods, owners):
    """Recount the flag of the organisations with an owner where one of the ``owners`` (member ids)
    arrived by one of these ``periods`` (see :func:`admitted`)."""
    with_owners = {organization_id for member_id, organization_id, _day in periods if member_id in owners}
    refresh("organization", with_owners, _owner_flag_sql, (OWNER_ORGANIZATIONS,))


def recent_until(day):
    """The first day on which an admission on ``day`` is no longer recent: Python's
    :func:`_recent_until` (29 February: 1 March, :data:`RECENT_YEARS` later)."""
    until = add_years(day, RECENT_YEARS)
    return until + datetime.timedelta(days=1) if (day.month, day.day) == (2, 29) else until


def _flag_intervals(steps):
    """The ``[on, off)`` days of a flag from its changes ``{day: n}`` (off None: on to the end)."""
    intervals, running, on = [], 0, None
    for day in sorted(steps):
        before, running = running, running + steps[day]
        if before <= 0 < running:
            on = day
        elif running <= 0 < before:
            intervals.append((on, day))
    if running > 0:
        intervals.append((on, None))
    return intervals


def _flag_steps(intervals):
    """``{day: ±1}``: the changes of a flag on over the union of ``intervals`` (``[on, off)``)."""
    merged = []
    for on, off in sorted((on, off or TOTAL_DAY) for on, off in intervals):
        if off <= on:
            continue  # an empty window (a negative RECENT_YEARS) turns nothing on
        if merged and on <= merged[-1][1]:  # overlapping or touching: one stretch
            merged[-1][1] = max(merged[-1][1], off)
        else:
            merged.append([on, off])
    steps = defaultdict(int)
    for on, off in merged:
        steps[on] += 1
        if off != TOTAL_DAY:
            steps[off] -= 1
    return steps


def recent_admission_steps(admissions):
    """``[(organisation id, day, metric, n)]``: what new ``admissions`` change in the stored
    flag of recent admissions of their organisations (one query). The flag is on over the union
    of each admission's window, so the new windows join the stored ones; the stored rows must be
    exact (as :func:`refresh` leaves them)."""
    windows = defaultdict(set)
    ends = {}  # an import's admissions share a few thousand days
    for organization_id, day, _owner in admissions:
        if organization_id is not None and day is not None:
            end = ends.get(day)
            if end is None:
                end = ends[day] = recent_until(day)
            windows[organization_id].add((day, end))
    if not windows:
        return []
    stored = defaultdict(dict)
    with connection.cursor() as cursor:
        ids = sorted(windows)
        for start in range(0, len(ids), IDS_CHUNK):
            cursor.execute(
                f"SELECT organization_id, day, value FROM {ORGANIZATION_TABLE} WHERE metric = %s "
                f"AND {ids_in('organization_id', ids[start : start + IDS_CHUNK])}",
                [RECENT_ADMISSIONS],
            )
            for organization_id, day, value in cursor.fetchall():
                stored[organization_id][_as_date(day)] = int(value)
    differences = []
    for organization_id, new_windows in windows.items():
        old = stored.get(organization_id, {})
        old_steps = {day: n for day, n in old.items() if day != TOTAL_DAY}
        new = _flag_steps([*_flag_intervals(old_steps), *new_windows])
        new[TOTAL_DAY] = sum(new.values())  # the flags still on at the end (see recount_sql)
        for day in old.keys() | new.keys():
            n = new.get(day, 0) - old.get(day, 0)
            if n:
                differences.append((organization_id, day, RECENT_ADMISSIONS, n))
    return differences


def refresh_enterprises(ids):
    """Recount the enterprises ``ids``, then the gap figures of the committees managing them."""
    ids = sorted({int(i) for i in ids if i is not None})
    if not ids:
        return
    refresh("enterprise", ids)
    committees = set()
    with connection.cursor() as cursor:
        for start in range(0, len(ids), IDS_CHUNK):
            cursor.execute(
                "SELECT DISTINCT managing_committee_id FROM enterprises_enterprise "
                f"WHERE {ids_in('id', ids[start : start + IDS_CHUNK])}"
            )
            committees.update(row[0] for row in cursor.fetchall() if row[0] is not None)
    refresh("organization", committees, _committee_gap_changes_sql, GAP_FIGURES)


def _rollup_sql():
    """SELECT organisation id, month, metric, value: the roll-up per subtree of every standing count."""
    month = month_sql("s.day")
    return (
        f"SELECT a.id, CASE WHEN s.day IN ({_date(FIRST_DAY)}, {_date(TOTAL_DAY)}) THEN s.day ELSE {month} END, "
        f"s.metric, SUM(s.value) FROM {ORGANIZATION_TABLE} s "
        "JOIN branches_organization o ON o.id = s.organization_id "
        f"JOIN {levels_sql()} lv ON lv.column1 * {STEPLEN} <= LENGTH(o.path) "
        f"JOIN branches_organization a ON a.path = SUBSTR(o.path, 1, lv.column1 * {STEPLEN}) "
        "GROUP BY 1, 2, 3 HAVING SUM(s.value) <> 0"
    )


def rebuild():
    """Recount every standing count from the raw tables, then their roll-up (inside the caller's transaction)."""
    with connection.cursor() as cursor:
        for kind, (table, key, _changes) in KINDS.items():
            cursor.execute(f"DELETE FROM {table}")
            cursor.execute(f"INSERT INTO {table} ({key}, day, metric, value) {recount_sql(kind)}")
            if connection.vendor == "postgresql":
                cursor.execute(f"ANALYZE {table}")
        cursor.execute(f"DELETE FROM {ROLLUP_TABLE}")
        cursor.execute(f"INSERT INTO {ROLLUP_TABLE} (organization_id, month, metric, value) {_rollup_sql()}")
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {ROLLUP_TABLE}")
    cache.delete(PIVOT_KEY)


def differences():
    """``[(kind, key, day, metric, stored, exact)]`` where the tables and a full recount disagree
    (kind ``rollup``: the roll-up against the sum of the standing counts as stored)."""
    found = defaultdict(lambda: [0, 0])
    compared = [
        (kind, f"SELECT {key}, day, metric, value FROM {table}", recount_sql(kind))
        for kind, (table, key, _changes) in KINDS.items()
    ]
    compared.append(("rollup", f"SELECT organization_id, month, metric, value FROM {ROLLUP_TABLE}", _rollup_sql()))
    with connection.cursor() as cursor:
        for kind, stored, exact in compared:
            stored = f"SELECT * FROM ({stored}) st WHERE st.value <> 0"
            cursor.execute(
                f"SELECT 's', * FROM (SELECT * FROM ({stored}) s1 EXCEPT SELECT * FROM ({exact}) e1) d1 "
                f"UNION ALL SELECT 'e', * FROM (SELECT * FROM ({exact}) e2 EXCEPT SELECT * FROM ({stored}) s2) d2"
            )
            for side, pk, day, metric, value in cursor.fetchall():
                found[(kind, pk, _as_date(day), metric)][0 if side == "s" else 1] = int(value)
    return [(*key, stored, exact) for key, (stored, exact) in sorted(found.items())]


def shift(moves):
    """Organisations moved (``(organisation id, old path, new path)``): their subtrees' roll-up
    leaves the old ancestors and joins the new ones (their own standing counts do not move)."""
    shift_subtrees(moves, ROLLUP_TABLE)


# Reading ----------------------------------------------------------------------------------


def _read_connection():
    """The connection the reports read from: the replica inside a report request when one is
    configured (``config.routers``), like every other read of the report."""
    from reports.models import StandingRollup

    return connections[router.db_for_read(StandingRollup)]


PIVOT_KEY = "reports:standing-pivot"


def _pivot(table):
    """The median day of ``table``'s changes: before it, the changes up to a date are the fewer;
    after it, those after the date. Cached for an hour (a choice of plan, not of result); on
    PostgreSQL the median of a sample of the table's pages (the whole table takes seconds)."""
    pivots = cache.get(PIVOT_KEY) or {}
    if table not in pivots:
        with _read_connection().cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY day) FROM {table} "
                    "TABLESAMPLE SYSTEM (1) REPEATABLE (0) WHERE day > %s AND day < %s",
                    [FIRST_DAY.isoformat(), TOTAL_DAY.isoformat()],
                )
            else:
                cursor.execute(
                    f"SELECT day FROM {table} WHERE day > %s AND day < %s ORDER BY day "
                    f"LIMIT 1 OFFSET (SELECT COUNT(*) / 2 FROM {table} WHERE day > %s AND day < %s)",
                    [FIRST_DAY.isoformat(), TOTAL_DAY.isoformat()] * 2,
                )
            row = cursor.fetchone()
            if row is not None and row[0] is None:
                row = None
        day = row[0] if row else TOTAL_DAY
        pivots[table] = day if isinstance(day, datetime.date) else datetime.date.fromisoformat(str(day))
        cache.set(PIVOT_KEY, pivots, 3600)
    return pivots[table]


def _month_pivot():
    """The month halfway between the first change and today: a subtree's roll-up holds a row per
    month and figure in about every month, so reading the months after a date costs less than
    those before it from here on. The first change is cached for an hour with the pivots."""
    pivots = cache.get(PIVOT_KEY) or {}
    if "first" not in pivots:
        with _read_connection().cursor() as cursor:
            cursor.execute(
                f"SELECT MIN(day) FROM {ORGANIZATION_TABLE} WHERE day > %s AND day < %s",
                [FIRST_DAY.isoformat(), TOTAL_DAY.isoformat()],
            )
            first = cursor.fetchone()[0]
        pivots["first"] = _as_date(first) if first is not None else None
        cache.set(PIVOT_KEY, pivots, 3600)
    first, today = pivots["first"], timezone.localdate()
    return _month(first + (today - first) / 2) if first is not None and first < today else _month(today)


def values_on_sql(kind, date, metrics=None):
    """``(sql, params)`` of SELECT key, metric, value: each key's figures on ``date`` (non-zero
    only), of every figure or of ``metrics``."""
    table, key, _changes = KINDS[kind]
    chosen = "" if metrics is None else "AND metric IN (" + ", ".join(f"'{metric}'" for metric in metrics) + ")"
    if date < _pivot(table):
        sql = (
            f"SELECT {key} AS k, metric, SUM(value) AS value FROM {table} WHERE day <= %s {chosen} "
            f"GROUP BY {key}, metric"
        )
        params = [date.isoformat()]
    else:
        sql = (
            f"SELECT {key} AS k, metric, SUM(CASE WHEN day = %s THEN value ELSE -value END) AS value "
            f"FROM {table} WHERE day > %s {chosen} GROUP BY {key}, metric"
        )
        params = [TOTAL_DAY.isoformat(), date.isoformat()]
    return sql, params


def _reading(date):
    """How a subtree's roll-up is read on ``date``: ``(value, months, month params, days, day
    params, sign)``. Either the total less the months after the date's (``value`` per row), less
    the days after the date in its month; or the months before the date's plus its days up to
    the date; whichever :func:`_month_pivot` says reads fewer rows."""
    first = date.replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    if first >= _month_pivot():
        return (
            f"CASE WHEN r.month = {_date(TOTAL_DAY)} THEN r.value ELSE -r.value END",
            "r.month > %s",
            [first.isoformat()],
            "s.day > %s AND s.day < %s",
            [date.isoformat(), following.isoformat()],
            -1,
        )
    return (
        "r.value",
        "r.month < %s",
        [first.isoformat()],
        "s.day >= %s AND s.day <= %s",
        [first.isoformat(), date.isoformat()],
        1,
    )


def _days_by_subtree(cursor, listed, days, day_params, where, params):
    """``[(path, metric, sum)]`` of the standing counts of ``days`` by the subtrees ``a`` matching
    ``where`` that hold them (the few rows of a month, materialised first, lead to their
    ancestors by path: joined the other way, the planner would start from the subtrees)."""
    cursor.execute(
        "WITH d AS MATERIALIZED ("
        f"SELECT o.path AS path, s.metric AS metric, s.value AS value FROM {ORGANIZATION_TABLE} s "
        f"JOIN branches_organization o ON o.id = s.organization_id WHERE {days} AND s.metric IN ({listed})) "
        f"SELECT a.path, d.metric, SUM(d.value) FROM d JOIN {levels_sql()} lv "
        f"ON lv.column1 * {STEPLEN} <= LENGTH(d.path) "
        f"JOIN branches_organization a ON a.path = SUBSTR(d.path, 1, lv.column1 * {STEPLEN}) "
        f"WHERE ({where}) GROUP BY 1, 2",
        [*day_params, *params],
    )
    return cursor.fetchall()


def subtree_figures(date, metrics, where, params):
    """``{path: {metric: value}}``: the figures ``metrics`` on ``date`` of the whole subtrees (on
    today's tree) of the organisations ``a`` matching ``where`` (SQL, with ``params``), those with
    a figure other than zero.

    Two queries whatever the subtrees' size: their roll-up by month and the standing counts of
    the days of the date's own month (see :func:`_reading`)."""
    listed = ", ".join(f"'{metric}'" for metric in metrics)
    value, months, month_params, days, day_params, sign = _reading(date)
    figures = {}
    with _read_connection().cursor() as cursor:
        cursor.execute(
            f"SELECT a.path, r.metric, SUM({value}) FROM {ROLLUP_TABLE} r "
            "JOIN branches_organization a ON a.id = r.organization_id "
            f"WHERE ({where}) AND {months} AND r.metric IN ({listed}) GROUP BY 1, 2",
            [*params, *month_params],
        )
        for path, metric, total in cursor.fetchall():
            figures.setdefault(path, {})[metric] = int(total)
        for path, metric, total in _days_by_subtree(cursor, listed, days, day_params, where, params):
            values = figures.setdefault(path, {})
            values[metric] = values.get(metric, 0) + sign * int(total)
    return figures


def subtrees_without(date, metric, where, params):
    """``[(id, path)]`` of the organisations ``a`` matching ``where`` (SQL, with ``params``) whose
    subtree's ``metric`` on ``date`` is zero (or less): two queries returning those rows and the
    few the days of the date's month touch, not a row per organisation matching."""
    value, months, month_params, days, day_params, sign = _reading(date)
    with _read_connection().cursor() as cursor:
        by_day = defaultdict(int)
        for path, _metric, total in _days_by_subtree(cursor, f"'{metric}'", days, day_params, where, params):
            by_day[path] += sign * int(total)
        touched = sorted(by_day)
        also = f" OR a.path IN ({', '.join(['%s'] * len(touched))})" if touched else ""
        # (summed per organisation first, then joined: SQLite would otherwise probe the roll-up
        # by figure and month for every organisation)
        cursor.execute(
            "SELECT a.id, a.path, COALESCE(t.total, 0) FROM branches_organization a LEFT JOIN ("
            f"SELECT r.organization_id AS id, SUM({value}) AS total FROM {ROLLUP_TABLE} r "
            f"WHERE {months} AND r.metric = %s GROUP BY r.organization_id) t ON t.id = a.id "
            f"WHERE ({where}) AND (COALESCE(t.total, 0) <= 0{also})",
            [*month_params, metric, *params, *touched],
        )
        return [(pk, path) for pk, path, total in cursor.fetchall() if int(total) + by_day.get(path, 0) <= 0]
