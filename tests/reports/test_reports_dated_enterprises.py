"""Enterprises that pass to another managing committee on a date (the reform of 1 July 2025):
their mass organisations count for the committee of the report's date, and the structure at a
date follows the tree and the committees of that date (issue 13, item 3)."""

import datetime
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import translation

from branches import services as branch_services
from branches.choices import OrganizationKind, RoleKey
from enterprises import services as enterprise_services
from enterprises.models import ManagingCommitteePeriod
from reports import engine
from reports.metrics import Metric
from tests.api_conftest import *  # noqa: F403
from tests.factories import (
    EnterpriseFactory,
    LocalityFactory,
    MassOrganizationFactory,
    MemberFactory,
    MembershipReturnFactory,
    OrganizationFactory,
    RoleAssignmentFactory,
    UserFactory,
)

D = datetime.date
REFORM = D(2025, 7, 1)
UNIONS = Metric.TRADE_UNIONS_ESTABLISHED
UNION_MEMBERS = Metric.TRADE_UNION_MEMBERS_ADMITTED


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def city(db, administrator):
    """HN with districts D1 and D2, a branch in D1, an enterprise managed by D1 with a trade union
    founded in 2024 (20 members) and a return in March 2025 (5 admitted), and a ward W1 founded
    on the day of the reform."""
    locality = LocalityFactory(code="01")
    root = OrganizationFactory(code="HN", locality=locality)
    d1 = OrganizationFactory(code="D1", parent=root, locality=locality)
    d2 = OrganizationFactory(code="D2", parent=root, locality=locality)
    b1 = OrganizationFactory(code="B1", kind=OrganizationKind.GRASSROOTS_BRANCH, parent=d1, locality=locality)
    enterprise = EnterpriseFactory(managing_committee=d1, locality=locality)
    union = MassOrganizationFactory(enterprise=enterprise, established_on=D(2024, 4, 1))
    MembershipReturnFactory(mass_organization=union, date=D(2024, 4, 1), members_total=20, members_admitted=20)
    MembershipReturnFactory(
        mass_organization=union, date=D(2025, 3, 1), members_total=25, members_admitted=5, is_founding=False
    )
    MemberFactory(organization=b1, admitted_on=D(2024, 5, 1), official_on=D(2025, 5, 1))
    w1 = branch_services.establish_organization(
        administrator,
        code="W1",
        name="Đảng ủy phường W1",
        kind=OrganizationKind.COMMITTEE,
        locality=locality,
        established_on=REFORM,
        parent=root,
    )
    return SimpleNamespace(root=root, d1=d1, d2=d2, b1=b1, w1=w1, enterprise=enterprise, union=union)


def reform(city, administrator):
    """D1's branch and enterprise pass to W1 on 1 July 2025 and D1 ends."""
    branch_services.move_organization(administrator, city.b1, city.w1, on=REFORM)
    enterprise_services.change_managing_committee(
        administrator, city.enterprise, city.w1, on=REFORM, decision_number="01-QĐ/TU", decision_date=D(2025, 6, 20)
    )
    branch_services.dissolve_organization(administrator, city.d1, on=REFORM)


def actuals(report, metric):
    return {part.organization.code: part.row(metric).actual for part in report.children if part.row(metric).actual}


def figures(report, key):
    return {part.organization.code: part.row(key).value for part in report.children if part.row(key).value}


def test_a_report_of_a_date_before_the_change_counts_the_enterprise_for_its_committee_then(city, administrator):
    before = engine.fulfilment(city.root, 2024)
    reform(city, administrator)
    after = engine.fulfilment(city.root, 2024)
    assert actuals(after, UNIONS) == actuals(before, UNIONS) == {"D1": 1}
    assert actuals(after, UNION_MEMBERS) == {"D1": 20}
    assert actuals(after, Metric.MEMBERS_ADMITTED) == {"D1": 1}
    assert [part.organization.code for part in after.children] == [part.organization.code for part in before.children]
    assert after.row(UNION_MEMBERS).actual == 20
    # the district's own report of 2024 still holds its enterprise
    assert engine.fulfilment(city.d1, 2024).row(UNIONS).actual == 1
    assert engine.fulfilment(city.w1, 2024).row(UNIONS).actual == 0


def test_a_report_ending_after_the_change_counts_the_whole_year_for_the_new_committee(city, administrator):
    reform(city, administrator)
    report = engine.fulfilment(city.root, 2025, as_of=D(2025, 11, 30))
    assert actuals(report, UNION_MEMBERS) == {"W1": 5}
    assert "D1" not in [part.organization.code for part in report.children]


def test_the_historical_structure_counts_events_for_the_committee_of_their_date(city, administrator):
    reform(city, administrator)
    MembershipReturnFactory(
        mass_organization=city.union, date=D(2025, 9, 1), members_total=27, members_admitted=2, is_founding=False
    )
    report = engine.fulfilment(city.root, 2025, as_of=D(2025, 11, 30), structure="historical")
    assert actuals(report, UNION_MEMBERS) == {"D1": 5, "W1": 2}
    ended = {part.organization.code: part.ended_on for part in report.children}
    assert ended["D1"] == D(2025, 6, 30)
    assert report.row(UNION_MEMBERS).actual == 7


def test_structure_at_a_date_uses_the_tree_and_the_committees_of_that_date(city, administrator):
    before = engine.structure(city.root, D(2024, 12, 31))
    reform(city, administrator)
    old = engine.structure(city.root, D(2024, 12, 31))
    for key in ("enterprises", "trade_unions", "mass_organization_members", "members", "branches"):
        assert figures(old, key) == figures(before, key), key
    assert figures(old, "enterprises") == {"D1": 1}
    assert figures(old, "mass_organization_members") == {"D1": 20}
    assert figures(old, "branches") == {"D1": 1}
    assert "W1" not in [part.organization.code for part in old.children]

    new = engine.structure(city.root, D(2025, 11, 30))
    assert figures(new, "enterprises") == {"W1": 1}
    assert figures(new, "mass_organization_members") == {"W1": 25}
    assert figures(new, "branches") == {"W1": 1}
    assert "D1" not in [part.organization.code for part in new.children]
    assert new.row("members").value == old.row("members").value == 1


def test_the_change_keeps_its_periods_and_decision(city, administrator):
    reform(city, administrator)
    periods = ManagingCommitteePeriod.objects.filter(enterprise=city.enterprise).order_by("id")
    assert [(p.committee.code, p.valid_from, p.valid_to, p.decision_number) for p in periods] == [
        ("D1", None, REFORM, ""),
        ("W1", REFORM, None, "01-QĐ/TU"),
    ]
    city.enterprise.refresh_from_db()
    assert city.enterprise.managing_committee == city.w1
    assert city.enterprise.history.first().history_change_reason == "managed by W1 from 01/07/2025"


@pytest.mark.parametrize(
    ("committee", "on", "message"),
    [
        ("d1", REFORM, "already manages"),
        ("w1", D(2025, 6, 1), "is not active on"),
        ("w1", D(2099, 1, 1), "cannot be in the future"),
    ],
)
def test_a_change_that_breaks_a_rule_is_refused_and_writes_nothing(city, administrator, committee, on, message):
    with pytest.raises(ValidationError) as raised:
        enterprise_services.change_managing_committee(administrator, city.enterprise, getattr(city, committee), on=on)
    assert message in str(raised.value)
    assert not ManagingCommitteePeriod.objects.exists()
    city.enterprise.refresh_from_db()
    assert city.enterprise.managing_committee == city.d1


def test_several_enterprises_pass_all_or_nothing(city, administrator):
    other = EnterpriseFactory(managing_committee=city.d2, locality=city.root.locality)
    with pytest.raises(ValidationError) as raised:
        enterprise_services.change_managing_committees(
            administrator, [(city.enterprise, city.w1), (other, city.d2)], on=REFORM
        )
    assert f"{other.tax_code}: managing_committee" in raised.value.message_dict
    assert not ManagingCommitteePeriod.objects.exists()


def test_a_second_change_must_come_after_the_first(city, administrator):
    reform(city, administrator)
    with pytest.raises(ValidationError, match="a change takes effect after that day"):
        enterprise_services.change_managing_committee(administrator, city.enterprise, city.d2, on=REFORM)
    enterprise_services.change_managing_committee(administrator, city.enterprise, city.d2, on=D(2025, 9, 1))
    assert [(p.committee.code, p.valid_to) for p in ManagingCommitteePeriod.objects.order_by("id")] == [
        ("D1", REFORM),
        ("W1", D(2025, 9, 1)),
        ("D2", None),
    ]
    report = engine.fulfilment(city.root, 2025, as_of=D(2025, 8, 31))
    assert actuals(report, UNION_MEMBERS) == {"W1": 5}


def test_a_secretary_may_not_pass_an_enterprise_to_another_committee(city):
    secretary = UserFactory()
    RoleAssignmentFactory(user=secretary, role=RoleKey.SECRETARY, organization=city.b1)
    with pytest.raises(PermissionDenied):
        enterprise_services.change_managing_committee(secretary, city.enterprise, city.w1, on=REFORM)
    assert not ManagingCommitteePeriod.objects.exists()


def test_the_enterprise_page_lists_its_committees_through_time(client, city, administrator):
    reform(city, administrator)
    client.force_login(administrator)
    client.cookies["django_language"] = "en"
    html = client.get(reverse("enterprises:enterprise_detail", args=[city.enterprise.pk])).content.decode()
    periods = html.split('id="committee-periods"')[1].split("</ul>")[0]
    assert f"{city.d1} until 30/06/2025" in periods
    assert f"{city.w1} since 01/07/2025 (01-QĐ/TU)" in periods


def test_a_user_whose_only_organisation_ended_sees_why_and_not_an_empty_page(client, city, administrator):
    staff = UserFactory()
    RoleAssignmentFactory(user=staff, role=RoleKey.DEPARTMENT, organization=city.d2)
    branch_services.dissolve_organization(administrator, city.d2, on=REFORM, decision_number="07-QĐ/TU")
    client.force_login(staff)
    client.cookies["django_language"] = "en"
    response = client.get(reverse("home"))
    assert response.status_code == 200
    text = response.content.decode().split('id="organization-ended"')[1]
    assert f"{city.d2} ended on 01/07/2025." in text and "Decision 07-QĐ/TU." in text
    assert "Ask an administrator" in text
    # with another organisation still standing, the user goes to work as usual
    RoleAssignmentFactory(user=staff, role=RoleKey.DEPARTMENT, organization=city.w1)
    client.force_login(staff)
    assert client.get(reverse("home")).status_code == 302


def test_the_api_passes_an_enterprise_to_another_committee_from_a_date(city, administrator, api_as):
    client = api_as(administrator)
    url = f"/api/v1/enterprises/{city.enterprise.pk}/pass/"
    version = client.get(f"/api/v1/enterprises/{city.enterprise.pk}/").json()["version"]
    refused = client.post(url, {"committee": "W1", "on": "2025-06-01", "version": version}, format="json")
    assert refused.status_code == 400 and "committee" in refused.json()
    response = client.post(
        url,
        {"committee": "W1", "on": "2025-07-01", "decision_number": "01-QĐ/TU", "version": version},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["managing_committee"] == "W1"
    assert engine.fulfilment(city.root, 2024).children[0].row(UNIONS).actual == 1  # still D1's in 2024
    stale = client.post(url, {"committee": "D2", "on": "2025-09-01", "version": version}, format="json")
    assert stale.status_code in (400, 409)
    assert ManagingCommitteePeriod.objects.filter(enterprise=city.enterprise).count() == 2
