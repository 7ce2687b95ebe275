"""The "due and overdue" pages: the list per organisation and the counts per committee below."""

import datetime

import pytest
from django.urls import reverse

from branches import services
from core.dates import fixed_today
from core.workdays import forget_calendar
from reports.deadlines import counts_below
from tests.factories import MemberFactory, OrganizationFactory
from tests.scoped_views import login

D = datetime.date
ON = D(2025, 3, 1)


@pytest.fixture(autouse=True)
def _fresh_calendar():
    forget_calendar()
    yield
    forget_calendar()


@pytest.fixture
def due(tree):
    """Branch A: one ceremony due and one overdue; branch B: one ceremony due; on 1 March 2025."""
    return {
        "a_due": MemberFactory(organization=tree.branch_a, full_name="A Lễ", admitted_on=D(2025, 1, 17)),
        "a_late": MemberFactory(organization=tree.branch_a, full_name="A Trễ", admitted_on=D(2024, 12, 2)),
        "b_due": MemberFactory(organization=tree.branch_b, full_name="B Lễ", admitted_on=D(2025, 1, 20)),
    }


def _by_code(rows):
    return {row.organization.code: (row.due, row.overdue) for row in rows}


def test_counts_per_organisation_directly_below(tree, due, department):
    assert _by_code(counts_below(tree.committee, ON, department)) == {"BR-A": (1, 1), "BR-B": (1, 0)}
    assert _by_code(counts_below(tree.city, ON, department)) == {"DIST": (2, 1)}


def test_counts_include_the_committees_own_records(tree, due, department):
    MemberFactory(organization=tree.committee, full_name="C Ủy", admitted_on=D(2025, 1, 17))
    assert _by_code(counts_below(tree.committee, ON, department))["DIST"] == (1, 0)


def test_counts_show_every_organisation_below_even_with_nothing_due(tree, due, department):
    OrganizationFactory(code="BR-C", name="Chi bộ C", parent=tree.committee, locality=tree.commune)
    assert _by_code(counts_below(tree.committee, ON, department))["BR-C"] == (0, 0)


def test_department_page_opens_each_list(client, tree, due, department):
    login(client, department)
    response = client.get(reverse("reports:deadline_committees"), {"organization": "DIST", "date": "01/03/2025"})
    assert response.status_code == 200
    row = next(r for r in response.context["rows"] if r["count"].organization.code == "BR-A")
    assert (row["count"].due, row["count"].overdue) == (1, 1)
    listed = client.get(row["overdue_url"])
    assert listed.status_code == 200
    assert [item.subject for item, _action in listed.context["rows"]] == ["A Trễ"]
    assert not any(action for _item, action in listed.context["rows"])  # department staff do not write


def test_list_filters_by_kind_and_state(client, tree, due, secretary_a):
    login(client, secretary_a)
    url = reverse("reports:deadlines")
    response = client.get(url, {"organization": "BR-A", "date": "2025-03-01", "state": "due", "kind": "ceremony"})
    assert [item.subject for item, action in response.context["rows"]] == ["A Lễ"]
    assert all(action for _item, action in response.context["rows"])


def test_list_filters_transfers_in_transit(client, tree, due, secretary_a):
    leaving = MemberFactory(organization=tree.branch_a, full_name="A Đi", admitted_on=D(2015, 5, 4))
    services.issue_transfer(
        secretary_a, leaving, to_organization=tree.branch_b, letter_date=D(2025, 2, 10), letter_number="12-GGT"
    )
    login(client, secretary_a)
    response = client.get(
        reverse("reports:deadlines"), {"organization": "BR-A", "date": "01/03/2025", "kind": "transfer_in_transit"}
    )
    assert response.context["form"].is_valid(), response.context["form"].errors
    assert [item.subject for item, _action in response.context["rows"]] == ["A Đi"]


def test_outsider_cannot_open_another_branchs_list(client, tree, due, secretary_b):
    login(client, secretary_b)
    assert client.get(reverse("reports:deadlines"), {"organization": "BR-A"}).status_code == 404


def test_dashboard_card_counts_per_committee(client, tree, due, department):
    login(client, department)
    with fixed_today(ON):
        response = client.get(reverse("reports:dashboard"), {"organization": "DIST"})
    assert response.status_code == 200
    assert {row["count"].organization.code for row in response.context["deadline_counts"]} == {"BR-A", "BR-B"}
    assert b'id="dashboard-deadlines"' in response.content


def test_dashboard_card_follows_changes_of_the_records(client, tree, due, department):
    login(client, department)

    def counts():
        with fixed_today(ON):
            response = client.get(reverse("reports:dashboard"), {"organization": "DIST"})
        return {row["count"].organization.code: row["count"].due for row in response.context["deadline_counts"]}

    assert counts()["BR-B"] == 1
    MemberFactory(organization=tree.branch_b, full_name="B Mới", admitted_on=D(2025, 2, 3))
    assert counts()["BR-B"] == 2
