"""The roll-up table stays exact through every kind of write (each announced by a domain event),
and reads like the raw engine."""

import datetime
import random
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from branches import services as branch_services
from branches.choices import OrganizationKind
from branches.events import Admission, AdmissionsCorrected, MembersAdmitted
from branches.models import Member
from core.events import RecordsLoaded, publish
from enterprises import services as enterprise_services
from enterprises.choices import MassOrganizationKind
from reports import rollups
from reports.metrics import Metric
from reports.models import Rollup
from reports.rollups.read import whole_months
from tests.factories import (
    MassOrganizationFactory,
    MemberFactory,
    MembershipReturnFactory,
    OrganizationFactory,
    next_citizen_id,
)

D = datetime.date


def value(organization, month, metric):
    row = Rollup.objects.filter(organization=organization, month=month, metric=metric).first()
    return row.value if row else 0


def assert_exact():
    count, details = rollups.differences()
    assert count == 0, details


def admit(user, organization, on, **extra):
    return branch_services.admit_member(
        user,
        organization=organization,
        admitted_on=on,
        full_name="Lê Thị Hoa",
        sex="female",
        date_of_birth=D(1990, 1, 1),
        citizen_id=next_citizen_id(),
        **extra,
    )


@pytest.mark.django_db
def test_admission_counts_at_the_branch_and_every_ancestor(tree, secretary_a):
    admit(secretary_a, tree.branch_a, D(2024, 3, 5), is_business_owner=True, position="owner")
    admit(secretary_a, tree.branch_a, D(2024, 3, 20))
    for organization in (tree.branch_a, tree.committee, tree.city):
        assert value(organization, D(2024, 3, 1), Metric.MEMBERS_ADMITTED) == 2
        assert value(organization, D(2024, 3, 1), Metric.OWNERS_ADMITTED) == 1
    assert value(tree.branch_b, D(2024, 3, 1), Metric.MEMBERS_ADMITTED) == 0
    assert_exact()


@pytest.mark.django_db
def test_transfer_leaves_the_admission_where_it_happened(tree, secretary_a):
    member = admit(secretary_a, tree.branch_a, D(2024, 3, 5))
    branch_services.transfer_member(secretary_a, member, on=D(2024, 5, 1), to_organization=tree.branch_b)
    assert value(tree.branch_a, D(2024, 3, 1), Metric.MEMBERS_ADMITTED) == 1
    assert value(tree.branch_b, D(2024, 3, 1), Metric.MEMBERS_ADMITTED) == 0
    assert_exact()


@pytest.mark.django_db
def test_establishing_dissolving_and_correcting_organisations(tree, administrator):
    branch = branch_services.establish_organization(
        administrator,
        code="BR-NEW",
        name="Chi bộ mới",
        kind=OrganizationKind.GRASSROOTS_BRANCH,
        locality=tree.commune,
        established_on=D(2023, 7, 9),
        parent=tree.committee,
    )
    assert value(tree.city, D(2023, 7, 1), Metric.PARTY_ORGS_ESTABLISHED) == 1
    branch_services.update_organization(administrator, branch, established_on=D(2023, 9, 1))
    assert value(tree.city, D(2023, 7, 1), Metric.PARTY_ORGS_ESTABLISHED) == 0
    assert value(tree.city, D(2023, 9, 1), Metric.PARTY_ORGS_ESTABLISHED) == 1
    branch_services.dissolve_organization(administrator, branch, on=D(2024, 1, 1))
    assert_exact()


@pytest.mark.django_db
def test_moving_an_organisation_moves_its_history(tree, administrator, secretary_a):
    other = OrganizationFactory(code="OTHER", locality=tree.province, parent=tree.city)
    admit(secretary_a, tree.branch_a, D(2024, 2, 2))
    admit(secretary_a, tree.branch_a, D(2024, 4, 2))
    assert value(tree.committee, D(2024, 2, 1), Metric.MEMBERS_ADMITTED) == 1
    branch_services.move_organization(administrator, tree.branch_a, other)
    assert value(tree.committee, D(2024, 2, 1), Metric.MEMBERS_ADMITTED) == 0
    assert value(other, D(2024, 2, 1), Metric.MEMBERS_ADMITTED) == 1
    assert value(other, D(2024, 4, 1), Metric.MEMBERS_ADMITTED) == 1
    assert value(tree.city, D(2024, 4, 1), Metric.MEMBERS_ADMITTED) == 1
    assert_exact()


@pytest.mark.django_db
def test_mass_organisations_and_returns_count_for_the_managing_committee(tree, secretary_a, administrator):
    union = enterprise_services.establish_mass_organization(
        secretary_a,
        enterprise=tree.enterprise_a,
        kind=MassOrganizationKind.TRADE_UNION,
        name="Công đoàn cơ sở An Phát",
        established_on=D(2024, 3, 1),
        founding_members=40,
    )
    enterprise_services.record_membership_return(
        secretary_a, union, date=D(2024, 9, 30), members_total=55, members_admitted=15
    )
    march, september = D(2024, 3, 1), D(2024, 9, 1)
    assert value(tree.committee, march, Metric.TRADE_UNIONS_ESTABLISHED) == 1
    assert value(tree.committee, march, Metric.MASS_ORGS_ESTABLISHED) == 1
    assert value(tree.committee, march, Metric.TRADE_UNION_MEMBERS_ADMITTED) == 40
    assert value(tree.city, september, Metric.MASS_ORG_MEMBERS_ADMITTED) == 15
    assert value(tree.branch_a, march, Metric.MASS_ORGS_ESTABLISHED) == 0
    # The kind corrected: everything moves from the trade-union metrics to the youth-union ones.
    enterprise_services.update_mass_organization(secretary_a, union, kind=MassOrganizationKind.YOUTH_UNION)
    assert value(tree.committee, march, Metric.TRADE_UNIONS_ESTABLISHED) == 0
    assert value(tree.committee, march, Metric.YOUTH_UNIONS_ESTABLISHED) == 1
    assert value(tree.committee, september, Metric.YOUTH_UNION_MEMBERS_ADMITTED) == 15
    assert_exact()
    # Another managing committee: the enterprise's mass organisations follow it.
    other = OrganizationFactory(code="OTHER", locality=tree.province, parent=tree.city)
    enterprise_services.update_enterprise(administrator, tree.enterprise_a, managing_committee=other)
    assert value(tree.committee, march, Metric.MASS_ORGS_ESTABLISHED) == 0
    assert value(other, march, Metric.MASS_ORGS_ESTABLISHED) == 1
    assert value(tree.city, march, Metric.MASS_ORGS_ESTABLISHED) == 1
    assert_exact()


@pytest.mark.django_db
def test_a_corrected_admission_moves_its_count_and_one_struck_out_takes_it_away(tree):
    member = MemberFactory(organization=tree.branch_a, admitted_on=D(2022, 6, 6), is_business_owner=True)
    MembershipReturnFactory(mass_organization=MassOrganizationFactory(enterprise=tree.enterprise_b))
    assert_exact()
    before = Admission.of(member)
    member.admitted_on = D(2021, 1, 1)
    member.save()
    publish(AdmissionsCorrected(before=(before,), after=(Admission.of(member),)))
    assert value(tree.committee, D(2022, 6, 1), Metric.MEMBERS_ADMITTED) == 0
    assert value(tree.committee, D(2021, 1, 1), Metric.OWNERS_ADMITTED) == 1
    assert_exact()
    Member.objects.get(pk=member.pk).delete()
    publish(AdmissionsCorrected(before=(Admission.of(member),), after=()))
    assert value(tree.city, D(2021, 1, 1), Metric.MEMBERS_ADMITTED) == 0
    assert_exact()


@pytest.mark.django_db
def test_rows_written_in_bulk_count_once_announced(tree):
    built = MemberFactory.build_batch(3, organization=tree.branch_a, admitted_on=D(2020, 1, 3))
    members = Member.objects.bulk_create(built)
    assert rollups.differences()[0] > 0  # nothing announced yet
    publish(MembersAdmitted.of(members))  # what the bulk writers do, once per batch
    assert value(tree.city, D(2020, 1, 1), Metric.MEMBERS_ADMITTED) == 3
    assert_exact()
    Member.objects.bulk_create(MemberFactory.build_batch(2, organization=tree.branch_b, admitted_on=D(2020, 2, 3)))
    assert rollups.differences()[0] > 0
    publish(RecordsLoaded(("branches.Member",)))  # what the demo loader and the generator do: a recount
    assert value(tree.city, D(2020, 2, 1), Metric.MEMBERS_ADMITTED) == 2
    assert_exact()


@pytest.mark.django_db
def test_verify_rollups_reports_differences_and_repairs(tree, secretary_a):
    admit(secretary_a, tree.branch_a, D(2024, 3, 5))
    out = StringIO()
    call_command("verify_rollups", stdout=out)
    assert "agree" in out.getvalue()
    Rollup.objects.filter(organization=tree.city, metric=Metric.MEMBERS_ADMITTED).update(value=7)
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("verify_rollups", stdout=out)
    assert "CITY 2024-03 members_admitted: stored 7, recount 1" in out.getvalue()
    call_command("verify_rollups", "--repair", stdout=StringIO())
    call_command("verify_rollups", stdout=StringIO())
    assert value(tree.city, D(2024, 3, 1), Metric.MEMBERS_ADMITTED) == 1


@pytest.mark.django_db
def test_counts_from_rollups_equal_the_raw_counts_for_any_period(tree, secretary_a):
    from reports import engine

    raw = getattr(engine, "raw_count_actuals", engine.count_actuals)
    rng = random.Random(5)
    for _ in range(25):
        organization = rng.choice([tree.branch_a])
        on = D(2023, 1, 1) + datetime.timedelta(days=rng.randint(0, 700))
        owner = rng.random() < 0.2
        admit(secretary_a, organization, on, is_business_owner=owner, position="owner" if owner else "worker")
    MembershipReturnFactory(
        mass_organization=MassOrganizationFactory(enterprise=tree.enterprise_b, established_on=D(2024, 2, 29))
    )
    periods = [
        (D(2023, 1, 1), D(2024, 12, 31)),
        (D(2024, 1, 1), D(2024, 9, 30)),
        (D(2024, 2, 29), D(2024, 2, 29)),
        (D(2023, 3, 15), D(2024, 7, 14)),
        (D(2023, 3, 15), D(2023, 4, 14)),
        (D(2023, 12, 1), D(2024, 1, 31)),
    ]
    for start, end in periods:
        for organization in (tree.city, tree.committee, tree.branch_a):
            expected = {k: {m: n for m, n in v.items() if n} for k, v in raw(organization, start, end).items()}
            expected = {k: v for k, v in expected.items() if v}
            assert rollups.count_actuals(organization, start, end, raw_count=raw) == expected, (start, end)


@pytest.mark.django_db
def test_whole_months_of_a_period_when_nothing_is_dated_around_it():
    assert whole_months(D(2024, 1, 1), D(2024, 12, 31)) == ((D(2024, 1, 1), D(2024, 12, 1)), [])
    # Cut months are read whole from their roll-up rows: nothing is dated in the days cut off.
    assert whole_months(D(2024, 1, 2), D(2024, 3, 30)) == ((D(2024, 1, 1), D(2024, 3, 1)), [])
    assert whole_months(D(2024, 1, 2), D(2024, 1, 30)) == ((D(2024, 1, 1), D(2024, 1, 1)), [])


@pytest.mark.django_db
def test_days_cut_off_a_month_that_hold_events_are_counted_raw(tree):
    MemberFactory(organization=tree.branch_a, admitted_on=D(2024, 1, 1))  # before a start on 2 January
    MemberFactory(organization=tree.branch_a, admitted_on=D(2024, 3, 31))  # after an end on 30 March
    assert whole_months(D(2024, 1, 2), D(2024, 3, 30)) == (
        (D(2024, 2, 1), D(2024, 2, 1)),
        [(D(2024, 1, 2), D(2024, 1, 31)), (D(2024, 3, 1), D(2024, 3, 30))],
    )
    assert whole_months(D(2024, 1, 2), D(2024, 1, 30)) == (None, [(D(2024, 1, 2), D(2024, 1, 30))])
    assert whole_months(D(2024, 2, 1), D(2024, 2, 29)) == ((D(2024, 2, 1), D(2024, 2, 1)), [])


@pytest.mark.django_db
def test_a_report_up_to_a_day_reads_the_month_row_unless_something_is_dated_after_that_day(
    tree, django_assert_num_queries
):
    from reports import engine

    for day in (5, 20):
        MemberFactory(organization=tree.branch_a, admitted_on=D(2024, 6, day))
    with django_assert_num_queries(2):  # the probe and the roll-up rows: no raw count
        counts = engine.count_actuals(tree.committee, D(2024, 1, 1), D(2024, 6, 25))
    assert counts[tree.branch_a.path][Metric.MEMBERS_ADMITTED] == 2
    assert engine.admissions_by_month(tree.committee, D(2024, 1, 1), D(2024, 6, 25)) == {6: 2}

    MemberFactory(organization=tree.branch_a, admitted_on=D(2024, 6, 28))  # after the as-of day
    counts = engine.count_actuals(tree.committee, D(2024, 1, 1), D(2024, 6, 25))
    assert counts[tree.branch_a.path][Metric.MEMBERS_ADMITTED] == 2
    assert engine.admissions_by_month(tree.committee, D(2024, 1, 1), D(2024, 6, 25)) == {6: 2}
    assert engine.admissions_by_month(tree.committee, D(2024, 1, 1), D(2024, 6, 30)) == {6: 3}


def test_rollup_string_names_the_month(db):
    row = Rollup(organization_id=1, month=D(2024, 3, 1), metric=Metric.MEMBERS_ADMITTED, value=3)
    assert "2024-03" in str(row)
