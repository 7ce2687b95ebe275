"""The standing counts (``reports.rollups.standing``): after each kind of event they equal a full
recount (``verify_rollups``), and the structure and gaps read from them equal a count of the raw
tables on any date."""

import datetime

import pytest

from branches import services as branch_services
from branches.choices import OrganizationKind
from enterprises import services as enterprise_services
from enterprises.choices import MassOrganizationKind
from reports import engine, rollups
from reports.models import EnterpriseStandingCount, StandingCount
from tests.factories import EnterpriseFactory, OrganizationFactory, next_citizen_id

D = datetime.date
DATES = (D(2020, 1, 1), D(2023, 3, 3), D(2024, 4, 1), D(2024, 6, 30), D(2024, 12, 31), D(2099, 1, 1))


def nonzero(groups):
    return {key: {k: v for k, v in values.items() if v} for key, values in groups.items() if any(values.values())}


def same_as_raw(organization):
    """Verified: the tables equal a recount, and structure and gaps equal the raw counts on every date."""
    assert rollups.differences() == (0, [])
    for date in (*DATES, engine.today()):
        assert nonzero(engine.structure_groups(organization, date)) == nonzero(
            engine.raw_structure_groups(organization, date)
        ), date
        assert nonzero(engine.count_gap_enterprises(organization, date)) == nonzero(
            engine.raw_count_gap_enterprises(organization, date)
        ), date


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


def branch(administrator, tree, code, on, parent=None):
    return branch_services.establish_organization(
        administrator,
        code=code,
        name=f"Chi bộ {code}",
        kind=OrganizationKind.GRASSROOTS_BRANCH,
        locality=tree.commune,
        established_on=on,
        parent=parent or tree.committee,
    )


@pytest.mark.django_db
def test_every_kind_of_event_keeps_the_standing_counts_exact(tree, administrator):
    enterprise = EnterpriseFactory(
        managing_committee=tree.committee, operating_status="operating", locality=tree.commune
    )
    same_as_raw(tree.city)

    # Organisations established, corrected, moved, merged, dissolved.
    first = branch(administrator, tree, "BR-1", D(2022, 7, 9))
    second = branch(administrator, tree, "BR-2", D(2022, 1, 5))
    branch_services.update_organization(administrator, first, established_on=D(2022, 9, 1))
    same_as_raw(tree.city)

    # Members admitted (one an owner, working in the enterprise), recognised, moved, leaving.
    owner = admit(administrator, first, D(2023, 2, 2), is_business_owner=True, position="owner", enterprise=enterprise)
    worker = admit(administrator, first, D(2023, 5, 5), enterprise=enterprise)
    third = admit(administrator, second, D(2023, 3, 3), enterprise=enterprise)
    assert StandingCount.objects.filter(organization=first, metric="members").exists()
    assert EnterpriseStandingCount.objects.filter(enterprise=enterprise, metric="members").exists()
    same_as_raw(tree.city)
    branch_services.recognize_official(administrator, owner, official_on=D(2024, 2, 2))
    branch_services.recognize_official(administrator, worker, official_on=D(2024, 5, 5))
    branch_services.recognize_official(administrator, third, official_on=D(2024, 3, 3))
    same_as_raw(tree.city)

    # Three official members from 5 May 2024 make the enterprise a gap, until a Party organisation
    # sits in it; moved to another enterprise or dissolved, it leaves the gap open again.
    def eligible(date):
        return engine._total(engine.count_gap_enterprises(tree.city, date))["eligible_enterprises"]

    assert (eligible(D(2024, 5, 4)), eligible(D(2024, 5, 5))) == (0, 1)
    in_enterprise = branch_services.establish_organization(
        administrator,
        code="BR-E",
        name="Chi bộ Công ty",
        kind=OrganizationKind.GRASSROOTS_BRANCH,
        locality=tree.commune,
        established_on=D(2024, 6, 1),
        parent=tree.committee,
        enterprise=enterprise,
    )
    assert (eligible(D(2024, 5, 31)), eligible(D(2024, 6, 1))) == (1, 0)
    same_as_raw(tree.city)
    branch_services.update_organization(
        administrator,
        in_enterprise,
        enterprise=EnterpriseFactory(managing_committee=tree.committee, locality=tree.commune),
    )
    assert eligible(D(2024, 6, 1)) == 1
    same_as_raw(tree.city)
    branch_services.update_organization(administrator, in_enterprise, enterprise=enterprise)
    branch_services.dissolve_organization(administrator, in_enterprise, on=D(2024, 6, 20))
    assert (eligible(D(2024, 6, 19)), eligible(D(2024, 6, 20))) == (0, 1)
    same_as_raw(tree.city)
    other_enterprise = EnterpriseFactory(managing_committee=tree.committee)
    branch_services.update_member(
        administrator, worker, enterprise=other_enterprise, is_business_owner=True, position="owner"
    )
    same_as_raw(tree.city)
    branch_services.transfer_member(administrator, worker, on=D(2024, 3, 1), to_organization=tree.branch_b)
    branch_services.record_leaving(administrator, owner, on=D(2024, 4, 1), reason="resigned")
    same_as_raw(tree.city)
    other = OrganizationFactory(code="OTHER", locality=tree.province, parent=tree.city)
    branch_services.move_organization(administrator, first, other)
    same_as_raw(tree.city)
    branch_services.merge_organizations(administrator, [second], tree.branch_a, on=D(2024, 5, 1))
    same_as_raw(tree.city)
    branch_services.dissolve_organization(administrator, first, on=engine.today())
    same_as_raw(tree.city)

    # An enterprise created, its trade union and returns, its committee changed, the union dissolved, closed.
    created = enterprise_services.create_enterprise(
        administrator,
        tax_code="0100109106",
        name="Công ty TNHH Hồng Hà",
        ownership="private",
        locality=tree.commune,
        size_class="small",
        employees=80,
        operating_status="operating",
        managing_committee=tree.committee,
    )
    union = enterprise_services.establish_mass_organization(
        administrator,
        enterprise=created,
        kind=MassOrganizationKind.TRADE_UNION,
        name="Công đoàn Hồng Hà",
        established_on=D(2023, 6, 1),
        founding_members=30,
    )
    enterprise_services.record_membership_return(
        administrator, union, date=D(2024, 6, 30), members_total=40, members_admitted=10
    )
    same_as_raw(tree.city)
    enterprise_services.update_enterprise(administrator, created, managing_committee=other)
    same_as_raw(tree.city)

    # Only an operating enterprise's trade union counts in the share.
    def with_union(date):
        return engine._total(engine.count_gap_enterprises(tree.city, date))["trade_union_share"]

    assert with_union(D(2024, 7, 1)) == 1
    enterprise_services.update_enterprise(administrator, created, operating_status="suspended")
    assert with_union(D(2024, 7, 1)) == 0
    same_as_raw(tree.city)
    enterprise_services.update_enterprise(administrator, created, operating_status="operating")
    enterprise_services.dissolve_mass_organization(administrator, union, on=D(2024, 8, 1))
    assert (with_union(D(2024, 7, 31)), with_union(D(2024, 8, 1))) == (1, 0)
    same_as_raw(tree.city)
    enterprise_services.update_enterprise(administrator, created, operating_status="ceased")
    same_as_raw(tree.city)


@pytest.mark.django_db
def test_a_mass_organisation_counts_its_latest_return_while_it_lives(tree, administrator):
    union = enterprise_services.establish_mass_organization(
        administrator,
        enterprise=tree.enterprise_a,
        kind=MassOrganizationKind.TRADE_UNION,
        name="Công đoàn",
        established_on=D(2023, 6, 1),
        founding_members=30,
    )
    enterprise_services.record_membership_return(
        administrator, union, date=D(2024, 6, 30), members_total=40, members_admitted=10
    )
    enterprise_services.dissolve_mass_organization(administrator, union, on=D(2024, 8, 1))

    def members_on(date):
        return engine.structure(tree.city, date).row("mass_organization_members").value

    assert [members_on(d) for d in (D(2023, 5, 31), D(2023, 6, 1), D(2024, 6, 30), D(2024, 8, 1))] == [0, 30, 40, 0]
    same_as_raw(tree.city)


@pytest.mark.django_db
def test_rebuild_recounts_the_standing_counts_and_verify_finds_a_damaged_row(tree, administrator):
    admit(administrator, tree.branch_a, D(2023, 2, 2), enterprise=tree.enterprise_a)
    row = StandingCount.objects.filter(metric="members").first()
    row.value += 5
    row.save()
    count, details = rollups.differences()
    # the damaged day (the total was left as it was), and the month's roll-up of each subtree
    # holding it, counted from the rows as stored
    above = {ancestor.pk for ancestor in row.organization.get_ancestors()} | {row.organization_id}
    assert count == 1 + len(above)
    assert {detail[:3] for detail in details} == {(row.organization_id, row.day, "organization members")} | {
        (pk, row.day.replace(day=1), "rollup members") for pk in above
    }
    rollups.rebuild()
    assert rollups.differences() == (0, [])
