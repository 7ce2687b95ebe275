"""The national-size generator (reports/scale.py) at a tiny size.

It writes with PostgreSQL COPY: on SQLite it must refuse with a clear message; on PostgreSQL it
must build a consistent dataset (run the suite with DATABASE_URL=postgres://… to exercise it).
"""

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, F, Q
from django.utils import timezone

from branches.choices import GRASSROOTS_KINDS, MemberStatus, OrganizationKind, PeriodEndReason
from branches.models import OVERLAPPING_PERIODS, Member, MembershipPeriod, Organization
from core.text import search_key
from core.validators import validate_tax_code
from devdata import scale
from devdata.demo_data import REFORM
from enterprises.models import Enterprise, Locality, MassOrganization, MembershipReturn
from reports.models import Target

TINY = {
    "members": 1500,
    "enterprises": 800,
    "organizations": 200,
    "mass_organizations": 300,
    "years": 3,
    "seed": 7,
}


def _generate(**extra):
    out = StringIO()
    call_command("generate_scale", *[f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()], stdout=out, **extra)
    return out.getvalue()


@pytest.mark.django_db
def test_generator_refuses_sqlite_clearly_and_builds_the_tiny_dataset_on_postgresql():
    if connection.vendor != "postgresql":
        with pytest.raises(CommandError, match="PostgreSQL COPY"):
            _generate()
        assert not Organization.objects.exists()
        return

    output = _generate()
    assert "Generated" in output

    # Counts as asked (and the commune committees of the reform), 34 provinces and the 3,321
    # communes of the two-tier map.
    assert Member.objects.count() == TINY["members"]
    assert Enterprise.objects.count() == TINY["enterprises"]
    communes = Organization.objects.filter(kind=OrganizationKind.COMMITTEE, established_on=REFORM).count()
    assert communes > 34
    assert Organization.objects.count() == TINY["organizations"] + communes
    assert MassOrganization.objects.count() == TINY["mass_organizations"]
    assert Locality.objects.filter(depth=1).count() == 34
    assert Locality.objects.filter(depth=2).count() == 3321

    # The search keys were COPYed with the rows (issue 16).
    for model, source in ((Member, "full_name"), (Organization, "name"), (Enterprise, "name"), (Locality, "name")):
        for name, key in model.objects.values_list(source, "search_name")[:200]:
            assert key == search_key(name), (model, name, key)

    # Treebeard trees are consistent (paths, depth, numchild).
    assert Organization.objects.find_problems() == ([], [], [], [], [])
    assert Locality.objects.find_problems() == ([], [], [], [], [])
    root = Organization.objects.get(depth=1)
    assert root.code == "TW" and Organization.objects.children_of(root).count() == root.numchild == 34
    kinds = set(Organization.objects.values_list("kind", flat=True))
    assert kinds == set(OrganizationKind.values)
    assert not Organization.objects.filter(kind=OrganizationKind.SUBORDINATE_BRANCH).exclude(depth=5).exists()

    # Valid tax codes and 12-digit citizen IDs (uniqueness is the database's).
    for tax_code in Enterprise.objects.values_list("tax_code", flat=True):
        validate_tax_code(tax_code)
    assert not Member.objects.exclude(citizen_id__regex=r"^[0-9]{12}$").exists()

    # Every member at least 18 at admission, admitted into a grassroots organisation active then.
    for born, admitted in Member.objects.values_list("date_of_birth", "admitted_on"):
        assert admitted.replace(year=admitted.year - 18) >= born if (admitted.month, admitted.day) != (2, 29) else True
    assert not Member.objects.exclude(admitted_by__kind__in=GRASSROOTS_KINDS).exists()
    assert not Member.objects.filter(admitted_on__lt=F("admitted_by__established_on")).exists()
    assert not Member.objects.filter(admitted_on__gte=F("admitted_by__dissolved_on")).exists()
    assert not Member.objects.filter(admitted_on__gt=datetime.date.today()).exists()

    # Periods: the first starts at admission; active members have exactly one open period, in their organisation.
    firsts = MembershipPeriod.objects.filter(member=F("member"), started_on=F("member__admitted_on"))
    assert firsts.values("member").distinct().count() == TINY["members"]
    active = Member.objects.filter(status=MemberStatus.ACTIVE)
    open_periods = MembershipPeriod.objects.filter(ended_on__isnull=True)
    assert open_periods.count() == active.count()
    assert not open_periods.exclude(organization=F("member__organization")).exists()
    assert not active.exclude(periods__ended_on__isnull=True).exists()
    assert not Member.objects.exclude(status=MemberStatus.ACTIVE).filter(periods__ended_on__isnull=True).exists()

    # Transfers, dissolved branches whose members went to their places of residence, leavers.
    assert MembershipPeriod.objects.filter(end_reason=PeriodEndReason.TRANSFER).exists()
    dissolved_periods = MembershipPeriod.objects.filter(end_reason=PeriodEndReason.DISSOLVED)
    assert dissolved_periods.exists()
    assert not dissolved_periods.exclude(ended_on=F("organization__dissolved_on")).exists()
    assert not dissolved_periods.exclude(member__status=MemberStatus.TRANSFERRED_TO_RESIDENCE).exists()
    assert Organization.objects.filter(dissolved_on__isnull=False).exists()
    assert not Member.objects.filter(status=MemberStatus.ACTIVE, organization__dissolved_on__isnull=False).exists()

    # Mass organisations: one founding return each on the founding day, several returns for many.
    founding = MembershipReturn.objects.filter(is_founding=True)
    assert founding.count() == TINY["mass_organizations"]
    assert not founding.exclude(date=F("mass_organization__established_on")).exists()
    assert MassOrganization.objects.annotate(n=Count("returns")).filter(n__gte=3).exists()
    assert not MembershipReturn.objects.filter(
        Q(date__lt=F("mass_organization__established_on")) | Q(date__gt=F("mass_organization__dissolved_on"))
    ).exists()

    # Targets for every committee and every year of the window it stood in (the districts until
    # the reform's year, the commune committees from it).
    last_year = (timezone.localdate() - datetime.timedelta(days=1)).year
    window = range(last_year - TINY["years"] + 1, last_year + 1)
    expected = {
        (pk, year)
        for pk, established, dissolved in Organization.objects.filter(kind=OrganizationKind.COMMITTEE).values_list(
            "pk", "established_on", "dissolved_on"
        )
        for year in window
        if established.year <= year and (dissolved is None or dissolved.year >= year)
    }
    assert set(Target.objects.values_list("committee", "year").distinct()) == expected

    # The database's own guards are all in place again (foreign keys, the periods' overlap triggers
    # switched back on, firing always: branches migration 0022), and the periods loaded while the
    # trigger was off do not overlap.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname, tgenabled FROM pg_trigger "
            "WHERE tgname IN ('period_no_overlap_insert', 'period_no_overlap_update') "
            "AND tgrelid = 'branches_membershipperiod'::regclass ORDER BY tgname"
        )
        assert cursor.fetchall() == [("period_no_overlap_insert", "A"), ("period_no_overlap_update", "A")]
        cursor.execute(OVERLAPPING_PERIODS)
        assert cursor.fetchone() is None
        cursor.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated")
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conrelid = 'branches_member'::regclass"
        )
        assert cursor.fetchone()[0] == 3


@pytest.mark.django_db
def test_generator_refuses_a_filled_database_unless_reset():
    if connection.vendor != "postgresql":
        with pytest.raises(scale.UnsupportedDatabase):
            scale.reset()
        return
    _generate()
    with pytest.raises(CommandError, match="--reset"):
        _generate()
    _generate(reset=True)
    assert Member.objects.count() == TINY["members"]
    assert Organization.objects.find_problems() == ([], [], [], [], [])


def test_path_steps_match_treebeard():
    assert scale.path_step(1) == "0001"
    assert scale.path_step(35) == "000Z"
    assert scale.path_step(36) == "0010"
    assert scale.path_step(36**2 + 1) == "0101"


@pytest.mark.django_db
def test_generated_rollups_agree_with_a_full_recount():
    from reports import rollups

    if connection.vendor != "postgresql":
        with pytest.raises(CommandError, match="PostgreSQL"):
            _generate()
        return

    _generate()
    assert rollups.differences() == (0, [])


@pytest.mark.postgresql
@pytest.mark.django_db
def test_after_generating_every_sequence_gives_ids_past_the_generated_rows():
    """The rows were COPYed with their ids: each table's sequence is moved past them (the tables
    keyed by what they count have none), so the next row written gets a free id."""
    from django.apps import apps
    from django.db import models

    _generate()
    checked = 0
    with connection.cursor() as cursor:
        for label in scale.DOMAIN_APPS:
            for model in apps.get_app_config(label).get_models():
                if not isinstance(model._meta.pk, models.AutoField):
                    continue
                table, column = model._meta.db_table, model._meta.pk.column
                cursor.execute(f'SELECT MAX("{column}") FROM "{table}"')  # noqa: S608
                (largest,) = cursor.fetchone()
                if largest is None:
                    continue
                cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s))", [table, column])
                assert cursor.fetchone()[0] > largest, table
                checked += 1
    assert checked >= 8


def _figures(report):
    """A fulfilment report as plain values: its rows and its children's, by organisation id."""
    rows = [(str(row.metric), row.actual, row.target) for row in report.rows]
    return rows, {
        part.organization.pk: [(str(row.metric), row.actual, row.target) for row in part.rows]
        for part in report.children
    }


@pytest.mark.postgresql
@pytest.mark.django_db
def test_generated_data_goes_through_the_reform_of_1_july_2025():
    """The districts end on 1 July 2025, the commune committees begin under the provinces, the
    organisations and enterprises pass to them, the 2025 targets are carried; nothing of 2024 changes."""
    from branches.choices import OrganizationChange
    from branches.models import OrganizationVersion
    from enterprises.models import ManagingCommitteePeriod
    from reports import engine
    from reports.dated_tree import DatedTree
    from reports.engine import EffectiveTargets
    from reports.metrics import Metric
    from reports.models import TargetCarry

    sizes = scale.Sizes(**TINY)
    # The same data without the reform: the 2024 and 2025 figures to compare with.
    scale.generate(sizes, analyze=False, reform=False)
    provinces = list(Organization.objects.filter(depth=2).order_by("path"))
    assert not OrganizationVersion.objects.exists()
    without = {(p.code, year): _figures(engine.fulfilment(p, year)) for p in provinces for year in (2024, 2025)}
    scale.generate(sizes, reset_first=True, analyze=False)
    assert Organization.objects.find_problems() == ([], [], [], [], [])

    districts = Organization.objects.filter(kind=OrganizationKind.COMMITTEE, depth=3, code__contains="-H")
    assert districts.count() >= 34
    before = datetime.date(2025, 6, 30)
    on_2024 = DatedTree(datetime.date(2024, 12, 31))
    for district in districts:
        assert district.dissolved_on == REFORM and district.dissolution_decision_number
        assert (
            not Organization.objects.filter(path__startswith=district.path, depth=district.depth + 1)
            .filter(Q(dissolved_on__isnull=True) | Q(dissolved_on__gt=REFORM))
            .exists()
        )
        assert not Enterprise.objects.filter(managing_committee=district).exists()
        (state,) = OrganizationVersion.objects.filter(organization=district)
        assert (state.valid_to, state.end_change, state.end_decision_date) == (
            REFORM,
            OrganizationChange.SPLIT,
            before,
        )
        # Its organisations moved to the commune committees directly under the province.
        moved = OrganizationVersion.objects.filter(
            parent=district, valid_to=REFORM, end_change=OrganizationChange.MOVED
        )
        for version in moved.select_related("organization"):
            after = OrganizationVersion.objects.get(organization=version.organization, valid_from=REFORM)
            assert after.change == OrganizationChange.MOVED and after.parent.established_on == REFORM
            assert after.parent.path[:-4] == district.path[:-4] == version.organization.path[:-8]
            assert on_2024.parent(version.organization.path) == district.path
        # Its enterprises passed to the committee of their organisation.
        for period in ManagingCommitteePeriod.objects.filter(
            valid_from=REFORM, enterprise__committee_periods__committee=district
        ):
            assert period.committee == period.enterprise.managing_committee
            assert period.committee.established_on == REFORM
            organization = Organization.objects.filter(enterprise=period.enterprise, depth=4).first()
            if organization is not None and organization.is_active_on(REFORM):
                assert organization.path.startswith(period.committee.path)
    assert OrganizationVersion.objects.filter(end_change=OrganizationChange.MOVED).exists()
    assert ManagingCommitteePeriod.objects.filter(valid_to=REFORM).count() == (
        ManagingCommitteePeriod.objects.filter(valid_from=REFORM).count()
    )

    for province in provinces:
        # 2024: the same figures, rows and targets as without the reform (the rows are the districts).
        report = engine.fulfilment(province, 2024)
        assert _figures(report) == without[(province.code, 2024)]
        assert {part.organization.code for part in report.children} <= set(
            Organization.objects.filter(depth=3, path__startswith=province.path)
            .exclude(established_on=REFORM)
            .values_list("code", flat=True)
        )
        admitted = Member.objects.filter(admitted_on__year=2024, admitted_by__path__startswith=province.path)
        assert report.row(Metric.MEMBERS_ADMITTED).actual == admitted.count()
        # 2025 on the committees of its end: the commune committees, not the districts; same totals.
        report = engine.fulfilment(province, 2025)
        assert _figures(report)[0] == without[(province.code, 2025)][0]
        communes = {part.organization.code for part in report.children if part.organization.is_active_on(report.end)}
        assert communes - {f"{province.code}-DN"} and all(
            o.established_on == REFORM for o in Organization.objects.filter(code__in=communes - {f"{province.code}-DN"})
        )
        # A district is listed only for the figures of its organisations dissolved before the
        # reform (an organisation that ended in the year keeps its rows), with no target.
        for part in report.children:
            if part.organization.code in communes:
                continue
            assert part.organization.dissolved_on == REFORM
            assert all(row.target is None for row in part.rows)
            assert not any(part.row(metric).actual for metric in scale.TARGET_METRICS[2:])  # mass organisations
            assert (
                part.row(Metric.MEMBERS_ADMITTED).actual
                == Member.objects.filter(
                    admitted_on__year=2025, admitted_by__path__startswith=part.organization.path
                ).count()
            )
        # Historical: the districts ended on 30 June 2025.
        historical = engine.fulfilment(province, 2025, structure="historical")
        ended = {part.organization.code: part.ended_on for part in historical.children}
        for code in districts.filter(path__startswith=province.path).values_list("code", flat=True):
            assert ended[code] == before
        # The province's effective 2025 target is the same before and after; a district's is its successors'.
        targets = [EffectiveTargets(province, 2025, DatedTree(day)) for day in (before, datetime.date(2025, 12, 31))]
        for metric in scale.TARGET_METRICS:
            assert targets[0].get(province.path, metric) == targets[1].get(province.path, metric) is not None
        for district in districts.filter(path__startswith=province.path):
            carried = TargetCarry.objects.filter(source=district, year=2025, on=REFORM)
            successors = Organization.objects.filter(pk__in=carried.values("successor"))
            assert successors.count() in (2, 3)
            for metric in scale.TARGET_METRICS:
                assert targets[0].get(district.path, metric) == sum(
                    targets[1].get(successor.path, metric) for successor in successors
                )
                assert targets[1].get(district.path, metric) is None
