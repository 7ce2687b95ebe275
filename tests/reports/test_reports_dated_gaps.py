"""The gaps at a date (rule 7) follow the tree and the managing committees of that date (issue 13,
item 3): an enterprise counts for the committee that managed it then, an organisation through its
ancestors then, and each gap list holds what its figure counts."""

import datetime
import itertools
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from branches import services as branch_services
from branches.choices import OrganizationKind
from enterprises import services as enterprise_services
from reports import engine
from tests.factories import (
    EnterpriseFactory,
    LocalityFactory,
    MassOrganizationFactory,
    MemberFactory,
    OrganizationFactory,
)

D = datetime.date
REFORM = D(2025, 7, 1)
BEFORE = D(2024, 12, 31)
AFTER = D(2025, 11, 30)
GAP_KEYS = (
    "eligible_enterprises",
    "enterprises_with_one_or_two_members",
    "stagnant_organizations",
    "trade_union_share",
)
LISTS = {
    "eligible_enterprises": "eligible-enterprises",
    "enterprises_with_one_or_two_members": "small-enterprises",
    "stagnant_organizations": "stagnant-organizations",
}


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def organization(parent, code, kind=OrganizationKind.COMMITTEE, **kwargs):
    return OrganizationFactory(
        code=code, name=f"Tổ chức {code}", kind=kind, parent=parent, locality=parent.locality, **kwargs
    )


def workers(enterprise, branch, count):
    """``count`` members of ``branch`` working in ``enterprise``, admitted in 2023, official in 2024."""
    for _n in range(count):
        MemberFactory(organization=branch, enterprise=enterprise, admitted_on=D(2023, 1, 1), official_on=D(2024, 1, 1))


@pytest.fixture
def city(db, administrator):
    """HN with districts D1 and D2 (2010) and ward W1 (founded on the day of the reform). In D1: the
    branch B1 (no admission: stagnant), an enterprise E without a Party organisation, with 3
    official members and a trade union, and an enterprise S with 1 member. In D2: the branch B2
    (admitted E's and S's members in 2023: not stagnant)."""
    root = OrganizationFactory(code="HN", name="Thành ủy Hà Nội", locality=LocalityFactory(code="01"))
    d1, d2 = organization(root, "D1"), organization(root, "D2")
    b1 = organization(d1, "B1", OrganizationKind.GRASSROOTS_BRANCH)
    b2 = organization(d2, "B2", OrganizationKind.GRASSROOTS_BRANCH)
    eligible = EnterpriseFactory(managing_committee=d1, locality=root.locality, name="Công ty E")
    workers(eligible, b2, 3)
    MassOrganizationFactory(enterprise=eligible, established_on=D(2020, 1, 1))
    small = EnterpriseFactory(managing_committee=d1, locality=root.locality, name="Công ty S")
    workers(small, b2, 1)
    w1 = branch_services.establish_organization(
        administrator,
        code="W1",
        name="Đảng ủy phường W1",
        kind=OrganizationKind.COMMITTEE,
        locality=root.locality,
        established_on=REFORM,
        parent=root,
    )
    return SimpleNamespace(root=root, d1=d1, d2=d2, w1=w1, b1=b1, b2=b2, eligible=eligible, small=small)


def reform(city, administrator):
    """On 1 July 2025 D1's branch and enterprises pass to W1 and D1 ends."""
    branch_services.move_organization(administrator, city.b1, city.w1, on=REFORM)
    enterprise_services.change_managing_committees(
        administrator, [(city.eligible, city.w1), (city.small, city.w1)], on=REFORM, decision_number="01-QĐ/TU"
    )
    branch_services.dissolve_organization(administrator, city.d1, on=REFORM)


def figures(report, key):
    return {part.organization.code: part.row(key).value for part in report.children if part.row(key).value}


def totals(report):
    return {key: report.row(key).value for key in GAP_KEYS} | {"operating": report.row("trade_union_share").total}


def listed(organization, date, kind):
    return sorted(
        row.code if kind == "stagnant-organizations" else row.name for row in engine.gap_list(organization, date, kind)
    )


def nonzero(groups):
    return {key: {k: v for k, v in values.items() if v} for key, values in groups.items() if any(values.values())}


def test_the_gaps_of_a_date_count_for_the_committees_and_the_tree_of_that_date(city, administrator):
    before = engine.gaps(city.root, BEFORE)
    reform(city, administrator)
    old = engine.gaps(city.root, BEFORE)
    for key in GAP_KEYS:
        assert figures(old, key) == figures(before, key), key
    assert figures(old, "eligible_enterprises") == {"D1": 1}
    assert figures(old, "enterprises_with_one_or_two_members") == {"D1": 1}
    assert figures(old, "trade_union_share") == {"D1": 1}
    assert figures(old, "stagnant_organizations") == {"D1": 1}
    assert [part.organization.code for part in old.children] == ["D1", "D2"]
    assert {part.organization.code: part.row("trade_union_share").total for part in old.children} == {"D1": 2, "D2": 0}
    assert totals(old) == totals(before)

    new = engine.gaps(city.root, AFTER)
    assert figures(new, "eligible_enterprises") == {"W1": 1}
    assert figures(new, "enterprises_with_one_or_two_members") == {"W1": 1}
    assert figures(new, "trade_union_share") == {"W1": 1}
    assert figures(new, "stagnant_organizations") == {"W1": 1}
    assert "D1" not in [part.organization.code for part in new.children]
    assert totals(new) == totals(old)


def test_a_committee_s_own_gaps_of_a_date_hold_what_it_managed_then(city, administrator):
    reform(city, administrator)
    district, ward = engine.gaps(city.d1, BEFORE), engine.gaps(city.w1, BEFORE)
    assert totals(district) == {
        "eligible_enterprises": 1,
        "enterprises_with_one_or_two_members": 1,
        "stagnant_organizations": 1,
        "trade_union_share": 1,
        "operating": 2,
    }
    assert [row.name for row in district.eligible_enterprises] == ["Công ty E"]
    assert [row.code for row in district.stagnant_organizations] == ["B1"]
    assert [part.organization.code for part in district.children] == ["B1"]
    assert set(totals(ward).values()) == {0}
    assert not ward.eligible_enterprises and not ward.small_enterprises and not ward.stagnant_organizations

    assert totals(engine.gaps(city.w1, AFTER))["eligible_enterprises"] == 1
    assert set(totals(engine.gaps(city.d1, AFTER)).values()) == {0}


def test_each_gap_list_holds_what_its_figure_counts(city, administrator):
    reform(city, administrator)
    for date, code in itertools.product((BEFORE, AFTER), ("root", "d1", "d2", "w1")):
        holders = {"root", "d1"} if date == BEFORE else {"root", "w1"}
        report = engine.gaps(getattr(city, code), date)
        for key, kind in LISTS.items():
            assert len(listed(getattr(city, code), date, kind)) == report.row(key).value, (date, code, kind)
        expected = {
            "eligible-enterprises": ["Công ty E"],
            "small-enterprises": ["Công ty S"],
            "stagnant-organizations": ["B1"],
        }
        for kind, rows in expected.items():
            assert listed(getattr(city, code), date, kind) == (rows if code in holders else []), (date, code, kind)


def test_the_gap_lists_name_the_committee_of_their_date(client, city, administrator):
    reform(city, administrator)
    for date, committee in ((BEFORE, "Tổ chức D1"), (AFTER, "Đảng ủy phường W1")):
        rows = engine.gap_list(city.root, date, "eligible-enterprises")
        assert [(row.name, row.committee_name) for row in rows] == [("Công ty E", committee)]
    administrator.is_staff = True
    client.force_login(administrator)
    query = {"organization": "HN", "year": 2024}
    page = client.get(reverse("reports:gap_list", args=["eligible-enterprises"]), query)
    assert "<td>Tổ chức D1</td>" in page.content.decode()
    exported = client.get(reverse("reports:gap_list", args=["eligible-enterprises"]), {**query, "format": "csv"})
    assert "Tổ chức D1" in exported.content.decode("utf-8-sig")


def test_the_gaps_read_from_the_standing_counts_equal_the_raw_count_on_the_tree_of_the_date(city, administrator):
    reform(city, administrator)
    for date, committee in ((BEFORE, city.d1), (AFTER, city.w1)):
        for organization in (city.root, city.d1, city.d2, city.w1):
            counted = nonzero(engine.count_gap_enterprises(organization, date))
            assert counted == nonzero(engine.raw_count_gap_enterprises(organization, date)), (date, organization.code)
        assert nonzero(engine.count_gap_enterprises(city.root, date)) == {
            committee.path: {
                "eligible_enterprises": 1,
                "enterprises_with_one_or_two_members": 1,
                "trade_union_share": 1,
                "operating": 2,
            }
        }


def test_a_stagnant_organisation_counts_the_admissions_below_it_on_the_date(city, administrator):
    """A subordinate branch that admitted a member in 2024 moves to another grassroots committee in
    2025: at the end of 2024 its admission keeps its committee of then from being stagnant."""
    first = organization(city.d2, "G1", OrganizationKind.GRASSROOTS_COMMITTEE)
    second = organization(city.d2, "G2", OrganizationKind.GRASSROOTS_COMMITTEE)
    sub = organization(first, "SB", OrganizationKind.SUBORDINATE_BRANCH)
    MemberFactory(organization=sub, admitted_on=D(2024, 3, 1))
    branch_services.move_organization(administrator, sub, second, on=REFORM)

    def stagnant(date):
        return [row.code for row in engine.stagnant_organizations(city.d2, date) if row.code.startswith("G")]

    assert stagnant(BEFORE) == ["G2"]
    assert stagnant(AFTER) == ["G1"]
    assert figures(engine.gaps(city.root, BEFORE), "stagnant_organizations") == {"D1": 1, "D2": 1}


def test_the_gaps_before_a_merge_count_the_merged_committee_s_branches_for_it(city, administrator):
    before = engine.gaps(city.root, BEFORE)
    branch_services.merge_organizations(administrator, [city.d1], city.w1, on=REFORM)
    old = engine.gaps(city.root, BEFORE)
    assert figures(old, "stagnant_organizations") == figures(before, "stagnant_organizations") == {"D1": 1}
    assert [part.organization.code for part in old.children] == ["D1", "D2"]
    assert totals(old) == totals(before)
    assert [row.code for row in engine.gap_list(city.d1, BEFORE, "stagnant-organizations")] == ["B1"]
    for organization in (city.root, city.d1, city.w1):
        assert nonzero(engine.count_gap_enterprises(organization, BEFORE)) == nonzero(
            engine.raw_count_gap_enterprises(organization, BEFORE)
        )


def test_the_gaps_of_a_date_show_the_names_of_that_date(city, administrator):
    reform(city, administrator)
    branch_services.rename_organization(administrator, city.b1, name="Chi bộ mới", on=D(2025, 7, 2))
    branch_services.rename_organization(administrator, city.d2, name="Quận ủy mới", on=D(2025, 7, 2))
    old = engine.gaps(city.root, BEFORE)
    assert [row.name for row in old.stagnant_organizations] == ["Tổ chức B1"]
    assert [row.name for row in engine.gap_list(city.d1, BEFORE, "stagnant-organizations")] == ["Tổ chức B1"]
    assert [part.organization.name for part in old.children] == ["Tổ chức D1", "Tổ chức D2"]
    new = engine.gaps(city.root, AFTER)
    assert [row.name for row in new.stagnant_organizations] == ["Chi bộ mới"]


# Query count ------------------------------------------------------------------------------------


def restructure(city, administrator, times):
    """``times`` moves of B1 and of every enterprise of D1 between D1 and D2 in 2025."""
    enterprises = [city.eligible, city.small]
    for n in range(times):
        to = city.d2 if n % 2 == 0 else city.d1
        on = D(2025, 1, 1) + datetime.timedelta(days=n)
        branch_services.move_organization(administrator, city.b1, to, on=on)
        enterprise_services.change_managing_committees(
            administrator, [(enterprise, to) for enterprise in enterprises], on=on
        )
        for enterprise in enterprises:
            enterprise.refresh_from_db()


def queries_of_gaps(city):
    engine.gaps(city.root, BEFORE)  # warms the standing counts' cached choice of plan
    with CaptureQueriesContext(connection) as context:
        report = engine.gaps(city.root, BEFORE)
        list(report.eligible_enterprises), list(report.small_enterprises)
    return len(context.captured_queries), report


@pytest.mark.parametrize("times", [1, 5])
@pytest.mark.parametrize("more", [0, 4])
def test_the_query_count_of_the_gaps_does_not_grow_with_restructurings(city, administrator, times, more):
    for _n in range(more):
        workers(EnterpriseFactory(managing_committee=city.d1, locality=city.root.locality), city.b2, 3)
    plain, unchanged = queries_of_gaps(city)
    restructure(city, administrator, times)
    queries, report = queries_of_gaps(city)
    # whether a grassroots organisation's subtree was restructured (1, kept with the dated tree),
    # the totals of the restructured organisations (2), the committees' changes with their paths
    # (1, and 1 more for each of the two enterprise lists, which ask whether an enterprise passed
    # across the subtree's edge: read anew by a transaction that wrote, as this test's does, since
    # what it reads may roll back; otherwise kept per structure version) and the figures of the
    # enterprises moved (1), the committees in the subtree on the date (one for each list)
    assert queries == plain + 9
    assert figures(report, "eligible_enterprises") == figures(unchanged, "eligible_enterprises") == {"D1": 1 + more}
    assert figures(report, "stagnant_organizations") == {"D1": 1}
    assert totals(report) == totals(unchanged)


def test_the_enterprise_lists_of_a_date_follow_the_committee_of_that_date_across_a_subtrees_edge(city, administrator):
    reform(city, administrator)  # E and S pass from D1 to W1: across D1's edge, inside HN's
    tops = {"HN": city.root, "D1": city.d1, "W1": city.w1}
    eligible = {
        code: [e.name for e in engine.gap_list(top, BEFORE, "eligible-enterprises")] for code, top in tops.items()
    }
    assert eligible == {"HN": ["Công ty E"], "D1": ["Công ty E"], "W1": []}
    small = [e.name for e in engine.gap_list(city.root, BEFORE, "small-enterprises")]
    assert small == ["Công ty S"]
    assert [e.name for e in engine.gap_list(city.w1, AFTER, "eligible-enterprises")] == ["Công ty E"]
