"""The reports listen to the domain events (``branches.events``, ``enterprises.events``,
``core.events.RecordsLoaded``): each keeps the roll-ups and the standing counts
(:mod:`reports.rollups.standing`) exact and bumps the data version.

Connected once by :func:`connect` (``ReportsConfig.ready``). Every handler runs in the
publisher's transaction, right after the write it describes.
"""

from django.db import connection

from branches import events as branch_events
from branches.choices import GRASSROOTS_KINDS
from core import events
from core.models import sent_ahead
from core.versions import bump_data_version, bump_structure_version
from enterprises import events as enterprise_events
from reports import events as report_events
from reports.metrics import Metric
from reports.rollups import standing, statistics
from reports.rollups.common import ADMITTED_BY_KIND, ESTABLISHED_BY_KIND, chunks
from reports.rollups.maintain import admission_counts, apply_counts, counts_of, shift_subtrees
from reports.rollups.verify import rebuild

#: The Member fields the dashboard's structure and gaps read (to count, to group, to list). A
#: change of none of them leaves the cached figures current, so it does not bump the data version:
#: a secretary correcting a name or a Party card number does not make every dashboard recount.
#: tests/reports/test_reports_dashboard_cache.py checks that the other fields change no figure.
REPORTED_MEMBER_FIELDS = (
    "admitted_by_id",
    "admitted_on",
    "owner_at_admission",
    "is_business_owner",
    "official_on",
    "enterprise_id",
    "organization_id",
    "status",
)

#: The models whose rows the roll-ups and the cached figures are counted from.
SOURCE_MODELS = {
    "branches.Organization",
    "branches.Member",
    "branches.MembershipPeriod",
    "enterprises.Enterprise",
    "enterprises.MassOrganization",
    "enterprises.MembershipReturn",
}

#: The reports' own models that cached figures read (the targets, kept per structure version).
TARGET_MODELS = {"reports.Target", "reports.TargetCarry"}


# Members and periods ----------------------------------------------------------------------


def members_admitted(event):
    """New members are counted from the event and the members it carries (an import), or one read
    of their rows: nothing of theirs is stored yet, so nothing needs recounting (their first
    periods too, when announced with them).

    The roll-ups' writes are sent ahead (:func:`~core.models.sent_ahead`), the largest first:
    PostgreSQL writes them while Python works out what comes next (the admissions' counts, the
    facts and theirs); the facts themselves are COPYed after."""
    also = ("is_business_owner", "enterprise_id")
    with sent_ahead(connection):
        if event.members:
            owners = {member.pk for member in event.members if member.is_business_owner}
        else:
            members = statistics.member_values(event.member_ids, *also)
            owners = {member["pk"] for member in members if member["is_business_owner"]}
        # The standing counts first: the largest of these writes, and their read of the stored
        # recent admissions waits for nothing sent before it.
        standing.admitted(event.admissions, event.periods, owners)
        apply_counts(admission_counts(event.admissions))
        if event.members:
            members = statistics.values_of_members(event.members, *also)
        facts = statistics.facts_of_admitted(members, event.periods)
        statistics.add_counts(statistics.counts_of_facts(facts))
    statistics.insert_facts(facts)  # (COPYed: a pipeline refuses COPY)
    standing.owners_arrived(event.periods, owners)
    if event.periods:
        standing.refresh_enterprises({member["enterprise_id"] for member in members})
    bump_data_version()


def admissions_corrected(event):
    counts = admission_counts(event.before, sign=-1)
    for key, n in admission_counts(event.after).items():
        counts[key] = counts.get(key, 0) + n
    apply_counts(counts)
    statistics.refresh(statistics.admitted_in(event.before))
    # A member struck out takes its periods along, most often in the organisation that admitted it.
    organizations = {a.organization_id for a in (*event.before, *event.after)}
    standing.refresh_admissions(organizations)
    standing.refresh_members(organizations)
    bump_data_version()


def _column_of_members(table, column, member_ids):
    """The distinct ``column`` values of ``table``'s rows of these members: one statement however
    many (the ids are integers, written into it: no parameter limit)."""
    ids = sorted({int(pk) for pk in member_ids})
    if not ids:
        return set()
    key = "id" if table == "branches_member" else "member_id"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT {column} FROM {table} WHERE {key} IN ({', '.join(map(str, ids))})")
        return {row[0] for row in cursor.fetchall()}


def _enterprises_of_members(member_ids):
    return _column_of_members("branches_member", "enterprise_id", member_ids)


def _admitting_organizations(member_ids):
    return _column_of_members("branches_member", "admitted_by_id", member_ids)


def _organizations_of_members(member_ids):
    return _column_of_members("branches_membershipperiod", "organization_id", member_ids)


def members_changed(event):
    statistics.refresh(
        event.member_ids,
        admission=bool(event.fields & set(statistics.ADMISSION_FIELDS)),
        movement=bool(event.fields & set(statistics.MOVEMENT_FIELDS)),
    )
    if event.fields & {"is_business_owner"}:
        standing.refresh_members(_organizations_of_members(event.member_ids))
    if event.fields & {"admitted_by_id", "admitted_on"}:
        standing.refresh_admissions(_admitting_organizations(event.member_ids))
    if event.fields & {"enterprise_id", "official_on"}:
        standing.refresh_enterprises(_enterprises_of_members(event.member_ids) | set(event.enterprise_ids))
    if event.fields & set(REPORTED_MEMBER_FIELDS):
        bump_data_version()


def periods_changed(event):
    """Periods opened, closed, reopened or corrected (``periods``, or ``before`` and ``after``)."""
    periods = [*getattr(event, "periods", ()), *getattr(event, "before", ()), *getattr(event, "after", ())]
    standing.refresh_members({period.organization_id for period in periods})
    standing.refresh_enterprises(_enterprises_of_members(period.member_id for period in periods))
    statistics.refresh((period.member_id for period in periods), admission=False)
    bump_data_version()


# Organisations ----------------------------------------------------------------------------


def _establishment(establishment, sign):
    organization_id, kind, established_on = establishment
    if kind in GRASSROOTS_KINDS:
        return [(organization_id, established_on, Metric.PARTY_ORGS_ESTABLISHED, sign)]
    return []


def _enterprises_of_organizations(organization_ids):
    """The enterprises the organisations sit in (their gap flags count an active Party organisation)."""
    from branches.models import Organization

    found = set()
    for chunk in chunks(sorted(set(organization_ids))):
        found.update(
            Organization.objects.filter(pk__in=chunk, enterprise__isnull=False).values_list("enterprise_id", flat=True)
        )
    return found


def organizations_established(event):
    apply_counts(counts_of(d for e in event.establishments for d in _establishment(e, 1)))
    ids = [e.organization_id for e in event.establishments]
    standing.refresh_organizations(ids)
    standing.refresh_enterprises(_enterprises_of_organizations(ids))
    bump_structure_version()


def organization_changed(event):
    if event.before != event.after:
        apply_counts(counts_of(_establishment(event.before, -1) + _establishment(event.after, 1)))
    if event.fields:
        standing.refresh_organizations([event.organization_id])
        if event.fields & {"enterprise_id", "established_on", "dissolved_on"}:
            standing.refresh_enterprises(
                _enterprises_of_organizations([event.organization_id]) | set(event.enterprise_ids)
            )
        bump_structure_version()


def organizations_moved(event):
    # An organisation's own standing counts do not depend on where it sits: only the roll-ups move.
    shift_subtrees(event.moves)
    standing.shift(event.moves)
    statistics.moved(event.moves)
    bump_structure_version()


def organization_dissolved(event):
    standing.refresh_organizations([event.organization_id])
    standing.refresh_enterprises(_enterprises_of_organizations([event.organization_id]))
    bump_structure_version()


# Enterprises, mass organisations and returns --------------------------------------------------


def _committees_of_enterprises(enterprise_ids):
    from enterprises.models import Enterprise

    committees = {}
    for chunk in chunks(sorted(set(enterprise_ids))):
        committees.update(Enterprise.objects.filter(pk__in=chunk).values_list("pk", "managing_committee_id"))
    return committees


def _mass_establishment(committee_id, kind, established_on, sign):
    deltas = [(committee_id, established_on, Metric.MASS_ORGS_ESTABLISHED, sign)]
    if kind in ESTABLISHED_BY_KIND:
        deltas.append((committee_id, established_on, ESTABLISHED_BY_KIND[kind], sign))
    return deltas


def _return_deltas(committee_id, kind, day, admitted, sign):
    deltas = [(committee_id, day, Metric.MASS_ORG_MEMBERS_ADMITTED, sign * admitted)]
    if kind in ADMITTED_BY_KIND:
        deltas.append((committee_id, day, ADMITTED_BY_KIND[kind], sign * admitted))
    return deltas


def _returns_of(mass_organization_ids):
    """``[(mass organisation id, date, members admitted)]`` of their returns (one query)."""
    from enterprises.models import MembershipReturn

    found = []
    for chunk in chunks(sorted(set(mass_organization_ids))):
        found += MembershipReturn.objects.filter(mass_organization_id__in=chunk).values_list(
            "mass_organization_id", "date", "members_admitted"
        )
    return found


def enterprises_recorded(event):
    standing.refresh_organizations(_committees_of_enterprises(event.enterprise_ids).values())
    bump_structure_version()


def enterprises_changed(event):
    if "ownership" in event.fields:  # the new-admissions form counts members by their workplace's
        statistics.refresh(statistics.members_of_enterprises(event.enterprise_ids), movement=False)
    if event.fields & {"operating_status", "managing_committee_id"}:
        standing.refresh_organizations(_committees_of_enterprises(event.enterprise_ids).values())
    if "operating_status" in event.fields:  # only an operating enterprise's trade union counts
        standing.refresh_enterprises(event.enterprise_ids)
    if event.fields:
        bump_structure_version()


def managing_committees_changed(event):
    """The enterprises' mass organisations (their founding and their returns) leave the old
    committees for the new ones."""
    from enterprises.models import MassOrganization

    moved = {c.enterprise_id: c for c in event.changes if c.old_committee_id != c.new_committee_id}
    if moved:
        deltas, of_mass = [], {}
        for chunk in chunks(list(moved)):
            for pk, enterprise_id, kind, established_on in MassOrganization.objects.filter(
                enterprise_id__in=chunk
            ).values_list("pk", "enterprise_id", "kind", "established_on"):
                change = moved[enterprise_id]
                deltas += _mass_establishment(change.old_committee_id, kind, established_on, -1)
                deltas += _mass_establishment(change.new_committee_id, kind, established_on, 1)
                of_mass[pk] = (kind, change)
        for mass_organization_id, day, admitted in _returns_of(of_mass):
            kind, change = of_mass[mass_organization_id]
            deltas += _return_deltas(change.old_committee_id, kind, day, admitted, -1)
            deltas += _return_deltas(change.new_committee_id, kind, day, admitted, 1)
        apply_counts(counts_of(deltas))
    standing.refresh_organizations(
        {c.old_committee_id for c in event.changes} | {c.new_committee_id for c in event.changes}
    )
    bump_structure_version()


def mass_organizations_established(event):
    committees = _committees_of_enterprises(m.enterprise_id for m in event.mass_organizations)
    apply_counts(
        counts_of(
            delta
            for m in event.mass_organizations
            for delta in _mass_establishment(committees.get(m.enterprise_id), m.kind, m.established_on, 1)
        )
    )
    standing.refresh_organizations(committees.values())
    standing.refresh_enterprises(committees)
    bump_data_version()


def mass_organization_changed(event):
    before, after = event.before, event.after
    if before[1:] != after[1:]:
        committees = _committees_of_enterprises({before.enterprise_id, after.enterprise_id})
        old, new = committees.get(before.enterprise_id), committees.get(after.enterprise_id)
        deltas = _mass_establishment(old, before.kind, before.established_on, -1)
        deltas += _mass_establishment(new, after.kind, after.established_on, 1)
        if (before.kind, old) != (after.kind, new):
            for _mass, day, admitted in _returns_of([after.mass_organization_id]):
                deltas += _return_deltas(old, before.kind, day, admitted, -1)
                deltas += _return_deltas(new, after.kind, day, admitted, 1)
        apply_counts(counts_of(deltas))
    if event.fields:
        enterprises = {before.enterprise_id, after.enterprise_id}
        standing.refresh_organizations(_committees_of_enterprises(enterprises).values())
        standing.refresh_enterprises(enterprises)
        bump_data_version()


def membership_returns_recorded(event):
    from enterprises.models import MassOrganization

    of_mass = {}
    for chunk in chunks(sorted({r.mass_organization_id for r in event.returns})):
        of_mass.update(
            (pk, (kind, committee_id))
            for pk, kind, committee_id in MassOrganization.objects.filter(pk__in=chunk).values_list(
                "pk", "kind", "enterprise__managing_committee_id"
            )
        )
    deltas = []
    for mass_organization_id, day, admitted in event.returns:
        kind, committee_id = of_mass.get(mass_organization_id, (None, None))
        deltas += _return_deltas(committee_id, kind, day, admitted, 1)
    apply_counts(counts_of(deltas))
    standing.refresh_organizations(committee_id for _kind, committee_id in of_mass.values())
    bump_data_version()


def membership_returns_corrected(event):
    """The returns' old figures leave their committee and month, the new ones arrive."""
    from enterprises.models import MassOrganization

    ids = sorted({r.mass_organization_id for r in (*event.before, *event.after)})
    of_mass = dict(
        (pk, (kind, committee_id))
        for pk, kind, committee_id in MassOrganization.objects.filter(pk__in=ids).values_list(
            "pk", "kind", "enterprise__managing_committee_id"
        )
    )
    deltas = []
    for returns, sign in ((event.before, -1), (event.after, 1)):
        for mass_organization_id, day, admitted in returns:
            kind, committee_id = of_mass.get(mass_organization_id, (None, None))
            deltas += _return_deltas(committee_id, kind, day, admitted, sign)
    apply_counts(counts_of(deltas))
    bump_data_version()


def targets_changed(event):
    bump_structure_version()  # a year's targets are kept per structure version (reports.target_rows)


def figures_approval_changed(event):
    bump_data_version()  # the dashboard's approval panel and stamp are kept per data version


def records_loaded(event):
    if SOURCE_MODELS.intersection(event.models):
        rebuild()
    if (SOURCE_MODELS | TARGET_MODELS).intersection(event.models):
        bump_structure_version()


HANDLERS = [
    (branch_events.MembersAdmitted, members_admitted),
    (branch_events.AdmissionsCorrected, admissions_corrected),
    (branch_events.MembersChanged, members_changed),
    (branch_events.MembershipPeriodsOpened, periods_changed),
    (branch_events.MembershipPeriodsClosed, periods_changed),
    (branch_events.MembershipPeriodsReopened, periods_changed),
    (branch_events.MembershipPeriodsCorrected, periods_changed),
    (branch_events.OrganizationsEstablished, organizations_established),
    (branch_events.OrganizationChanged, organization_changed),
    (branch_events.OrganizationsMoved, organizations_moved),
    (branch_events.OrganizationDissolved, organization_dissolved),
    (enterprise_events.EnterprisesRecorded, enterprises_recorded),
    (enterprise_events.EnterprisesChanged, enterprises_changed),
    (enterprise_events.ManagingCommitteesChanged, managing_committees_changed),
    (enterprise_events.MassOrganizationsEstablished, mass_organizations_established),
    (enterprise_events.MassOrganizationChanged, mass_organization_changed),
    (enterprise_events.MembershipReturnsRecorded, membership_returns_recorded),
    (enterprise_events.MembershipReturnsCorrected, membership_returns_corrected),
    (branch_events.FiguresApprovalChanged, figures_approval_changed),
    (report_events.TargetsChanged, targets_changed),
    (events.RecordsLoaded, records_loaded),
]


def previewed(event):
    """Instead of any handler above during a preview (``core.events.previewing``): no count is
    kept, as the preview's rollback would throw it away, but both versions are bumped as the
    handler would have, so nothing read inside the preview is kept under them."""
    bump_structure_version()


def connect():
    """Subscribe the handlers (``ReportsConfig.ready``)."""
    for event_type, handler in HANDLERS:
        events.subscribe(event_type, handler, in_preview=previewed)
