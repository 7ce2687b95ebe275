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

from branches.choices import GRASSROOTS_KINDS, MemberStatus, OrganizationKind, PeriodEndReason
from branches.models import Member, MembershipPeriod, Organization
from core.text import search_key
from core.validators import validate_tax_code
from devdata import scale
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

    # Counts as asked, 34 provinces and the 3,321 communes of the two-tier map.
    assert Member.objects.count() == TINY["members"]
    assert Enterprise.objects.count() == TINY["enterprises"]
    assert Organization.objects.count() == TINY["organizations"]
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

    # Targets for every committee and every year of the window.
    committees = Organization.objects.filter(kind=OrganizationKind.COMMITTEE).count()
    per_committee_year = Target.objects.values("committee", "year").distinct().count()
    assert per_committee_year == committees * TINY["years"]

    # The database's own constraints are all in place again (foreign keys, the period exclusion).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE conname = 'period_no_overlap' "
            "AND conrelid = 'branches_membershipperiod'::regclass"
        )
        assert cursor.fetchone()[0] == 1
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
