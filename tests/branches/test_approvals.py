"""Approval of a period's figures bottom-up, the lock it sets on writes dated in the period, reopening."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from branches import approvals, services
from branches.choices import ApprovalStatus, PeriodEndReason, RoleKey
from branches.models import PeriodApproval
from tests.api_conftest import *  # noqa: F403
from tests.api_conftest import API
from tests.factories import MemberFactory, RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def city_department(tree):
    user = UserFactory(username="city_department")
    RoleAssignmentFactory(user=user, role=RoleKey.DEPARTMENT, organization=tree.city)
    return user


@pytest.fixture
def approved_2024(tree, secretary_a, secretary_b, department, city_department):
    """Both branches submitted and approved by DIST's department, DIST submitted and approved by the city's."""
    for secretary, branch in ((secretary_a, tree.branch_a), (secretary_b, tree.branch_b)):
        approvals.submit(secretary, branch, year=2024)
        approvals.approve(department, branch, year=2024)
    approvals.submit(department, tree.committee, year=2024)
    approvals.approve(city_department, tree.committee, year=2024)
    return tree


def admit(user, organization, on, citizen_id="001190000001"):
    return services.admit_member(
        user, organization=organization, admitted_on=on, full_name="Lê Văn Mới", sex="male",
        date_of_birth=D(1990, 1, 1), citizen_id=citizen_id,
    )  # fmt: skip


def test_a_committee_is_approved_only_after_all_its_children(tree, secretary_a, department, city_department):
    approvals.submit(secretary_a, tree.branch_a, year=2024)
    approvals.approve(department, tree.branch_a, year=2024)
    with pytest.raises(ValidationError) as caught:
        approvals.submit(department, tree.committee, year=2024)
    assert "BR-B" in str(caught.value)
    with pytest.raises(ValidationError):
        approvals.approve(city_department, tree.committee, year=2024)


def test_a_secretary_cannot_approve_and_a_department_cannot_approve_its_own(tree, secretary_a, department):
    approvals.submit(secretary_a, tree.branch_a, year=2024)
    with pytest.raises(PermissionDenied):
        approvals.approve(secretary_a, tree.branch_a, year=2024)
    with pytest.raises(PermissionDenied):
        approvals.approve(department, tree.committee, year=2024)  # DIST's own: the city's department approves


def test_figures_must_be_submitted_before_approval_and_returned_with_a_comment(tree, secretary_a, department):
    with pytest.raises(ValidationError):
        approvals.approve(department, tree.branch_a, year=2024)
    approvals.submit(secretary_a, tree.branch_a, year=2024)
    with pytest.raises(ValidationError):
        approvals.return_figures(department, tree.branch_a, year=2024, comment=" ")
    returned = approvals.return_figures(department, tree.branch_a, year=2024, comment="Thiếu 2 đảng viên")
    assert returned.status == ApprovalStatus.RETURNED
    approvals.submit(secretary_a, tree.branch_a, year=2024)  # resubmitted after correction
    assert approvals.approve(department, tree.branch_a, year=2024).status == ApprovalStatus.APPROVED


def test_the_root_department_approves_its_own_after_the_children(approved_2024, city_department):
    approval = approvals.approve(city_department, approved_2024.city, year=2024)
    assert approval.status == ApprovalStatus.APPROVED and approval.decided_by == city_department


def test_an_approved_period_locks_admissions_dated_in_it_with_a_message(approved_2024, secretary_a):
    with pytest.raises(ValidationError) as caught:
        admit(secretary_a, approved_2024.branch_a, D(2024, 6, 1))
    message = " ".join(caught.value.message_dict["admitted_on"])
    assert "2024" in message and "DIST" in message and "city_department" in message and "CITY" in message
    assert admit(secretary_a, approved_2024.branch_a, D(2025, 1, 2)).pk  # after the period: open


def test_the_lock_covers_the_other_lifecycle_writes(approved_2024, secretary_a, administrator):
    member = MemberFactory(organization=approved_2024.branch_a, admitted_on=D(2023, 1, 1), official_on=None)
    for call in (
        lambda: services.recognize_official(secretary_a, member, official_on=D(2024, 1, 1)),
        lambda: services.transfer_member(
            secretary_a, member, on=D(2024, 5, 1), to_organization=approved_2024.branch_b, presented_on=D(2024, 5, 1)
        ),
        lambda: services.record_leaving(secretary_a, member, on=D(2024, 5, 1), reason=PeriodEndReason.RESIGNED),
        lambda: services.dissolve_organization(administrator, approved_2024.branch_b, on=D(2024, 5, 1)),
    ):
        with pytest.raises(ValidationError) as caught:
            call()
        assert "CITY" in str(caught.value) and "DIST" in str(caught.value)


def test_the_api_refuses_a_locked_admission_with_400(api, approved_2024):
    payload = {
        "organization": "BR-A", "admitted_on": "2024-03-01", "full_name": "Lê Thị Hồng", "sex": "female",
        "date_of_birth": "1990-01-01", "citizen_id": "001190000001",
    }  # fmt: skip
    response = api.secretary_a.post(f"{API}members/", payload, format="json")
    assert response.status_code == 400 and "admitted_on" in response.json()


def test_reopening_reopens_the_approvals_above_and_is_audited(approved_2024, department, city_department, secretary_a):
    with pytest.raises(ValidationError):
        approvals.reopen(department, approved_2024.branch_a, year=2024, reason="")
    reopened = approvals.reopen(department, approved_2024.branch_a, year=2024, reason="Sai ngày kết nạp")
    assert {item.organization.code for item in reopened} == {"BR-A", "DIST"}
    statuses = dict(PeriodApproval.objects.values_list("organization__code", "status"))
    assert statuses == {"BR-A": "open", "BR-B": "approved", "DIST": "open"}
    assert admit(secretary_a, approved_2024.branch_a, D(2024, 6, 1)).pk
    history = PeriodApproval.objects.get(organization=approved_2024.branch_a).history.order_by("history_date")
    assert [h.status for h in history] == ["submitted", "approved", "open"]
    assert history.last().history_user == department


def test_a_secretary_cannot_reopen(approved_2024, secretary_a):
    with pytest.raises(PermissionDenied):
        approvals.reopen(secretary_a, approved_2024.branch_a, year=2024, reason="x")


def test_a_half_year_approval_locks_only_its_half(tree, secretary_a, department):
    approvals.submit(secretary_a, tree.branch_a, year=2024, half=1)
    approvals.approve(department, tree.branch_a, year=2024, half=1)
    with pytest.raises(ValidationError):
        admit(secretary_a, tree.branch_a, D(2024, 6, 30))
    assert admit(secretary_a, tree.branch_a, D(2024, 7, 1)).pk
    with pytest.raises(ValidationError):
        approvals.submit(secretary_a, tree.branch_a, year=2024, half=3)


def test_the_members_import_refuses_admissions_dated_in_an_approved_period(approved_2024, secretary_a):
    from branches.models import Member
    from dataio.imports import import_members
    from tests.dataio.test_io_members_import import csv_bytes, member_row

    result = import_members(
        csv_bytes([member_row(1, **{"admitted on*": "03/02/2024"}), member_row(2, **{"admitted on*": "03/02/2025"})]),
        organization=approved_2024.branch_a,
        acting_user=secretary_a,
    )
    assert result.has_errors and not result.committed and not Member.objects.exists()
    errors = [error.message for row in result.rows for error in row.errors]
    assert len(errors) == 1 and "DIST" in errors[0]


def test_approval_status_command_shows_the_tree_with_counts(approved_2024, secretary_a):
    import io

    from django.core.management import CommandError, call_command

    approvals.reopen(UserFactory(is_superuser=True), approved_2024.branch_b, year=2024, reason="Sửa số liệu")
    out = io.StringIO()
    call_command("approval", "status", "--org", "DIST", "--year", "2024", stdout=out)
    text = out.getvalue()
    assert "DIST" in text and "BR-A" in text and "approved" in text and "Sửa số liệu" in text
    assert "approved 1" in text and "open 1" in text
    with pytest.raises(CommandError):
        call_command("approval", "status", "--org", "NOPE", "--year", "2024", stdout=out)


def test_api_lists_submits_approves_returns_and_reopens_in_scope(api, api_as, tree, department, city_department):
    submitted = api.secretary_a.post(f"{API}approvals/submit/", {"organization": "BR-A", "year": 2024}, format="json")
    assert submitted.status_code == 200, submitted.content
    assert submitted.json()["status"] == "submitted" and submitted.json()["submitted_by"] == "secretary_a"
    refused = api.secretary_a.post(f"{API}approvals/approve/", {"organization": "BR-A", "year": 2024}, format="json")
    assert refused.status_code == 403
    outside = api.secretary_b.post(f"{API}approvals/submit/", {"organization": "BR-A", "year": 2024}, format="json")
    assert outside.status_code == 404
    returned = api.department.post(
        f"{API}approvals/return/", {"organization": "BR-A", "year": 2024, "comment": ""}, format="json"
    )
    assert returned.status_code == 400 and "comment" in returned.json()
    approved = api.department.post(f"{API}approvals/approve/", {"organization": "BR-A", "year": 2024}, format="json")
    assert approved.json()["status"] == "approved" and approved.json()["decided_by"] == "department"
    early = api.department.post(f"{API}approvals/submit/", {"organization": "DIST", "year": 2024}, format="json")
    assert early.status_code == 400  # BR-B is not approved yet
    listing = api.department.get(f"{API}approvals/", {"organization": "DIST", "year": 2024})
    assert listing.status_code == 200
    body = listing.json()
    assert body["counts"]["approved"] == 1 and body["counts"]["open"] == 1
    assert {child["organization"]["code"]: child["status"] for child in body["children"]} == {
        "BR-A": "approved",
        "BR-B": "open",
    }
    reopened = api.department.post(
        f"{API}approvals/reopen/", {"organization": "BR-A", "year": 2024, "comment": "Sai sót"}, format="json"
    )
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"
    for params in (
        {"organization": "DIST"},
        {"organization": "DIST", "year": "x"},
        {"organization": "D\x00", "year": 1},
    ):
        assert api.department.get(f"{API}approvals/", params).status_code == 400
    assert api_as(None).get(f"{API}approvals/", {"organization": "DIST", "year": 2024}).status_code in (401, 403)


def test_a_restructuring_dated_in_an_approved_period_is_refused(approved_2024, administrator):
    with pytest.raises(ValidationError) as caught:
        services.rename_organization(administrator, approved_2024.branch_a, name="Chi bộ mới", on=D(2024, 5, 1))
    assert "DIST" in str(caught.value)
    renamed = services.rename_organization(administrator, approved_2024.branch_a, name="Chi bộ mới", on=D(2025, 5, 1))
    assert renamed.pk
