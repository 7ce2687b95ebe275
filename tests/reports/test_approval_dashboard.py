"""The dashboard's approval panel (status of each organisation below, counts, the actions the scope
allows) and the "approved on … by …" stamp of the reports: pages, JSON (API and CLI) and .xlsx."""

import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from branches import approvals
from branches.choices import RoleKey
from branches.models import PeriodApproval
from tests.api_conftest import *  # noqa: F403
from tests.api_conftest import API
from tests.factories import RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("reports:dashboard")
ACTION = reverse("reports:approval_action")


@pytest.fixture
def city_department(tree):
    user = UserFactory(username="city_department")
    RoleAssignmentFactory(user=user, role=RoleKey.DEPARTMENT, organization=tree.city)
    return user


def panel(client, user, **params):
    client.force_login(user)
    response = client.get(DASHBOARD, {"year": 2024, **params}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response


def test_the_panel_shows_each_organisation_below_with_counts_and_the_department_s_actions(
    client, tree, secretary_a, department
):
    approvals.submit(secretary_a, tree.branch_a, year=2024)
    response = panel(client, department, organization="DIST")
    rows = {row.organization.code: row for row in response.context["approval_tree"].children}
    assert {code: row.status for code, row in rows.items()} == {"BR-A": "submitted", "BR-B": "open"}
    assert [action for action, _label in rows["BR-A"].actions] == ["approve", "return"]
    assert [action for action, _label in rows["BR-B"].actions] == ["submit"]  # department staff may submit for it
    counts = {status: count for status, _label, count in response.context["approval_tree"].counts}
    assert counts == {"open": 1, "submitted": 1, "approved": 0, "returned": 0}
    body = response.content.decode()
    assert 'id="approval-panel"' in body and 'data-action="approve"' in body and "secretary_a" in body


def test_a_secretary_sees_submit_but_never_approve(client, tree, secretary_a):
    response = panel(client, secretary_a, organization="BR-A")
    own = response.context["approval_tree"].organization
    assert [action for action, _label in own.actions] == ["submit"]
    assert 'data-action="approve"' not in response.content.decode()


def test_the_buttons_submit_approve_return_and_reopen_through_the_services(client, tree, secretary_a, department):
    client.force_login(secretary_a)
    response = client.post(ACTION, {"organization": "BR-A", "year": 2024, "half": 0, "action": "submit"})
    assert response.status_code == 302 and "organization=BR-A" in response["Location"]
    refused = client.post(ACTION, {"organization": "BR-A", "year": 2024, "half": 0, "action": "approve"}, follow=True)
    assert [m.level_tag for m in refused.context["messages"]][-1] == "error"
    assert approvals.approval_for(tree.branch_a, 2024).status == "submitted"

    client.force_login(department)
    post = {"organization": "BR-A", "year": 2024, "half": 0, "back_to": "DIST"}
    returned = client.post(ACTION, {**post, "action": "return", "comment": ""}, follow=True)
    assert [m.level_tag for m in returned.context["messages"]][-1] == "error"  # a return needs a comment
    response = client.post(ACTION, {**post, "action": "approve"})
    assert response.status_code == 302 and "organization=DIST" in response["Location"]
    assert approvals.approval_for(tree.branch_a, 2024).status == "approved"
    client.post(ACTION, {**post, "action": "reopen", "comment": "Sai ngày"})
    record = PeriodApproval.objects.get(organization=tree.branch_a, year=2024)
    assert record.status == "open" and record.comment == "Sai ngày"
    assert client.post(ACTION, {**post, "action": "delete"}).status_code == 400
    assert client.get(ACTION).status_code == 405


def test_an_organisation_outside_the_scope_is_404(client, tree, secretary_b):
    client.force_login(secretary_b)
    response = client.post(ACTION, {"organization": "BR-A", "year": 2024, "half": 0, "action": "submit"})
    assert response.status_code in (403, 404)
    assert not PeriodApproval.objects.exists()


@pytest.fixture
def dist_approved(tree, secretary_a, secretary_b, department, city_department):
    for secretary, branch in ((secretary_a, tree.branch_a), (secretary_b, tree.branch_b)):
        approvals.submit(secretary, branch, year=2024)
        approvals.approve(department, branch, year=2024)
    approvals.submit(department, tree.committee, year=2024)
    approvals.approve(city_department, tree.committee, year=2024)
    return tree


def test_the_reports_show_the_stamp_when_the_period_is_approved(client, dist_approved, department):
    body = panel(client, department, organization="DIST").content.decode()
    assert 'id="approval-stamp"' in body and "city_department" in body
    assert 'id="approval-stamp"' not in panel(client, department, organization="DIST", year=2025).content.decode()
    assert (
        'id="approval-stamp"' not in panel(client, department, organization="DIST", as_of="30/09/2024").content.decode()
    )
    for name in ("reports:movement", "reports:admissions"):
        page = client.get(reverse(name), {"organization": "DIST", "year": 2024}, HTTP_ACCEPT_LANGUAGE="en")
        assert 'id="approval-stamp"' in page.content.decode()
        half = client.get(reverse(name), {"organization": "DIST", "year": 2024, "half": 1}, HTTP_ACCEPT_LANGUAGE="en")
        assert 'id="approval-stamp"' not in half.content.decode()  # the half-year is not approved on its own


def test_the_json_and_xlsx_carry_the_stamp(client, api, dist_approved, department, tmp_path):
    fulfilment = api.department.get(f"{API}reports/fulfilment/", {"organization": "DIST", "year": 2024}).json()
    assert fulfilment["approval"]["approved_by"] == "city_department" and fulfilment["approval"]["half"] == 0
    movement = api.department.get(
        f"{API}reports/movement/", {"organization": "DIST", "start": "2024-01-01", "end": "2024-12-31"}
    ).json()
    assert movement["approval"]["year"] == 2024
    other = api.department.get(
        f"{API}reports/admissions/", {"organization": "DIST", "start": "2024-01-01", "end": "2024-03-31"}
    ).json()
    assert other["approval"] is None

    out = io.StringIO()
    call_command("report", "fulfilment", "--org", "DIST", "--year", "2024", "--format", "json", stdout=out)
    assert json.loads(out.getvalue())["approval"]["approved_by"] == "city_department"

    client.force_login(department)
    for url, params in (
        (reverse("reports:fulfilment_export"), {"organization": "DIST", "year": 2024, "format": "xlsx"}),
        (reverse("reports:movement"), {"organization": "DIST", "year": 2024, "format": "xlsx"}),
    ):
        path = tmp_path / "stamp.xlsx"
        path.write_bytes(client.get(url, params, HTTP_ACCEPT_LANGUAGE="en").content)
        sheet = load_workbook(path).active
        stamp = sheet["A3"].value if "fulfilment" in url else sheet["A4"].value
        assert "city_department" in stamp, stamp


def test_each_row_counts_the_statuses_deeper_in_its_subtree(client, tree, secretary_a, secretary_b, city_department):
    approvals.submit(secretary_a, tree.branch_a, year=2024)
    response = panel(client, city_department)
    (district,) = response.context["approval_tree"].children
    assert district.organization == tree.committee
    assert {status: n for status, _label, n in district.below} == {"open": 1, "submitted": 1}
    approvals.submit(secretary_b, tree.branch_b, year=2024)
    body = panel(client, city_department).content.decode().split('data-organization="DIST"')[1]
    below = body.split('approval-below">')[1].split("</div>")[0]
    assert below.count("<span data-status=") == 1
    assert '<span data-status="submitted">' in below and below.strip().endswith(" 2</span>")
