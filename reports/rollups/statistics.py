"""The maintained counts of the statutory statistics (member movement, form 1-BTCTW; new
admissions, form 3-BTCTW): what each member contributes (``StatisticsFact``) and the sums per
organisation subtree and month (``StatisticsRollup``).

A member's facts follow the rules of :mod:`reports.statistics` for every range of whole months at
once:

- each membership period adds one to the column of its beginning (``mv.admitted``,
  ``mv.transferred_in`` or ``mv.restored``) in its organisation and month, and one to the column of
  its ending (``mv.died`` … ``mv.transferred_out``, and ``mv.struck_off_probationary``);
- a move (a period ended by a transfer or a restructuring and continued elsewhere) is counted
  again at the nearest organisation holding both ends, today: ``mv.inside`` when both ends fall in
  one month, ``mv.transit.YYYY-MM`` (the month of arrival) in the month of leaving otherwise. A unit
  (a subtree) holding that organisation takes the move back out of its transfers in and out, the
  transit only when the range holds both months;
- the admission (in the admitting organisation and month) carries the bits of the columns of the
  new-admissions form it counts in.

The members at the end of a month are the beginnings less the endings of every month up to it.
Whenever a member's records change (the domain events name the members), :func:`refresh` counts
its facts again and adds the difference to the roll-ups of the organisation and its ancestors; an
organisation moved takes its subtree's sums along (:func:`~reports.rollups.maintain.shift_subtrees`)
and the moves reaching outside it are counted again. :func:`rebuild` and :func:`differences` serve
``manage.py verify_rollups``.
"""

import datetime
from collections import Counter, defaultdict
from itertools import groupby
from operator import attrgetter

from django.db import connection, transaction

from branches.choices import PeriodEndReason
from branches.models import Member, MembershipPeriod, Organization
from core.dates import age_on
from core.models import values_relations
from reports.models import StatisticsFact, StatisticsRollup
from reports.rollups.common import IDS_CHUNK, STEPLEN, chunks, ids_in, levels_sql, month_of
from reports.rollups.maintain import apply_counts, shift_subtrees
from reports.statistics_rules import (
    LEFT_PARTY_REASONS,
    MOVE_REASONS,
    REMOVAL_BY_REASON,
    admission_columns,
    admission_keys,
)

#: The metric of a member's admission fact (its value: the bits of its columns).
ADMISSION = "admission"
#: A move whose two ends fall in one month, at the nearest organisation holding both.
INSIDE = "mv.inside"
#: A move in transit across months, at the nearest organisation holding both, in the month of
#: leaving; the metric ends with the month of arrival (``mv.transit.2025-03``).
TRANSIT = "mv.transit."
#: The admission columns (``group.column``) in the order of their bits.
ADMISSION_KEYS = tuple(key for key, _label in admission_columns())
_BIT_OF = {key: 1 << index for index, key in enumerate(ADMISSION_KEYS)}
assert len(ADMISSION_KEYS) < 63, "an admission's columns must fit a signed 64-bit value"

FACT_TABLE = StatisticsFact._meta.db_table
ROLLUP_TABLE = StatisticsRollup._meta.db_table

#: What the admission columns read besides the age at admission (``enterprise__ownership``: the
#: workplace's, through ``enterprise_id``).
_PROFILE_VALUES = (
    "sex",
    "ethnicity",
    "religion",
    "youth_union_member_at_admission",
    "owner_at_admission",
    "general_education",
    "professional_qualification",
    "political_theory",
    "enterprise__ownership",
)
#: The fields of a member its admission fact is counted from.
ADMISSION_FIELDS = (
    "admitted_by_id",
    "admitted_on",
    "date_of_birth",
    "enterprise_id",
    *(name for name in _PROFILE_VALUES if "__" not in name),
)
#: The fields of a member its periods' facts are counted from (besides the periods themselves).
MOVEMENT_FIELDS = ("admitted_on", "official_on")
_ADMISSION_VALUES = ("pk", "admitted_by_id", "admitted_on", "official_on", "date_of_birth", *_PROFILE_VALUES)
_PERIOD_VALUES = ("member_id", "organization_id", "organization__path", "started_on", "ended_on", "end_reason")


def admission_bits(member):
    """The bits of the new-admissions columns ``member`` (a dict of :data:`_ADMISSION_VALUES`) counts in."""
    bits = 0
    for key in admission_keys(member):
        bits |= _BIT_OF.get(key, 0)
    return bits


def _bits_memo():
    """:func:`admission_bits` kept per distinct profile and age (an import's members share a few
    hundred): ``bits(member)``."""
    kept = {}

    def bits(member):
        born, admitted = member["date_of_birth"], member["admitted_on"]
        age = age_on(born, admitted) if born and admitted else None
        key = (age, *(member[name] for name in _PROFILE_VALUES))
        found = kept.get(key)
        if found is None:
            found = kept[key] = admission_bits(member)
        return found

    return bits


def _common_path(a, b):
    """The path of the nearest organisation holding both paths ('' when none does)."""
    length = 0
    for end in range(STEPLEN, min(len(a), len(b)) + 1, STEPLEN):
        if a[:end] != b[:end]:
            break
        length = end
    return a[:length]


def _member_facts(member, periods, facts, links, *, admission=True, bits=admission_bits):
    """Append ``member``'s facts to ``facts`` (``[member id, organisation id, month, metric, value]``;
    the moves' organisation is a path, in ``links``, until the caller resolves it): its admission's
    (unless ``admission`` is false) and its periods' (``periods``)."""
    pk = member["pk"]
    if admission and member["admitted_by_id"] is not None and member["admitted_on"] is not None:
        facts.append([pk, member["admitted_by_id"], month_of(member["admitted_on"]), ADMISSION, bits(member)])
    official_on = member["official_on"]
    for index, period in enumerate(periods):
        before = periods[index - 1] if index else None
        after = periods[index + 1] if index + 1 < len(periods) else None
        organization_id, started_on, ended_on = period[1], period[3], period[4]
        if before is None:
            begins = "admitted" if started_on == member["admitted_on"] else "transferred_in"
        elif before[5] in LEFT_PARTY_REASONS:
            begins = "restored"
        else:
            begins = "transferred_in"
        facts.append([pk, organization_id, month_of(started_on), f"mv.{begins}", 1])
        if ended_on is None:
            continue
        reason = period[5]
        column = REMOVAL_BY_REASON.get(reason, "transferred_out")
        facts.append([pk, organization_id, month_of(ended_on), f"mv.{column}", 1])
        if column == "struck_off" and (official_on is None or official_on > ended_on):
            facts.append([pk, organization_id, month_of(ended_on), "mv.struck_off_probationary", 1])
        if after is None or reason not in MOVE_REASONS:
            continue
        if after[3] != ended_on and reason != PeriodEndReason.TRANSFER:
            continue  # ended by a restructuring, continued another day: not one move
        common = _common_path(period[2], after[2])
        if not common:
            continue
        leaving, arriving = month_of(ended_on), month_of(after[3])
        metric = INSIDE if leaving == arriving else f"{TRANSIT}{arriving:%Y-%m}"
        links.add(common)
        facts.append([pk, common, leaving, metric, 1])


def facts_of(member_ids, *, admission=True, movement=True):
    """``[(member id, organisation id, month, metric, value)]``: the facts of these members, counted
    from their rows (two queries, whatever their number and the number of their periods): their
    admissions' and (or) their periods'."""
    ids = sorted({int(pk) for pk in member_ids})
    facts, links = [], set()
    if not ids:
        return facts
    periods, dates = defaultdict(list), {}
    if movement:
        where = ids_in(f'"{MembershipPeriod._meta.db_table}"."member_id"', ids)
        for *row, admitted_on, official_on in (
            MembershipPeriod.objects.extra(where=[where])  # noqa: S610 (integers written in)
            .order_by("member_id", "started_on", "pk")
            .values_list(*_PERIOD_VALUES, "member__admitted_on", "member__official_on")
        ):
            periods[row[0]].append(tuple(row))
            dates[row[0]] = {"pk": row[0], "admitted_on": admitted_on, "official_on": official_on}
    if not admission:  # the periods' facts read only the admission and recognition dates, read with them
        for pk, member in dates.items():
            _member_facts(member, periods[pk], facts, links, admission=False)
        return _resolved(facts, links)
    bits = _bits_memo()
    for member in member_values(ids):
        _member_facts(member, periods.get(member["pk"], []), facts, links, bits=bits)
    return _resolved(facts, links)


def _resolved(facts, links, ids_by_path=None):
    """The facts with the moves' organisation paths replaced by their ids."""
    if links:
        if ids_by_path is None:
            ids_by_path = {}
            for chunk in chunks(links):
                ids_by_path.update(Organization.objects.filter(path__in=chunk).values_list("path", "pk"))
        for fact in facts:
            if isinstance(fact[1], str):
                fact[1] = ids_by_path[fact[1]]
    return [tuple(fact) for fact in facts]


def all_facts():
    """Every member's facts, streamed from two ordered passes (members, periods)."""
    ids_by_path = dict(Organization.objects.values_list("path", "pk"))
    members = Member.objects.order_by("pk").values(*_ADMISSION_VALUES).iterator(chunk_size=20000)
    periods = groupby(
        MembershipPeriod.objects.order_by("member_id", "started_on", "pk")
        .values_list(*_PERIOD_VALUES)
        .iterator(chunk_size=20000),
        key=lambda row: row[0],
    )
    pending = next(periods, None)
    batch, links, bits = [], set(), _bits_memo()
    for member in members:
        while pending is not None and pending[0] < member["pk"]:
            pending = next(periods, None)  # periods of no member: none, by the foreign key
        own = []
        if pending is not None and pending[0] == member["pk"]:
            own = list(pending[1])
            pending = next(periods, None)
        _member_facts(member, own, batch, links, bits=bits)
        if len(batch) >= 50000:
            yield from _resolved(batch, links, ids_by_path)
            batch, links = [], set()
    yield from _resolved(batch, links, ids_by_path)


def counts_of_facts(facts, sign=1):
    """``{(organisation id, month, metric): n}`` the facts add to the roll-ups (an admission one per bit).

    Admissions are counted by organisation, month and bits first, then each group is spread into
    its columns: an import's admissions share far fewer groups than they are, and each bit pattern
    is spelled out once."""
    counts = defaultdict(int)
    admissions = defaultdict(int)
    for _member, organization_id, month, metric, value in facts:
        if metric == ADMISSION:
            admissions[(organization_id, month, value)] += sign
        else:
            counts[(organization_id, month, metric)] += sign * value
    columns_of = {}
    for (organization_id, month, value), n in admissions.items():
        columns = columns_of.get(value)
        if columns is None:
            columns = columns_of[value] = [f"ad.{key}" for key in ADMISSION_KEYS if value & _BIT_OF[key]]
        for column in columns:
            counts[(organization_id, month, column)] += n
    return counts


_FACT_FIELDS = ("member_id", "organization_id", "month", "metric", "value")


def _kinds_where(admission, movement):
    if not admission:
        return f" AND metric <> '{ADMISSION}'"
    if not movement:
        return f" AND metric = '{ADMISSION}'"
    return ""


def refresh(member_ids, *, admission=True, movement=True):
    """Count the facts of these members again (those of their admissions and, or, of their periods);
    the difference goes to the roll-ups. A constant number of statements however many members."""
    member_ids = sorted({int(pk) for pk in member_ids if pk is not None})
    if not member_ids or not (admission or movement):
        return
    where = ids_in("member_id", member_ids) + _kinds_where(admission, movement)
    # taken out, then the new ones written: the same as leaving equal ones there
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {FACT_TABLE} WHERE {where} RETURNING {', '.join(_FACT_FIELDS)}")  # noqa: S608
        old = [(m, o, _as_date(month), metric, value) for m, o, month, metric, value in cursor.fetchall()]
    new = facts_of(member_ids, admission=admission, movement=movement)
    insert_facts(new)
    if Counter(old) == Counter(new):
        return
    counts = counts_of_facts(new)
    for key, n in counts_of_facts(old, sign=-1).items():
        counts[key] += n
    add_counts({key: n for key, n in counts.items() if n})


def member_values(member_ids, *also):
    """``[{field: value}]``: what the facts of these members are counted from, and the fields
    ``also``, in one query (see :func:`facts_of`, :func:`facts_of_admitted`)."""
    ids = sorted({int(pk) for pk in member_ids if pk is not None})
    if not ids:
        return []
    where = ids_in(f'"{Member._meta.db_table}"."id"', ids)
    return list(Member.objects.extra(where=[where]).order_by().values(*_ADMISSION_VALUES, *also))  # noqa: S610


def values_of_members(members, *also):
    """What :func:`member_values` reads, taken from member instances as written instead (their
    enterprise as cached on them, or read once per enterprise)."""
    from enterprises.models import Enterprise

    missing = {m.enterprise_id for m in members if m.enterprise_id is not None and not _enterprise_cached(m)}
    ownership = dict(Enterprise.objects.filter(pk__in=missing).values_list("pk", "ownership")) if missing else {}
    direct = [name for name in (*_ADMISSION_VALUES, *also) if "__" not in name and name != "pk"]
    values_of = attrgetter(*direct)
    rows = []
    for member in members:
        row = dict(zip(direct, values_of(member), strict=True))
        row["pk"] = member.pk
        if member.enterprise_id is None:
            row["enterprise__ownership"] = None
        elif _enterprise_cached(member):
            row["enterprise__ownership"] = member.enterprise.ownership
        else:
            row["enterprise__ownership"] = ownership.get(member.enterprise_id)
        rows.append(row)
    return rows


def _enterprise_cached(member):
    return Member.enterprise.is_cached(member)


def facts_of_admitted(members, periods=()):
    """The facts of members just admitted (``branches.events.MembersAdmitted``; none of theirs is
    stored yet): ``members`` as :func:`member_values` reads them, and their first ``periods``
    (``branches.events.Period``s, opened with the admissions). A member whose first period is
    announced apart (``MembershipPeriodsOpened``) gets its admission's fact here and its period's
    there. No query: new members have made no move. :func:`insert_facts` writes them and
    :func:`add_counts` their counts."""
    first = {period.member_id: period for period in periods}
    facts, links, bits = [], set(), _bits_memo()
    for member in members:
        period = first.get(member["pk"])
        # (member id, organisation id, path, started on, ended on, end reason): a new member's
        # only period has no end, so no move, whose organisation only the path would give
        own = [] if period is None else [(member["pk"], period.organization_id, None, period.on, None, "")]
        _member_facts(member, own, facts, links, bits=bits)
    return _resolved(facts, links)


def add_counts(counts):
    """Add the ``counts`` of new facts (:func:`counts_of_facts`) to the roll-ups of their
    organisations and of every organisation above: one statement, however many."""
    apply_counts(counts, ROLLUP_TABLE)


def insert_facts(facts):
    """Write ``facts`` in one statement (COPY on PostgreSQL when they are many)."""
    if not facts:
        return
    columns = "member_id, organization_id, month, metric, value"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(facts) > 1000:
            # Binary: the server parses no text (the columns' types: StatisticsFact's).
            with cursor.cursor.copy(f"COPY {FACT_TABLE} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int8", "int8", "date", "varchar", "int8"])
                for fact in facts:
                    copy.write_row(fact)
        elif connection.vendor == "postgresql":
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(facts))
            cursor.execute(
                f"INSERT INTO {FACT_TABLE} ({columns}) VALUES {values}",  # noqa: S608
                [value for fact in facts for value in fact],
            )
        else:
            cursor.executemany(
                f"INSERT INTO {FACT_TABLE} ({columns}) VALUES (%s, %s, %s, %s, %s)",  # noqa: S608
                [(m, o, month.isoformat(), metric, value) for m, o, month, metric, value in facts],
            )


def members_of_enterprises(enterprise_ids):
    """The members working in these enterprises (their admissions count by its ownership)."""
    found = set()
    for chunk in chunks(sorted({int(pk) for pk in enterprise_ids if pk is not None})):
        found.update(Member.objects.filter(enterprise_id__in=chunk).values_list("pk", flat=True))
    return found


def moved(moves):
    """Organisations moved with their subtrees (``moves``: ``(organisation id, old path, new path)``):
    their sums leave the old ancestors for the new ones, and the moves of members between a moved
    subtree and the rest of the tree are counted again (the organisation holding both ends changed)."""
    shift_subtrees(moves, ROLLUP_TABLE)
    refresh(_moving_members_in(new_path for _pk, _old, new_path in moves), admission=False)


def _moving_members_in(paths):
    """The members with a fact of movement (inside one committee, or in transit) and a period in
    an organisation of the subtrees at ``paths``. The organisations come first, each one's
    ancestors matched against the paths (a hash join, not a ``LIKE`` per subtree, which took
    seconds for thousands of subtrees), then the members, by those organisations' ids: in one
    statement the planner may probe the paths once per period."""
    rows = [(path,) for path in sorted(set(paths))]
    organizations = set()
    members = set()
    with connection.cursor() as cursor:
        for subtrees, params in values_relations(connection, [("path", "text")], rows, size=500, alias="m"):
            cursor.execute(
                f"SELECT DISTINCT o.id FROM {Organization._meta.db_table} o "  # noqa: S608
                f"JOIN {levels_sql()} lv ON lv.column1 * {STEPLEN} <= LENGTH(o.path) "
                f"JOIN {subtrees} ON m.path = SUBSTR(o.path, 1, lv.column1 * {STEPLEN})",
                params,
            )
            organizations.update(row[0] for row in cursor.fetchall())
        for chunk in chunks(sorted(organizations), IDS_CHUNK):
            cursor.execute(
                f"SELECT DISTINCT f.member_id FROM {FACT_TABLE} f WHERE (f.metric = %s OR f.metric LIKE %s) "  # noqa: S608
                f"AND f.member_id IN (SELECT p.member_id FROM {MembershipPeriod._meta.db_table} p "
                f"WHERE {ids_in('p.organization_id', chunk)})",
                [INSIDE, f"{TRANSIT}%"],
            )
            members.update(row[0] for row in cursor.fetchall())
    return members


def admitted_in(admissions):
    """The members whose admission fact lies in the organisation and month of one of ``admissions``
    (``(organisation id, admitted on, …)``): those of a corrected admission, among them any whose
    record is gone (deleted outright)."""
    pairs = {(int(a[0]), month_of(a[1])) for a in admissions if a[0] is not None and a[1] is not None}
    found = set()
    for chunk in chunks(sorted(pairs), 400):
        condition = " OR ".join(["(organization_id = %s AND month = %s)"] * len(chunk))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT DISTINCT member_id FROM {FACT_TABLE} WHERE metric = %s AND ({condition})",  # noqa: S608
                [ADMISSION, *(value for pair in chunk for value in pair)],
            )
            found.update(row[0] for row in cursor.fetchall())
    return found


@transaction.atomic
def rebuild():
    """Count every member's facts and every roll-up again (after bulk loads, ``verify_rollups --repair``)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {FACT_TABLE}")  # noqa: S608
        cursor.execute(f"DELETE FROM {ROLLUP_TABLE}")  # noqa: S608
    batch = []
    for fact in all_facts():
        batch.append(fact)
        if len(batch) >= 50000:
            insert_facts(batch)
            batch = []
    insert_facts(batch)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {ROLLUP_TABLE} (organization_id, month, metric, value) {_sums_sql()}")  # noqa: S608
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {FACT_TABLE}")
            cursor.execute(f"ANALYZE {ROLLUP_TABLE}")


def _bits_sql():
    """A subquery of (bit, metric) rows: the admissions' columns."""
    values = ", ".join(f"({1 << index}, 'ad.{key}')" for index, key in enumerate(ADMISSION_KEYS))
    return f"(SELECT column1 AS bit, column2 AS metric FROM (VALUES {values}) b)"


def _sums_sql():
    """SELECT organization_id, month, metric, value: the roll-ups of the stored facts (non-zero rows)."""
    expanded = (
        f"SELECT f.organization_id, f.month, f.metric, f.value AS n FROM {FACT_TABLE} f "
        f"WHERE f.metric <> '{ADMISSION}' "
        f"UNION ALL SELECT f.organization_id, f.month, b.metric, 1 FROM {FACT_TABLE} f "
        f"JOIN {_bits_sql()} b ON (f.value & b.bit) <> 0 WHERE f.metric = '{ADMISSION}'"
    )
    by_path = (
        f"SELECT o.path, e.month, e.metric, SUM(e.n) AS n FROM ({expanded}) e "
        f"JOIN {Organization._meta.db_table} o ON o.id = e.organization_id GROUP BY o.path, e.month, e.metric"
    )
    return (
        f"SELECT a.id AS organization_id, s.month AS month, s.metric AS metric, SUM(s.n) AS value FROM ({by_path}) s "
        f"JOIN {levels_sql()} lv ON lv.column1 * {STEPLEN} <= LENGTH(s.path) "
        f"JOIN {Organization._meta.db_table} a ON a.path = SUBSTR(s.path, 1, lv.column1 * {STEPLEN}) "
        f"GROUP BY a.id, s.month, s.metric HAVING SUM(s.n) <> 0"
    )


def differences(limit=50):
    """Where the stored facts and roll-ups disagree with a full recount:
    ``(count, [(org id, month, "statistics <metric>", stored, exact)])`` (a member's facts under its
    admitting or period's organisation)."""
    exact = Counter(all_facts())
    stored = Counter(StatisticsFact.objects.order_by().values_list(*_FACT_FIELDS))
    found = defaultdict(lambda: [0, 0])
    for fact, n in (exact - stored).items():
        found[(fact[1], _as_date(fact[2]), f"statistics fact {fact[3]} of member {fact[0]}")][1] += n
    for fact, n in (stored - exact).items():
        found[(fact[1], _as_date(fact[2]), f"statistics fact {fact[3]} of member {fact[0]}")][0] += n
    with connection.cursor() as cursor:
        table = f"SELECT organization_id, month, metric, value FROM {ROLLUP_TABLE} WHERE value <> 0"  # noqa: S608
        sums = _sums_sql()
        cursor.execute(
            f"SELECT 's', organization_id, month, metric, value FROM "
            f"(SELECT * FROM ({table}) s1 EXCEPT SELECT * FROM ({sums}) e1) d1 "
            f"UNION ALL SELECT 'e', organization_id, month, metric, value FROM "
            f"(SELECT * FROM ({sums}) e2 EXCEPT SELECT * FROM ({table}) s2) d2"
        )
        for side, organization_id, month, metric, value in cursor.fetchall():
            found[(organization_id, _as_date(month), f"statistics {metric}")][0 if side == "s" else 1] = int(value)
    details = [(*key, stored_value, exact_value) for key, (stored_value, exact_value) in sorted(found.items())]
    return len(details), details[:limit]


def _as_date(value):
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value))
