"""Rule tests of the tally engine (DOMAIN.md, "How the reports tally") on small factory-built trees."""

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from branches import services as branch_services
from branches.choices import OrganizationKind
from enterprises.choices import MassOrganizationKind, OperatingStatus
from reports import engine
from reports.formatting import display, format_number, percent_of
from reports.metrics import Metric
from reports.rollups import standing
from reports.serializers import fulfilment_to_dict, gaps_to_dict, structure_to_dict
from tests.factories import (
    EnterpriseFactory,
    LocalityFactory,
    MassOrganizationFactory,
    MemberFactory,
    MembershipReturnFactory,
    OrganizationFactory,
    TargetFactory,
    UserFactory,
)

D = datetime.date
YEAR = 2024


def branch(parent, code, kind=OrganizationKind.GRASSROOTS_BRANCH, **kwargs):
    kwargs.setdefault("locality", parent.locality)
    return OrganizationFactory(code=code, kind=kind, parent=parent, **kwargs)


def admit(organization, on, *, owner=False, **kwargs):
    return MemberFactory(
        organization=organization,
        admitted_on=on,
        is_business_owner=owner,
        official_on=kwargs.pop("official_on", on + datetime.timedelta(days=365)),
        **kwargs,
    )


@pytest.fixture
def city(db):
    """HN with two district committees D1 and D2, each with one grassroots branch."""
    province = LocalityFactory(code="01", name="Hà Nội")
    root = OrganizationFactory(code="HN", name="Thành ủy Hà Nội", locality=province)
    d1 = branch(root, "D1", OrganizationKind.COMMITTEE, name="Quận ủy Một")
    d2 = branch(root, "D2", OrganizationKind.COMMITTEE, name="Quận ủy Hai")
    b1 = branch(d1, "B1", established_on=D(2015, 1, 1))
    b2 = branch(d2, "B2", established_on=D(2015, 1, 1))
    return SimpleNamespace(root=root, d1=d1, d2=d2, b1=b1, b2=b2)


@pytest.fixture
def admin_user(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


def row(report, metric):
    return report.row(metric)


def child(report, code):
    return next(part for part in report.children if part.organization.code == code)


# Rule 2: where events count ----------------------------------------------------------------


def test_admission_stays_with_admitting_organisation_after_transfer(city, admin_user):
    member = admit(city.b1, D(2024, 3, 1))
    branch_services.transfer_member(
        admin_user, member, on=D(2024, 6, 1), to_organization=city.b2, presented_on=D(2024, 6, 1)
    )

    report = engine.fulfilment(city.root, YEAR)

    assert child(report, "D1").row(Metric.MEMBERS_ADMITTED).actual == 1
    assert child(report, "D2").row(Metric.MEMBERS_ADMITTED).actual == 0
    assert row(report, Metric.MEMBERS_ADMITTED).actual == 1


def test_owner_admissions_count_owners_at_admission(city):
    admit(city.b1, D(2024, 2, 1), owner=True)
    admit(city.b1, D(2024, 2, 2))
    report = engine.fulfilment(city.root, YEAR)
    assert row(report, Metric.MEMBERS_ADMITTED).actual == 2
    assert row(report, Metric.OWNERS_ADMITTED).actual == 1


def test_establishment_counts_grassroots_kinds_for_the_organisation_established(city):
    committee = branch(city.d1, "GC", OrganizationKind.GRASSROOTS_COMMITTEE, established_on=D(2024, 4, 1))
    branch(committee, "SB", OrganizationKind.SUBORDINATE_BRANCH, established_on=D(2024, 5, 1))
    branch(city.d2, "D2-C", OrganizationKind.COMMITTEE, established_on=D(2024, 5, 1))  # not grassroots
    branch(city.d2, "OLD", established_on=D(2023, 12, 31))  # before the year

    report = engine.fulfilment(city.root, YEAR)

    assert child(report, "D1").row(Metric.PARTY_ORGS_ESTABLISHED).actual == 2
    assert child(report, "D2").row(Metric.PARTY_ORGS_ESTABLISHED).actual == 0
    assert row(report, Metric.PARTY_ORGS_ESTABLISHED).actual == 2


def test_mass_organisations_and_returns_count_for_the_managing_committee(city):
    # The enterprise is managed by D2 although the Party branch in it sits under D1.
    enterprise = EnterpriseFactory(managing_committee=city.d2)
    union = MassOrganizationFactory(
        enterprise=enterprise, kind=MassOrganizationKind.TRADE_UNION, established_on=D(2024, 3, 1)
    )
    MembershipReturnFactory(mass_organization=union, members_total=40, members_admitted=40)
    MembershipReturnFactory(
        mass_organization=union, date=D(2024, 9, 1), members_total=55, members_admitted=15, is_founding=False
    )
    youth = MassOrganizationFactory(
        enterprise=enterprise, kind=MassOrganizationKind.YOUTH_UNION, established_on=D(2024, 4, 1)
    )
    MembershipReturnFactory(mass_organization=youth, members_total=12, members_admitted=12)
    women = MassOrganizationFactory(
        enterprise=enterprise, kind=MassOrganizationKind.WOMENS_UNION, established_on=D(2024, 5, 1)
    )
    MembershipReturnFactory(mass_organization=women, members_total=8, members_admitted=8)

    report = engine.fulfilment(city.root, YEAR)
    d2 = child(report, "D2")

    assert d2.row(Metric.TRADE_UNIONS_ESTABLISHED).actual == 1
    assert d2.row(Metric.YOUTH_UNIONS_ESTABLISHED).actual == 1
    assert d2.row(Metric.MASS_ORGS_ESTABLISHED).actual == 3
    assert d2.row(Metric.TRADE_UNION_MEMBERS_ADMITTED).actual == 55
    assert d2.row(Metric.YOUTH_UNION_MEMBERS_ADMITTED).actual == 12
    assert d2.row(Metric.MASS_ORG_MEMBERS_ADMITTED).actual == 75
    assert child(report, "D1").row(Metric.MASS_ORGS_ESTABLISHED).actual == 0


def test_moving_an_organisation_moves_its_history(city, admin_user):
    """Rule 2, dated: a report whose end date is after the move counts the moved history under the new parent."""
    admit(city.b1, D(2024, 3, 1))
    before = engine.fulfilment(city.root, YEAR)
    assert child(before, "D1").row(Metric.MEMBERS_ADMITTED).actual == 1

    branch_services.move_organization(admin_user, city.b1, city.d2, on=D(2024, 6, 1))

    after = engine.fulfilment(city.root, YEAR)
    assert child(after, "D1").row(Metric.MEMBERS_ADMITTED).actual == 0
    assert child(after, "D2").row(Metric.MEMBERS_ADMITTED).actual == 1
    assert row(after, Metric.MEMBERS_ADMITTED).actual == 1


def test_report_of_a_committee_counts_only_its_subtree(city):
    admit(city.b1, D(2024, 3, 1))
    admit(city.b2, D(2024, 3, 1))
    report = engine.fulfilment(city.d1, YEAR)
    assert row(report, Metric.MEMBERS_ADMITTED).actual == 1
    assert [part.organization.code for part in report.children] == ["B1"]


# Rule 4: targets ---------------------------------------------------------------------------


def test_committee_without_own_target_gets_the_sum_of_the_committees_below(city):
    TargetFactory(committee=city.d1, metric=Metric.MEMBERS_ADMITTED, value=10)
    TargetFactory(committee=city.d2, metric=Metric.MEMBERS_ADMITTED, value=15)
    report = engine.fulfilment(city.root, YEAR)
    assert row(report, Metric.MEMBERS_ADMITTED).target == 25
    assert child(report, "D1").row(Metric.MEMBERS_ADMITTED).target == 10
    assert child(report, "D2").row(Metric.MEMBERS_ADMITTED).target == 15


def test_own_target_wins_over_the_sum_below(city):
    TargetFactory(committee=city.root, metric=Metric.MEMBERS_ADMITTED, value=30)
    TargetFactory(committee=city.d1, metric=Metric.MEMBERS_ADMITTED, value=10)
    report = engine.fulfilment(city.root, YEAR)
    assert row(report, Metric.MEMBERS_ADMITTED).target == 30


def test_targets_add_up_recursively_through_levels_without_rows(city):
    ward = branch(city.d1, "W1", OrganizationKind.COMMITTEE)
    TargetFactory(committee=ward, metric=Metric.MEMBERS_ADMITTED, value=7)
    TargetFactory(committee=city.d2, metric=Metric.MEMBERS_ADMITTED, value=5)
    # A row below a committee that has its own row does not count twice.
    ward_below_d2 = branch(city.d2, "W2", OrganizationKind.COMMITTEE)
    TargetFactory(committee=ward_below_d2, metric=Metric.MEMBERS_ADMITTED, value=100)

    report = engine.fulfilment(city.root, YEAR)

    assert child(report, "D1").row(Metric.MEMBERS_ADMITTED).target == 7
    assert child(report, "D2").row(Metric.MEMBERS_ADMITTED).target == 5
    assert row(report, Metric.MEMBERS_ADMITTED).target == 12


def test_targets_of_another_year_are_ignored(city):
    TargetFactory(committee=city.d1, metric=Metric.MEMBERS_ADMITTED, value=10, year=2023)
    report = engine.fulfilment(city.root, YEAR)
    assert row(report, Metric.MEMBERS_ADMITTED).target is None


def test_no_target_anywhere_gives_none_and_json_null_not_zero(city):
    admit(city.b1, D(2024, 3, 1))
    report = engine.fulfilment(city.root, YEAR)
    members = row(report, Metric.MEMBERS_ADMITTED)
    assert members.target is None
    assert members.percent is None
    with translation.override("en"):
        assert members.display == "1"
        data = fulfilment_to_dict(report)
    first = next(r for r in data["rows"] if r["metric"] == "members_admitted")
    assert first["target"] is None and first["percent"] is None


def test_zero_target_shows_the_fraction_without_a_percentage(city):
    TargetFactory(committee=city.d1, metric=Metric.MEMBERS_ADMITTED, value=0)
    admit(city.b1, D(2024, 3, 1))
    report = engine.fulfilment(city.root, YEAR)
    members = row(report, Metric.MEMBERS_ADMITTED)
    assert members.target == 0
    assert members.percent is None
    assert members.display == "1/0"


def test_mass_organisation_target_is_own_row_or_the_sum_of_its_kinds(city):
    TargetFactory(committee=city.d1, metric=Metric.TRADE_UNIONS_ESTABLISHED, value=30)
    TargetFactory(committee=city.d1, metric=Metric.YOUTH_UNIONS_ESTABLISHED, value=20)
    TargetFactory(committee=city.d2, metric=Metric.TRADE_UNIONS_ESTABLISHED, value=5)
    TargetFactory(committee=city.d2, metric=Metric.MASS_ORGS_ESTABLISHED, value=9)
    report = engine.fulfilment(city.root, YEAR)
    assert child(report, "D1").row(Metric.MASS_ORGS_ESTABLISHED).target == 50
    assert child(report, "D2").row(Metric.MASS_ORGS_ESTABLISHED).target == 9
    # The city's: no own row, so its kinds' targets: trade 35 + youth 20.
    assert row(report, Metric.MASS_ORGS_ESTABLISHED).target == 55
    assert row(report, Metric.MASS_ORG_MEMBERS_ADMITTED).target is None


# Rule 5: percentages and display -----------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "target", "percent"),
    [(2, 3, "66.7"), (1, 8, "12.5"), (1, 6, "16.7"), (1024, 903, "113.4"), (847, 350, "242.0"), (0, 5, "0.0")],
)
def test_percent_is_rounded_half_up_to_one_decimal(actual, target, percent):
    assert percent_of(actual, target) == Decimal(percent)


def test_percent_in_a_report_row_is_rounded_half_up(city):
    TargetFactory(committee=city.d1, metric=Metric.MEMBERS_ADMITTED, value=8)
    TargetFactory(committee=city.d2, metric=Metric.MEMBERS_ADMITTED, value=6)
    admit(city.b1, D(2024, 3, 1))
    admit(city.b2, D(2024, 3, 1))
    report = engine.fulfilment(city.root, YEAR)
    assert child(report, "D1").row(Metric.MEMBERS_ADMITTED).percent == Decimal("12.5")
    assert child(report, "D2").row(Metric.MEMBERS_ADMITTED).percent == Decimal("16.7")
    assert row(report, Metric.MEMBERS_ADMITTED).percent == Decimal("14.3")  # 2/14


def test_display_uses_the_active_language_grouping_and_drops_a_trailing_zero():
    with translation.override("en"):
        assert display(1024, 903, Decimal("113.4")) == "1,024/903 (113.4%)"
        assert display(847, 350, Decimal("242.0")) == "847/350 (242%)"
        assert display(128975, 35000, Decimal("368.5")) == "128,975/35,000 (368.5%)"
        assert display(13, None, None) == "13"
    with translation.override("vi"):
        assert display(1024, 903, Decimal("113.4")) == "1.024/903 (113,4%)"
        assert display(128975, 35000, Decimal("368.5")) == "128.975/35.000 (368,5%)"
        assert display(12717, None, None) == "12.717"


def test_row_display_follows_the_language_active_when_read(city):
    TargetFactory(committee=city.d1, metric=Metric.MEMBERS_ADMITTED, value=3)
    admit(city.b1, D(2024, 3, 1))
    admit(city.b1, D(2024, 3, 2))
    report = engine.fulfilment(city.root, YEAR)
    with translation.override("en"):
        assert row(report, Metric.MEMBERS_ADMITTED).display == "2/3 (66.7%)"
    with translation.override("vi"):
        assert row(report, Metric.MEMBERS_ADMITTED).display == "2/3 (66,7%)"


# Rule 1 and 5: periods ----------------------------------------------------------------------


def test_events_after_the_as_of_date_are_excluded_and_the_target_is_not_shrunk(city):
    TargetFactory(committee=city.d1, metric=Metric.MEMBERS_ADMITTED, value=25)
    for day in range(16):
        admit(city.b1, D(2024, 1, 10) + datetime.timedelta(days=day * 15))
    admit(city.b1, D(2024, 9, 30))  # on the as-of date: counts; 16 until here with the loop's 15 before
    for day in range(4):
        admit(city.b1, D(2024, 10, 1) + datetime.timedelta(days=day))

    report = engine.fulfilment(city.d1, YEAR, as_of=D(2024, 9, 30))

    members = row(report, Metric.MEMBERS_ADMITTED)
    assert report.start == D(2024, 1, 1) and report.end == D(2024, 9, 30)
    assert members.actual == 17
    assert members.target == 25
    assert members.percent == Decimal("68.0")


def test_sixteen_of_twenty_five_by_the_end_of_september_is_sixty_four_percent(city):
    TargetFactory(committee=city.d1, metric=Metric.MEMBERS_ADMITTED, value=25)
    for day in range(16):
        admit(city.b1, D(2024, 2, 1) + datetime.timedelta(days=day * 10))
    admit(city.b1, D(2024, 11, 5))
    report = engine.fulfilment(city.d1, YEAR, as_of=D(2024, 9, 30))
    with translation.override("en"):
        assert row(report, Metric.MEMBERS_ADMITTED).display == "16/25 (64%)"
    assert row(engine.fulfilment(city.d1, YEAR), Metric.MEMBERS_ADMITTED).actual == 17


def test_as_of_after_the_year_is_clamped_and_before_it_is_an_error(city):
    report = engine.fulfilment(city.root, YEAR, as_of=D(2025, 3, 1))
    assert report.end == D(2024, 12, 31)
    with pytest.raises(ValueError):
        engine.fulfilment(city.root, YEAR, as_of=D(2023, 12, 31))


def test_current_year_ends_today_by_default(city, monkeypatch):
    monkeypatch.setattr(engine, "today", lambda: D(2024, 5, 15))
    admit(city.b1, D(2024, 5, 15))
    report = engine.fulfilment(city.root, YEAR)
    assert report.end == D(2024, 5, 15)
    assert engine.fulfilment(city.root, 2023).end == D(2023, 12, 31)


def test_range_counts_actuals_between_the_dates_without_targets(city):
    TargetFactory(committee=city.d1, metric=Metric.MEMBERS_ADMITTED, value=25)
    admit(city.b1, D(2012, 2, 26))
    admit(city.b1, D(2012, 2, 27))
    admit(city.b1, D(2024, 12, 31))
    admit(city.b1, D(2025, 1, 1))
    report = engine.fulfilment_range(city.root, D(2012, 2, 27), D(2024, 12, 31))
    members = row(report, Metric.MEMBERS_ADMITTED)
    assert report.year is None
    assert members.actual == 2
    assert members.target is None and members.percent is None
    with pytest.raises(ValueError):
        engine.fulfilment_range(city.root, D(2024, 2, 1), D(2024, 1, 1))


def test_fulfilment_json_has_the_fixed_shape(city):
    TargetFactory(committee=city.d1, metric=Metric.MEMBERS_ADMITTED, value=3)
    admit(city.b1, D(2024, 3, 1))
    with translation.override("en"):
        data = fulfilment_to_dict(engine.fulfilment(city.root, YEAR, as_of=D(2024, 6, 30)))
    assert list(data) == ["organization", "start", "end", "rows", "structure", "children", "approval", "projection"]
    assert data["structure"] == "end"
    assert data["organization"] == {"code": "HN", "name": "Thành ủy Hà Nội"}
    assert (data["start"], data["end"]) == ("2024-01-01", "2024-06-30")
    assert [r["metric"] for r in data["rows"]] == list(Metric.values)
    members = data["rows"][1]
    assert members == {
        "metric": "members_admitted",
        "actual": 1,
        "target": 3,
        "percent": 33.3,
        "display": "1/3 (33.3%)",
    }
    assert [c["organization"]["code"] for c in data["children"]] == ["D1", "D2"]
    assert list(data["children"][0]) == ["organization", "rows", "ended_on"]
    assert data["children"][0]["ended_on"] is None


# Rule 6: structure --------------------------------------------------------------------------


def test_dissolved_organisation_is_not_active_after_its_dissolution(city, admin_user):
    gone = branch(city.d1, "GONE", established_on=D(2016, 1, 1))
    admit(gone, D(2018, 1, 1), official_on=D(2019, 1, 1))
    admit(gone, D(2018, 1, 1), official_on=D(2019, 1, 1))
    branch_services.dissolve_organization(admin_user, gone, on=D(2024, 5, 1))

    before = child(engine.structure(city.root, D(2024, 4, 30)), "D1")
    on_the_day = child(engine.structure(city.root, D(2024, 5, 1)), "D1")

    assert before.row("grassroots_branches").value == 2
    assert before.row("members").value == 2
    assert on_the_day.row("grassroots_branches").value == 1
    assert on_the_day.row("members").value == 0


def test_structure_counts_organisations_members_owners_and_mass_organisations(city, admin_user):
    committee = branch(city.d2, "GC", OrganizationKind.GRASSROOTS_COMMITTEE)
    sub = branch(committee, "SB", OrganizationKind.SUBORDINATE_BRANCH)
    branch(city.d2, "LATER", established_on=D(2025, 1, 1))
    admit(city.b1, D(2020, 1, 1), owner=True)
    admit(city.b1, D(2020, 1, 1))
    admit(sub, D(2020, 1, 1), owner=True)
    moved = admit(sub, D(2020, 1, 1), owner=True)
    branch_services.transfer_member(
        admin_user, moved, on=D(2024, 2, 1), to_organization=city.b1, presented_on=D(2024, 2, 1)
    )
    left = admit(city.b2, D(2020, 1, 1))
    branch_services.transfer_member(admin_user, left, on=D(2024, 2, 1))  # to the place of residence
    enterprise = EnterpriseFactory(managing_committee=city.d2)
    EnterpriseFactory(managing_committee=city.d2, operating_status=OperatingStatus.CEASED)
    union = MassOrganizationFactory(enterprise=enterprise, established_on=D(2020, 1, 1))
    MembershipReturnFactory(mass_organization=union, members_total=30, members_admitted=30)
    MembershipReturnFactory(
        mass_organization=union, date=D(2024, 6, 1), members_total=45, members_admitted=15, is_founding=False
    )
    MembershipReturnFactory(  # after the date: not yet the latest
        mass_organization=union, date=D(2025, 1, 1), members_total=99, members_admitted=54, is_founding=False
    )
    youth = MassOrganizationFactory(
        enterprise=enterprise, kind=MassOrganizationKind.YOUTH_UNION, established_on=D(2020, 1, 1)
    )
    MembershipReturnFactory(mass_organization=youth, members_total=10, members_admitted=10)

    report = engine.structure(city.root, D(2024, 12, 31))

    assert row(report, "party_organizations").value == 4  # B1, B2, GC, SB
    assert row(report, "grassroots_committees").value == 1
    assert row(report, "subordinate_branches").value == 1
    assert row(report, "grassroots_branches").value == 2
    assert row(report, "branches").value == 3  # B1, B2, SB
    assert row(report, "members").value == 4
    assert row(report, "business_owners").value == 3
    assert row(report, "organizations_with_owners").value == 2  # B1 and SB
    assert row(report, "enterprises").value == 2
    assert row(report, "enterprises_operating").value == 1
    assert row(report, "mass_organizations").value == 2
    assert row(report, "trade_unions").value == 1
    assert row(report, "mass_organization_members").value == 55
    d2 = child(report, "D2")
    assert d2.row("members").value == 1
    assert d2.row("mass_organization_members").value == 55
    assert child(report, "D1").row("members").value == 3
    with translation.override("en"):
        data = structure_to_dict(report)
    assert data["date"] == "2024-12-31"
    assert data["rows"][5] == {"metric": "members", "label": "Party members", "value": 4, "display": "4"}


# Rule 7: gaps -------------------------------------------------------------------------------


def test_gaps_find_eligible_and_small_enterprises_without_a_party_organisation(city):
    day = D(2024, 12, 31)
    eligible = EnterpriseFactory(managing_committee=city.d1, name="Đủ điều kiện")
    for _i in range(3):
        admit(city.b1, D(2020, 1, 1), enterprise=eligible, official_on=D(2021, 1, 1))
    probationary = EnterpriseFactory(managing_committee=city.d1, name="Dự bị")
    for _i in range(2):
        admit(city.b1, D(2020, 1, 1), enterprise=probationary, official_on=D(2021, 1, 1))
    admit(city.b1, D(2024, 6, 1), enterprise=probationary, official_on=None)
    small = EnterpriseFactory(managing_committee=city.d2, name="Nhỏ")
    admit(city.b2, D(2020, 1, 1), enterprise=small)
    with_branch = EnterpriseFactory(managing_committee=city.d2, name="Có chi bộ")
    branch(city.d2, "IN", enterprise=with_branch)
    for _i in range(4):
        admit(city.b2, D(2020, 1, 1), enterprise=with_branch, official_on=D(2021, 1, 1))
    EnterpriseFactory(managing_committee=city.d2, name="Không ai")

    report = engine.gaps(city.root, day)

    assert [e.name for e in report.eligible_enterprises] == ["Đủ điều kiện"]
    assert [e.name for e in report.small_enterprises] == ["Nhỏ"]
    assert row(report, "eligible_enterprises").value == 1
    assert row(report, "enterprises_with_one_or_two_members").value == 1
    assert child(report, "D1").row("eligible_enterprises").value == 1
    assert child(report, "D2").row("enterprises_with_one_or_two_members").value == 1
    # Before the third member became official the enterprise was not yet eligible.
    assert row(engine.gaps(city.root, D(2020, 6, 1)), "eligible_enterprises").value == 0


def test_gaps_list_organisations_without_admissions_for_n_years(city):
    day = D(2024, 12, 31)
    cai_lan = branch(city.d1, "CL", established_on=D(2012, 2, 1), name="Chi bộ Cái Lân")
    admit(cai_lan, D(2019, 5, 1))
    admit(city.b1, D(2023, 5, 1))  # B1 admitted recently
    branch(city.d2, "NEW", established_on=D(2023, 1, 1))  # too young to be stagnant
    committee = branch(city.d2, "GC", OrganizationKind.GRASSROOTS_COMMITTEE, established_on=D(2015, 1, 1))
    sub = branch(committee, "SB", OrganizationKind.SUBORDINATE_BRANCH, established_on=D(2015, 1, 1))
    admit(sub, D(2024, 1, 1))  # the subordinate branch's admission keeps its committee alive

    report = engine.gaps(city.root, day, stagnant_years=3)

    codes = sorted(o.code for o in report.stagnant_organizations)
    assert codes == ["B2", "CL"]
    cai_lan_row = next(o for o in report.stagnant_organizations if o.code == "CL")
    assert cai_lan_row.last_admitted_on == D(2019, 5, 1)
    assert child(report, "D1").row("stagnant_organizations").value == 1
    assert sorted(o.code for o in engine.gaps(city.root, day, stagnant_years=6).stagnant_organizations) == ["B2"]


def test_gaps_share_of_operating_enterprises_with_a_trade_union(city):
    day = D(2024, 12, 31)
    for index in range(3):
        enterprise = EnterpriseFactory(managing_committee=city.d1)
        if index < 2:
            MassOrganizationFactory(enterprise=enterprise, established_on=D(2020, 1, 1))
    dissolved = EnterpriseFactory(managing_committee=city.d1)
    MassOrganizationFactory(enterprise=dissolved, established_on=D(2020, 1, 1), dissolved_on=D(2023, 1, 1))
    ceased = EnterpriseFactory(managing_committee=city.d1, operating_status=OperatingStatus.CEASED)
    MassOrganizationFactory(enterprise=ceased, established_on=D(2020, 1, 1))

    report = engine.gaps(city.root, day)

    share = row(report, "trade_union_share")
    assert (share.value, share.total, share.percent) == (2, 4, Decimal("50.0"))
    with translation.override("en"):
        assert share.display == "2/4 (50%)"
        data = gaps_to_dict(report)
    assert data["rows"][3]["percent"] == 50.0
    assert data["eligible_enterprises"] == [] and data["stagnant_organizations"][0]["code"] in {"B1", "B2"}


# Constant number of queries -------------------------------------------------------------------


def build_tree(root, size, tag):
    """``size`` committees under ``root``, each with a branch, members, an enterprise, unions and targets."""
    for index in range(size):
        committee = branch(root, f"{tag}C{index}", OrganizationKind.COMMITTEE)
        grassroots = branch(committee, f"{tag}G{index}", OrganizationKind.GRASSROOTS_COMMITTEE)
        sub = branch(grassroots, f"{tag}S{index}", OrganizationKind.SUBORDINATE_BRANCH, established_on=D(2024, 2, 1))
        enterprise = EnterpriseFactory(managing_committee=committee)
        for day in range(2):
            admit(sub, D(2024, 3, 1 + day), enterprise=enterprise, owner=day == 0, official_on=D(2024, 4, 1))
        union = MassOrganizationFactory(enterprise=enterprise)
        MembershipReturnFactory(mass_organization=union)
        TargetFactory(committee=committee, metric=Metric.MEMBERS_ADMITTED, value=5)
        TargetFactory(committee=committee, metric=Metric.TRADE_UNIONS_ESTABLISHED, value=2)


def queries_of(callable_):
    with CaptureQueriesContext(connection) as context:
        result = callable_()
    return len(context.captured_queries), result


def run_all_reports(organization):
    fulfilment_to_dict(engine.fulfilment(organization, YEAR))
    fulfilment_to_dict(engine.fulfilment_range(organization, D(2012, 1, 1), D(2024, 12, 31)))
    structure_to_dict(engine.structure(organization, D(2024, 12, 31)))
    gaps_to_dict(engine.gaps(organization, D(2024, 12, 31)))


def test_number_of_queries_stays_the_same_when_the_tree_grows_tenfold(db, django_assert_num_queries):
    province = LocalityFactory()
    small = OrganizationFactory(code="SMALL", locality=province)
    large = OrganizationFactory(code="LARGE", locality=province)
    build_tree(small, 2, "s")
    build_tree(large, 20, "l")

    run_all_reports(small)  # warms the caches (the standing counts' cached choice of plan)
    small_count, small_report = queries_of(lambda: run_all_reports(small))
    with django_assert_num_queries(small_count):
        run_all_reports(large)

    report = engine.fulfilment(large, YEAR)
    assert row(report, Metric.MEMBERS_ADMITTED).actual == 40
    assert row(report, Metric.MEMBERS_ADMITTED).target == 100
    assert row(report, Metric.PARTY_ORGS_ESTABLISHED).actual == 20  # the subordinate branches of 2024
    assert len(report.children) == 20


@pytest.mark.parametrize(
    ("language", "value", "shown"),
    [
        ("en", 1234567, "1,234,567"),
        ("vi", 1234567, "1.234.567"),
        ("vi", -12717, "-12.717"),
        ("en", 999, "999"),
        ("vi", Decimal("113.4"), "113,4"),
        ("en", Decimal("1234.5"), "1,234.5"),
    ],
)
def test_numbers_are_grouped_in_the_active_language(language, value, shown):
    with translation.override(language):
        assert format_number(value) == shown


def test_stagnant_organisations_from_recent_admissions_match_the_last_admission_on_every_edge(city, monkeypatch):
    """Today's tree reads the subtrees' recent admissions from the standing roll-up; a window of
    another length reads each organisation's last admission. Both give the same list and the same
    last admissions on the days around each admission's third anniversary, 29 February included."""
    committee = branch(city.d2, "GC", OrganizationKind.GRASSROOTS_COMMITTEE, established_on=D(2010, 1, 1))
    sub = branch(committee, "SB", OrganizationKind.SUBORDINATE_BRANCH, established_on=D(2010, 1, 1))
    leap = branch(city.d1, "LP", established_on=D(2010, 1, 1))
    admit(leap, D(2020, 2, 29))
    admit(city.b1, D(2021, 2, 28))
    admit(city.b2, D(2021, 3, 1))
    admit(sub, D(2020, 12, 31))
    admit(committee, D(2019, 6, 15))
    days = [
        D(2021, 2, 28),  # B1 admits that day: not stagnant on it (an admission counts on its own day)
        D(2023, 2, 27),
        D(2023, 2, 28),
        D(2023, 3, 1),
        D(2023, 12, 30),
        D(2023, 12, 31),
        D(2024, 1, 1),
        D(2024, 2, 27),
        D(2024, 2, 28),
        D(2024, 2, 29),
        D(2024, 3, 1),
        D(2024, 3, 2),
    ]

    def stagnant(day):
        return [(o.code, o.last_admitted_on) for o in engine.stagnant_organizations(city.root, day)]

    maintained = {day: stagnant(day) for day in days}
    monkeypatch.setattr(standing, "RECENT_YEARS", -1)  # every window now reads the last admissions
    assert maintained == {day: stagnant(day) for day in days}
    monkeypatch.undo()  # (before the check after the test recounts the standing counts)
    assert ("B1", None) not in maintained[D(2021, 2, 28)] and ("B2", None) in maintained[D(2021, 2, 28)]
    assert maintained[D(2023, 2, 28)] == []
    assert maintained[D(2023, 3, 1)] == [("LP", D(2020, 2, 29))]  # 29 February 2020 counts until 28 February 2023
    # in the tree's order; a subordinate branch counts as a grassroots organisation of its own
    assert maintained[D(2024, 1, 1)] == [("LP", D(2020, 2, 29)), ("GC", D(2020, 12, 31)), ("SB", D(2020, 12, 31))]
    assert dict(maintained[D(2024, 3, 1)]) == {
        "LP": D(2020, 2, 29),
        "GC": D(2020, 12, 31),
        "SB": D(2020, 12, 31),
        "B1": D(2021, 2, 28),
        "B2": D(2021, 3, 1),
    }


def test_stagnant_organisations_on_a_restructured_tree_match_the_last_admission(city, admin_user, monkeypatch):
    """A grassroots organisation moved to another committee keeps its own subtree: the past dates
    still read the recent admissions. A subordinate branch moved to another grassroots committee
    changes both committees' subtrees: the past dates then read each organisation's last
    admission. Both agree with the last admissions read on the tree of each date."""
    committee = branch(city.d2, "GC", OrganizationKind.GRASSROOTS_COMMITTEE, established_on=D(2010, 1, 1))
    other = branch(city.d1, "GC2", OrganizationKind.GRASSROOTS_COMMITTEE, established_on=D(2010, 1, 1))
    sub = branch(committee, "SB", OrganizationKind.SUBORDINATE_BRANCH, established_on=D(2010, 1, 1))
    admit(sub, D(2022, 1, 1))
    admit(city.b1, D(2020, 6, 1))
    admit(city.b2, D(2022, 6, 1))
    days = [D(2023, 6, 1), D(2024, 6, 1), D(2024, 7, 1), D(2025, 6, 1), D(2026, 1, 1)]

    def stagnant(day):
        return [(o.code, o.last_admitted_on) for o in engine.stagnant_organizations(city.root, day)]

    def both_ways():
        maintained = {day: stagnant(day) for day in days}
        monkeypatch.setattr(standing, "RECENT_YEARS", -1)
        assert maintained == {day: stagnant(day) for day in days}
        monkeypatch.undo()
        return maintained

    branch_services.move_organization(admin_user, city.b1, city.d2, on=D(2025, 1, 1))
    assert not engine._grassroots_restructured(engine.dated_tree(D(2024, 6, 1)))
    before = both_ways()
    assert dict(before[D(2023, 6, 1)]) == {"B1": D(2020, 6, 1), "GC2": None}
    assert dict(before[D(2024, 7, 1)]) == {"B1": D(2020, 6, 1), "GC2": None}

    branch_services.move_organization(admin_user, sub, other, on=D(2024, 1, 1))
    assert engine._grassroots_restructured(engine.dated_tree(D(2023, 6, 1)))
    after = both_ways()
    assert dict(after[D(2023, 6, 1)]) == {"B1": D(2020, 6, 1), "GC2": None}  # SB's admission then kept GC alive
    assert dict(after[D(2024, 6, 1)]) == {"B1": D(2020, 6, 1), "GC": None}  # and GC2 from 2024
