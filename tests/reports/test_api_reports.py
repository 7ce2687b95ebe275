"""Targets and the report endpoints: the same JSON as ``manage.py report``, in scope, in the request's language."""

import datetime

import pytest
from django.utils import translation

from branches import services
from branches.choices import RoleKey
from reports import engine
from reports.metrics import Metric
from reports.models import Target
from reports.serializers import fulfilment_to_dict, gaps_to_dict, structure_to_dict
from tests.api_conftest import *  # noqa: F403
from tests.api_conftest import API
from tests.factories import MemberFactory, OrganizationFactory, RoleAssignmentFactory, TargetFactory, UserFactory

FULFILMENT = f"{API}reports/fulfilment/"


@pytest.fixture
def sub(tree):
    """A committee directly below the department's committee (whose targets the department sets)."""
    return OrganizationFactory(code="SUB", name="Đảng ủy cụm", locality=tree.province, parent=tree.committee)


def rows(report):
    return {row["metric"]: row for row in report["rows"]}


def child_rows(report, code):
    part = next(part for part in report["children"] if part["organization"]["code"] == code)
    return {row["metric"]: row for row in part["rows"]}


# Targets ----------------------------------------------------------------------------------


def test_department_sets_the_targets_of_the_committees_below(api, tree, sub):
    payload = {"committee": "SUB", "year": 2024, "metric": Metric.MEMBERS_ADMITTED, "value": 25}
    created = api.department.post(f"{API}targets/", payload, format="json")
    assert created.status_code == 201, created.content
    changed = api.department.post(f"{API}targets/", {**payload, "value": 30}, format="json")
    assert changed.status_code == 200 and changed.json()["id"] == created.json()["id"]
    assert Target.objects.get(committee=sub, year=2024, metric=Metric.MEMBERS_ADMITTED).value == 30
    own = api.department.post(f"{API}targets/", {**payload, "committee": "DIST"}, format="json")
    assert own.status_code == 403
    assert api.secretary_a.post(f"{API}targets/", payload, format="json").status_code == 403


def test_target_values_are_validated(api, tree, sub):
    payload = {"committee": "SUB", "year": 2024, "metric": Metric.MEMBERS_ADMITTED}
    for value in (-1, 10**12, "many", None, 2.5):
        response = api.department.post(f"{API}targets/", {**payload, "value": value}, format="json")
        assert response.status_code == 400 and "value" in response.json()
    wrong_year = api.department.post(f"{API}targets/", {**payload, "value": 1, "year": 99999}, format="json")
    assert wrong_year.status_code == 400 and "year" in wrong_year.json()
    wrong_metric = api.department.post(f"{API}targets/", {**payload, "value": 1, "metric": "votes"}, format="json")
    assert wrong_metric.status_code == 400 and "metric" in wrong_metric.json()
    assert not Target.objects.exists()


def test_bulk_sets_a_years_targets_all_or_nothing(api, tree, sub):
    second = OrganizationFactory(code="SUB-2", locality=tree.province, parent=tree.committee)
    TargetFactory(committee=second, year=2024, metric=Metric.MEMBERS_ADMITTED, value=5)
    response = api.department.post(
        f"{API}targets/bulk/",
        {
            "year": 2024,
            "targets": [
                {"committee": "SUB", "metric": Metric.MEMBERS_ADMITTED, "value": 20},
                {"committee": "SUB", "metric": Metric.TRADE_UNIONS_ESTABLISHED, "value": 4},
                {"committee": "SUB-2", "metric": Metric.MEMBERS_ADMITTED, "value": None},
            ],
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert sorted((t["committee"], t["metric"], t["value"]) for t in response.json()) == [
        ("SUB", Metric.MEMBERS_ADMITTED, 20),
        ("SUB", Metric.TRADE_UNIONS_ESTABLISHED, 4),
    ]
    assert not Target.objects.filter(committee=second).exists()
    refused = api.department.post(
        f"{API}targets/bulk/",
        {
            "year": 2024,
            "targets": [
                {"committee": "SUB", "metric": Metric.MEMBERS_ADMITTED, "value": 99},
                {"committee": "DIST", "metric": Metric.MEMBERS_ADMITTED, "value": 1},
            ],
        },
        format="json",
    )
    assert refused.status_code == 403
    assert Target.objects.get(committee=sub, metric=Metric.MEMBERS_ADMITTED).value == 20


def test_bulk_reports_unknown_and_repeated_committees_per_item(api, tree, sub):
    response = api.department.post(
        f"{API}targets/bulk/",
        {
            "year": 2024,
            "targets": [
                {"committee": "SUB", "metric": Metric.MEMBERS_ADMITTED, "value": 1},
                {"committee": "SUB", "metric": Metric.MEMBERS_ADMITTED, "value": 2},
                {"committee": "BR-Z", "metric": Metric.MEMBERS_ADMITTED, "value": 3},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    assert [sorted(item) for item in response.json()["targets"]] == [[], ["metric"], ["committee"]]
    assert not Target.objects.exists()


def test_removing_a_target(api, tree, sub):
    target = TargetFactory(committee=sub, year=2024, metric=Metric.MEMBERS_ADMITTED, value=5)
    assert api.secretary_a.delete(f"{API}targets/{target.pk}/").status_code == 404
    assert api.department.delete(f"{API}targets/{target.pk}/").status_code == 204
    assert not Target.objects.exists()


# Report endpoints -------------------------------------------------------------------------


def test_fulfilment_is_exactly_the_report_commands_json(api, tree, sub):
    TargetFactory(committee=tree.committee, year=2024, metric=Metric.MEMBERS_ADMITTED, value=3)
    MemberFactory(organization=tree.branch_a, admitted_on=datetime.date(2024, 3, 1))
    MemberFactory(organization=tree.branch_b, admitted_on=datetime.date(2024, 4, 1))
    response = api.department.get(FULFILMENT, {"organization": "DIST", "year": 2024, "as_of": "2024-09-30"})
    assert response.status_code == 200
    with translation.override("en"):
        expected = fulfilment_to_dict(engine.fulfilment(tree.committee, 2024, as_of=datetime.date(2024, 9, 30)))
    assert response.json() == expected
    assert rows(expected)[Metric.MEMBERS_ADMITTED]["display"] == "2/3 (66.7%)"


def test_report_display_follows_accept_language(api_as, department, tree):
    TargetFactory(committee=tree.committee, year=2024, metric=Metric.MEMBERS_ADMITTED, value=3)
    MemberFactory(organization=tree.branch_a, admitted_on=datetime.date(2024, 3, 1))
    MemberFactory(organization=tree.branch_a, admitted_on=datetime.date(2024, 4, 1))
    query = {"organization": "DIST", "year": 2024}
    english = api_as(department, "en").get(FULFILMENT, query).json()
    vietnamese = api_as(department, "vi").get(FULFILMENT, query).json()
    assert rows(english)[Metric.MEMBERS_ADMITTED]["display"] == "2/3 (66.7%)"
    assert rows(vietnamese)[Metric.MEMBERS_ADMITTED]["display"] == "2/3 (66,7%)"


def test_fulfilment_of_a_range_has_no_targets(api, tree):
    TargetFactory(committee=tree.committee, year=2024, metric=Metric.MEMBERS_ADMITTED, value=3)
    MemberFactory(organization=tree.branch_a, admitted_on=datetime.date(2023, 3, 1))
    MemberFactory(organization=tree.branch_a, admitted_on=datetime.date(2024, 3, 1))
    report = api.department.get(FULFILMENT, {"organization": "DIST", "start": "2023-01-01", "end": "2024-12-31"}).json()
    assert report["start"] == "2023-01-01" and report["end"] == "2024-12-31"
    assert rows(report)[Metric.MEMBERS_ADMITTED]["actual"] == 2
    assert rows(report)[Metric.MEMBERS_ADMITTED]["target"] is None


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"organization": "DIST"},
        {"organization": "DIST", "year": "twenty"},
        {"organization": "DIST", "year": 1800},
        {"organization": "DIST", "year": 2024, "as_of": "2023-05-01"},
        {"organization": "DIST", "year": 2024, "start": "2024-01-01", "end": "2024-02-01"},
        {"organization": "DIST", "start": "2024-05-01"},
        {"organization": "DIST", "start": "2024-05-01", "end": "2024-01-01"},
        {"organization": "DIST", "start": "0001-01-01", "end": "9999-12-31"},
        {"organization": "DIST", "year": 2024, "as_of": "2024-13-01"},
    ],
)
def test_bad_report_queries_are_400(api, tree, query):
    response = api.department.get(FULFILMENT, query)
    assert response.status_code == 400


def test_reports_outside_the_scope_are_404(api, tree):
    for url, query in (
        (FULFILMENT, {"organization": "BR-B", "year": 2024}),
        (f"{API}reports/structure/", {"organization": "BR-B"}),
        (f"{API}reports/gaps/", {"organization": "BR-B"}),
        (FULFILMENT, {"organization": "NO-SUCH", "year": 2024}),
    ):
        assert api.secretary_a.get(url, query).status_code == 404
    assert api.secretary_a.get(FULFILMENT, {"organization": "BR-A", "year": 2024}).status_code == 200


def test_structure_and_gaps_are_the_report_commands_json(api, tree):
    for index in range(3):
        MemberFactory(
            organization=tree.branch_a,
            enterprise=tree.enterprise_b,
            admitted_on=datetime.date(2018, 1, 1),
            official_on=datetime.date(2019, 1, 1),
            full_name=f"Nguyễn Văn {index}",
        )
    structure = api.department.get(f"{API}reports/structure/", {"organization": "DIST", "date": "2024-12-31"})
    gaps = api.department.get(f"{API}reports/gaps/", {"organization": "DIST", "date": "2024-12-31"})
    with translation.override("en"):
        assert structure.json() == structure_to_dict(engine.structure(tree.committee, datetime.date(2024, 12, 31)))
        assert gaps.json() == gaps_to_dict(engine.gaps(tree.committee, datetime.date(2024, 12, 31)))
    bad = api.department.get(f"{API}reports/gaps/", {"organization": "DIST", "stagnant_years": 0})
    assert bad.status_code == 400 and "stagnant_years" in bad.json()


# Lifecycle through the API changes the reports exactly as the services do -----------------


def test_admission_and_transfer_through_the_api_change_the_reports_like_the_services(api_as, api, tree):
    """Admit and transfer through the API on branch A; do the same through the services on branch B.

    Both sides must move the report by the same amounts: an admission counts for the admitting
    organisation, and stays there after the member transfers away.
    """
    secretary = UserFactory(username="committee_secretary")
    RoleAssignmentFactory(user=secretary, role=RoleKey.SECRETARY, organization=tree.committee)
    client = api_as(secretary)
    query = {"organization": "DIST", "year": 2024, "as_of": "2024-09-30"}
    structure_query = {"organization": "DIST", "date": "2024-09-30"}
    before = client.get(FULFILMENT, query).json()
    structure_before = client.get(f"{API}reports/structure/", structure_query).json()

    admitted = client.post(
        f"{API}members/",
        {
            "organization": "BR-A",
            "admitted_on": "2024-03-01",
            "full_name": "Lê Văn Qua API",
            "sex": "male",
            "date_of_birth": "1990-01-01",
            "citizen_id": "001090000001",
            "is_business_owner": True,
            "position": "owner",
        },
        format="json",
    )
    assert admitted.status_code == 201
    moved = client.post(
        f"{API}members/{admitted.json()['id']}/transfer/",
        {"on": "2024-06-01", "to_organization": "BR-B", "presented_on": "2024-06-01"},
        format="json",
    )
    assert moved.status_code == 200

    member = services.admit_member(
        secretary,
        organization=tree.branch_b,
        admitted_on=datetime.date(2024, 3, 1),
        full_name="Lê Văn Qua Dịch Vụ",
        sex="male",
        date_of_birth=datetime.date(1990, 1, 1),
        citizen_id="001090000002",
        is_business_owner=True,
        position="owner",
    )
    services.transfer_member(
        secretary,
        member,
        on=datetime.date(2024, 6, 1),
        to_organization=tree.branch_a,
        presented_on=datetime.date(2024, 6, 1),
    )

    after = client.get(FULFILMENT, query).json()
    structure_after = client.get(f"{API}reports/structure/", structure_query).json()
    for metric in (Metric.MEMBERS_ADMITTED, Metric.OWNERS_ADMITTED):
        assert rows(after)[metric]["actual"] == rows(before)[metric]["actual"] + 2
        for code in ("BR-A", "BR-B"):
            assert child_rows(after, code)[metric]["actual"] == child_rows(before, code)[metric]["actual"] + 1

    def members_of(report, code):
        part = next(part for part in report["children"] if part["organization"]["code"] == code)
        return next(row["value"] for row in part["rows"] if row["metric"] == "members")

    for code in ("BR-A", "BR-B"):  # one member moved in each direction: each branch gained one
        assert members_of(structure_after, code) == members_of(structure_before, code) + 1
    with translation.override("en"):
        assert after == fulfilment_to_dict(engine.fulfilment(tree.committee, 2024, as_of=datetime.date(2024, 9, 30)))
