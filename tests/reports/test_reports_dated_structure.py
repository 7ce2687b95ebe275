"""Reports under the structure of their date (issue 13, item 3): the tree of the end date by
default, the tree of each event's date on request, targets carried through merges and splits."""

import datetime
import io
import json
from fractions import Fraction
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from branches import services as branch_services
from branches.choices import OrganizationKind
from reports import engine, services, statistics
from reports.metrics import Metric
from reports.models import Target, TargetCarry
from reports.serializers import fulfilment_to_dict
from tests.api_conftest import *  # noqa: F403
from tests.api_conftest import API
from tests.factories import LocalityFactory, MemberFactory, OrganizationFactory, TargetFactory

D = datetime.date
REFORM = D(2025, 7, 1)
ADMITTED = Metric.MEMBERS_ADMITTED


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def committee(parent, code, **kwargs):
    return OrganizationFactory(code=code, name=f"Quận ủy {code}", parent=parent, locality=parent.locality, **kwargs)


def branch(parent, code, **kwargs):
    return OrganizationFactory(
        code=code, kind=OrganizationKind.GRASSROOTS_BRANCH, parent=parent, locality=parent.locality, **kwargs
    )


def admit(organization, on):
    return MemberFactory(organization=organization, admitted_on=on, official_on=on + datetime.timedelta(days=365))


@pytest.fixture
def city(db):
    """HN with districts D1 and D2 (established 2010), a branch in each."""
    root = OrganizationFactory(code="HN", name="Thành ủy Hà Nội", locality=LocalityFactory(code="01"))
    d1, d2 = committee(root, "D1"), committee(root, "D2")
    return SimpleNamespace(root=root, d1=d1, d2=d2, b1=branch(d1, "B1"), b2=branch(d2, "B2"))


def ward(city, administrator, code="W1", on=REFORM):
    return branch_services.establish_organization(
        administrator,
        code=code,
        name=f"Đảng ủy phường {code}",
        kind=OrganizationKind.COMMITTEE,
        locality=city.root.locality,
        established_on=on,
        parent=city.root,
    )


def rows(report, metric=ADMITTED):
    return {part.organization.code: part.row(metric).actual for part in report.children}


def targets(report, metric=ADMITTED):
    return {part.organization.code: part.row(metric).target for part in report.children}


# Actuals on the tree of the end date -----------------------------------------------------------


def test_an_event_before_a_move_counts_under_the_new_parent_when_the_end_date_is_after_it(city, admin_user):
    admit(city.b1, D(2025, 3, 1))
    branch_services.move_organization(admin_user, city.b1, city.d2, on=D(2025, 5, 1))
    report = engine.fulfilment(city.root, 2025, as_of=D(2025, 11, 30))
    assert rows(report) == {"D1": 0, "D2": 1}
    assert report.row(ADMITTED).actual == 1


def test_the_same_event_counts_under_the_old_parent_in_the_historical_structure(city, admin_user):
    admit(city.b1, D(2025, 3, 1))
    admit(city.b1, D(2025, 6, 10))
    branch_services.move_organization(admin_user, city.b1, city.d2, on=D(2025, 5, 1))
    report = engine.fulfilment(city.root, 2025, as_of=D(2025, 11, 30), structure="historical")
    assert rows(report) == {"D1": 1, "D2": 1}
    assert report.row(ADMITTED).actual == 2
    assert report.structure == "historical"


def test_only_changes_of_parent_cut_the_historical_period(city, admin_user):
    """Branches founded and dissolved during the year leave the tree of each day the same (an
    organisation stands where its first state puts it before it, its last one after)."""
    founded = branch_services.establish_organization(
        admin_user,
        code="B3",
        name="Chi bộ B3",
        kind=OrganizationKind.GRASSROOTS_BRANCH,
        locality=city.root.locality,
        established_on=D(2025, 2, 3),
        parent=city.d1,
    )
    admit(founded, D(2025, 2, 10))
    admit(city.b2, D(2025, 2, 20))
    branch_services.dissolve_organization(admin_user, city.b2, on=D(2025, 4, 1))
    year = (D(2025, 1, 1), D(2025, 12, 31))
    assert engine.restructuring_segments(*year) == [year]
    branch_services.move_organization(admin_user, founded, city.d2, on=D(2025, 5, 1))
    assert engine.restructuring_segments(*year) == [(D(2025, 1, 1), D(2025, 4, 30)), (D(2025, 5, 1), D(2025, 12, 31))]
    report = engine.fulfilment(city.root, 2025, as_of=D(2025, 11, 30), structure="historical")
    assert rows(report) == {"D1": 1, "D2": 1}
    assert next(p.ended_on for p in report.children if p.organization.code == "D2") is None


def test_an_as_of_date_before_a_move_gives_the_old_rows_and_names(city, admin_user):
    admit(city.b1, D(2024, 3, 1))
    new = ward(city, admin_user)
    branch_services.move_organization(admin_user, city.b1, new, on=REFORM)
    branch_services.rename_organization(admin_user, city.d1, name="Quận ủy mới", on=REFORM)
    branch_services.dissolve_organization(admin_user, city.d1, on=D(2025, 8, 1))

    old = engine.fulfilment(city.root, 2024)
    assert rows(old) == {"D1": 1, "D2": 0}
    assert {part.organization.code: part.organization.name for part in old.children}["D1"] == "Quận ủy D1"
    assert rows(engine.fulfilment(city.d1, 2024)) == {"B1": 1}
    assert rows(engine.fulfilment(new, 2024)) == {}

    before_reform = engine.fulfilment(city.root, 2025, as_of=D(2025, 6, 30))
    assert list(rows(before_reform)) == ["D1", "D2"]
    after_reform = engine.fulfilment(city.root, 2025, as_of=D(2025, 11, 30))
    assert list(rows(after_reform)) == ["D2", "W1"]


def test_the_2024_json_of_a_district_moved_out_lists_its_old_branches(city, admin_user):
    admit(city.b1, D(2024, 3, 1))
    new = ward(city, admin_user)
    branch_services.move_organization(admin_user, city.b1, new, on=REFORM)
    data = fulfilment_to_dict(engine.fulfilment(city.d1, 2024))
    assert [child["organization"]["code"] for child in data["children"]] == ["B1"]
    assert data["rows"][1]["actual"] == 1


def test_a_branch_moved_in_after_the_end_date_does_not_count_in_its_new_subtree(city, admin_user):
    admit(city.b2, D(2024, 3, 1))
    branch_services.move_organization(admin_user, city.b2, city.d1, on=D(2025, 2, 1))
    assert engine.fulfilment(city.d1, 2024).row(ADMITTED).actual == 0
    assert engine.fulfilment(city.d2, 2024).row(ADMITTED).actual == 1
    assert engine.fulfilment(city.d1, 2025, as_of=D(2025, 3, 1)).row(ADMITTED).actual == 0  # admitted in 2024
    admit(city.b2, D(2025, 1, 15))  # before the move: counts under D1 from the move on
    assert engine.fulfilment(city.d1, 2025, as_of=D(2025, 3, 1)).row(ADMITTED).actual == 1


def test_partial_months_are_counted_on_the_tree_of_the_end_date(city, admin_user):
    admit(city.b1, D(2025, 3, 14))
    admit(city.b1, D(2025, 3, 20))
    branch_services.move_organization(admin_user, city.b1, city.d2, on=D(2025, 4, 1))
    report = engine.fulfilment_range(city.root, D(2025, 3, 15), D(2025, 4, 10))
    assert rows(report) == {"D1": 0, "D2": 1}
    report = engine.fulfilment_range(city.root, D(2025, 3, 15), D(2025, 3, 31))
    assert rows(report) == {"D1": 1, "D2": 0}


def test_the_historical_structure_marks_the_committees_that_ended(city, admin_user):
    admit(city.b1, D(2025, 3, 1))
    admit(city.b1, D(2025, 8, 1))
    new = ward(city, admin_user)
    branch_services.merge_organizations(admin_user, [city.d1], new, on=REFORM)
    historical = engine.fulfilment(city.root, 2025, as_of=D(2025, 11, 30), structure="historical")
    assert rows(historical) == {"D1": 1, "D2": 0, "W1": 1}
    ended = {part.organization.code: part.ended_on for part in historical.children}
    assert ended == {"D1": D(2025, 6, 30), "D2": None, "W1": None}
    default = engine.fulfilment(city.root, 2025, as_of=D(2025, 11, 30))
    assert rows(default) == {"D2": 0, "W1": 2}


# Query count ------------------------------------------------------------------------------------


def restructure(city, administrator, times):
    """``times`` moves of B1 between D1 and D2 in 2025, after the 2024 report's end."""
    for n in range(times):
        branch_services.move_organization(
            administrator, city.b1, city.d2 if n % 2 == 0 else city.d1, on=D(2025, 1, 1) + datetime.timedelta(days=n)
        )


@pytest.mark.parametrize("times", [1, 5])
@pytest.mark.parametrize(("structure", "queries"), [("end", 6), ("historical", 8)])
def test_the_query_count_of_a_report_does_not_grow_with_restructurings(
    city, admin_user, django_assert_num_queries, times, structure, queries
):
    admit(city.b1, D(2024, 3, 1))
    restructure(city, admin_user, times)
    with django_assert_num_queries(queries):
        report = engine.fulfilment(city.root, 2024, structure=structure)
    assert rows(report) == {"D1": 1, "D2": 0}


# Targets carried ---------------------------------------------------------------------------------


@pytest.fixture
def planned(city):
    """2025 targets set in January on D1 (40) and D2 (30): HN's effective target is 70."""
    TargetFactory(committee=city.d1, year=2025, metric=ADMITTED, value=40)
    TargetFactory(committee=city.d2, year=2025, metric=ADMITTED, value=30)
    return city


def test_a_merge_keeps_the_effective_target_above_it_unchanged(planned, admin_user):
    city = planned
    new = ward(city, admin_user)
    before = engine.fulfilment(city.root, 2025, as_of=D(2025, 6, 30))
    branch_services.merge_organizations(admin_user, [city.d1, city.d2], new, on=REFORM)

    after = engine.fulfilment(city.root, 2025, as_of=D(2025, 11, 30))
    assert after.row(ADMITTED).target == before.row(ADMITTED).target == 70
    assert targets(after) == {"W1": 70}
    assert Target.objects.get(committee=new, year=2025, metric=ADMITTED).value == 70
    assert TargetCarry.objects.filter(successor=new).count() == 2
    # read as of a date before the merge, nothing changed
    again = engine.fulfilment(city.root, 2025, as_of=D(2025, 6, 30))
    assert targets(again) == targets(before) == {"D1": 40, "D2": 30}
    assert again.row(ADMITTED).target == 70


def test_a_merge_into_an_existing_committee_adds_to_its_own_target(planned, admin_user):
    city = planned
    branch_services.merge_organizations(admin_user, [city.d1], city.d2, on=REFORM)
    assert engine.fulfilment(city.root, 2025, as_of=D(2025, 11, 30)).row(ADMITTED).target == 70
    assert targets(engine.fulfilment(city.root, 2025, as_of=D(2025, 11, 30))) == {"D2": 70}
    assert targets(engine.fulfilment(city.root, 2025, as_of=D(2025, 6, 30))) == {"D1": 40, "D2": 30}


def test_a_merge_without_targets_of_its_own_leaves_them_below(city, admin_user):
    TargetFactory(committee=city.root, year=2025, metric=Metric.PARTY_ORGS_ESTABLISHED, value=5)
    new = ward(city, admin_user)
    branch_services.merge_organizations(admin_user, [city.d1], new, on=REFORM)
    assert not Target.objects.filter(committee=new).exists()


def test_a_split_whose_shares_do_not_add_up_is_refused(planned, admin_user):
    city = planned
    first, second = ward(city, admin_user, "W1"), ward(city, admin_user, "W2")
    for shares in (
        {first: "0.5", second: "0.4"},
        {first: "0.7", second: "0.7"},
        {first: "-0.5", second: "1.5"},
        {first: Fraction(1, 3), second: "0.6666666666666666666666666667"},  # not exactly two thirds
        {first: "half", second: "0.5"},
        {},
    ):
        with pytest.raises(ValidationError) as refused:
            services.carry_targets(admin_user, city.d1, shares, on=REFORM)
        assert "shares" in refused.value.message_dict
    assert not TargetCarry.objects.exists()
    assert not Target.objects.filter(committee__in=[first, second]).exists()


def test_a_split_in_shares_keeps_the_effective_target_above(planned, admin_user):
    city = planned
    first, second = ward(city, admin_user, "W1"), ward(city, admin_user, "W2")
    carried = services.carry_targets(admin_user, city.d1, {first: "0.25", second: "0.75"}, on=REFORM)
    assert sorted(carry.value for carry in carried) == [10, 30]
    branch_services.move_organization(admin_user, city.b1, first, on=REFORM)
    branch_services.dissolve_organization(admin_user, city.d1, on=REFORM)
    after = engine.fulfilment(city.root, 2025, as_of=D(2025, 11, 30))
    assert after.row(ADMITTED).target == 70
    assert targets(after) == {"D2": 30, "W1": 10, "W2": 30}


def test_split_parts_are_whole_and_add_up_to_the_original(planned, admin_user):
    city = planned
    wards = [ward(city, admin_user, f"W{n}") for n in range(3)]
    carried = services.carry_targets(admin_user, city.d1, dict.fromkeys(wards, Fraction(1, 3)), on=REFORM)
    assert sorted(carry.value for carry in carried) == [13, 13, 14]


# Movement -----------------------------------------------------------------------------------------


def test_merged_branches_members_are_not_counted_as_transfers(city, admin_user):
    other = branch(city.d1, "B3")
    MemberFactory(organization=city.b1, admitted_on=D(2020, 1, 1))
    branch_services.merge_organizations(admin_user, [city.b1], other, on=REFORM)
    report = statistics.member_movement(city.root, D(2025, 1, 1), D(2025, 12, 31))
    assert (report.total.transferred_in, report.total.transferred_out) == (0, 0)
    district = next(row for row in report.children if row.organization.code == "D1")
    assert (district.transferred_in, district.transferred_out, district.at_start, district.at_end) == (0, 0, 1, 1)


# The switch: command line, API, dashboard ---------------------------------------------------------


@pytest.fixture
def merged_branch(tree, administrator):
    """BR-A (one admission in March 2025) merged into BR-B on 1 July 2025."""
    admit(tree.branch_a, D(2025, 3, 1))
    branch_services.merge_organizations(administrator, [tree.branch_a], tree.branch_b, on=REFORM)
    return tree


def test_the_command_prints_either_structure(merged_branch):
    def run(*extra):
        out = io.StringIO()
        args = ("fulfilment", "--org", "DIST", "--year", "2025", "--as-of", "2025-11-30", "--language", "en")
        call_command("report", *args, *extra, stdout=out)
        return out.getvalue()

    default = json.loads(run("--format", "json"))
    assert (default["structure"], [c["organization"]["code"] for c in default["children"]]) == ("end", ["BR-B"])
    historical = json.loads(run("--format", "json", "--structure", "historical"))
    children = {c["organization"]["code"]: c["ended_on"] for c in historical["children"]}
    assert children == {"BR-A": "2025-06-30", "BR-B": None}
    assert "ended 30/06/2025" in run("--structure", "historical")


def test_the_api_takes_the_structure_parameter(api, merged_branch):
    url = f"{API}reports/fulfilment/"
    params = {"organization": "DIST", "year": 2025, "as_of": "2025-11-30"}
    default = api.department.get(url, params).json()
    assert [child["organization"]["code"] for child in default["children"]] == ["BR-B"]
    historical = api.department.get(url, {**params, "structure": "historical"}).json()
    assert [(c["organization"]["code"], c["ended_on"]) for c in historical["children"]] == [
        ("BR-A", "2025-06-30"),
        ("BR-B", None),
    ]
    assert api.department.get(url, {**params, "structure": "sideways"}).status_code == 400


def test_the_dashboard_switches_to_the_historical_structure(client, department, merged_branch):
    client.force_login(department)
    client.cookies["django_language"] = "en"
    params = {"organization": "DIST", "year": 2025, "as_of": "30/11/2025"}
    html = client.get(reverse("reports:dashboard"), params).content.decode()
    assert "Chi bộ Công ty An Phát" not in html.split('id="fulfilment-table"')[1].split("</table>")[0]
    response = client.get(reverse("reports:dashboard"), {**params, "structure": "historical"})
    table = response.content.decode().split('id="fulfilment-table"')[1].split("</table>")[0]
    assert "Chi bộ Công ty An Phát" in table and "ended 30/06/2025" in table
    assert response.context["report"].structure == "historical"
