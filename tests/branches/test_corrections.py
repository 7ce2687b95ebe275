"""Corrections: an admission's dates and decision, a leaving recorded by mistake, a membership
return; each asks for a reason, keeps the old and new values and recounts the reports exactly."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from branches import approvals, services
from branches.choices import MemberStatus, PeriodEndReason
from enterprises import services as enterprise_services
from reports import engine, rollups
from reports.metrics import Metric
from reports.statistics import member_movement
from tests.api_conftest import *  # noqa: F403
from tests.factories import MassOrganizationFactory, MemberFactory, MembershipReturnFactory

D = datetime.date


def actual(organization, year, metric):
    return engine.fulfilment(organization, year).row(metric).actual


def assert_exact():
    count, details = rollups.differences()
    assert count == 0, details


def test_correcting_the_admission_date_moves_the_admission_to_its_year_in_the_reports(tree, secretary_a):
    member = MemberFactory(organization=tree.branch_a, admitted_on=D(2024, 12, 20), official_on=None)
    before = {year: actual(tree.committee, year, Metric.MEMBERS_ADMITTED) for year in (2024, 2025)}
    with pytest.raises(ValidationError) as refused:
        services.correct_admission(secretary_a, member, reason="", admitted_on=D(2025, 1, 6))
    assert "reason" in refused.value.message_dict
    services.correct_admission(
        secretary_a,
        member,
        reason="the decision is dated 6 January",
        admitted_on=D(2025, 1, 6),
        admission_decision_number="101-QĐ/ĐU",
    )
    after = {year: actual(tree.committee, year, Metric.MEMBERS_ADMITTED) for year in (2024, 2025)}
    assert after == {2024: before[2024] - 1, 2025: before[2025] + 1}
    member.refresh_from_db()
    assert member.periods.get().started_on == D(2025, 1, 6)  # the first period moves with the decision
    record = member.history.latest()
    assert record.history_change_reason == "the decision is dated 6 January"
    assert member.history.earliest().admitted_on == D(2024, 12, 20)  # the old value is kept
    movement_2024 = member_movement(tree.committee, D(2024, 1, 1), D(2024, 12, 31)).total
    movement_2025 = member_movement(tree.committee, D(2025, 1, 1), D(2025, 12, 31)).total
    assert (movement_2024.admitted, movement_2025.admitted) == (0, 1)
    assert_exact()


def test_admission_correction_follows_the_admission_rules_and_the_approval_lock(tree, secretary_a, department):
    member = MemberFactory(organization=tree.branch_a, admitted_on=D(2024, 3, 1), official_on=None)
    with pytest.raises(ValidationError) as refused:
        services.correct_admission(secretary_a, member, reason="typo", ceremony_on=D(2024, 6, 1))
    assert "ceremony_on" in refused.value.message_dict  # more than 30 working days after the decision
    with pytest.raises(PermissionDenied):
        services.correct_admission(department, member, reason="typo", admitted_on=D(2024, 3, 4))
    approvals.submit(secretary_a, tree.branch_a, year=2024)
    approvals.approve(department, tree.branch_a, year=2024)
    with pytest.raises(ValidationError) as locked:
        services.correct_admission(secretary_a, member, reason="typo", admitted_on=D(2024, 3, 4))
    assert "admitted_on" in locked.value.message_dict
    member.refresh_from_db()
    assert member.admitted_on == D(2024, 3, 1)


def test_undoing_a_leaving_reopens_the_membership_and_the_movement_recounts(client, tree, secretary_a):
    member = MemberFactory(organization=tree.branch_a, admitted_on=D(2019, 1, 2))
    services.record_leaving(secretary_a, member, on=D(2024, 5, 2), reason=PeriodEndReason.DIED)
    year = (D(2024, 1, 1), D(2024, 12, 31))
    assert member_movement(tree.committee, *year).total.died == 1
    client.force_login(secretary_a)
    page = client.get(reverse("branches:member_detail", args=[member.pk])).content.decode()
    assert reverse("branches:member_undo_leaving", args=[member.pk]) in page
    response = client.post(
        reverse("branches:member_undo_leaving", args=[member.pk]), {"reason": "recorded for another"}
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.status == MemberStatus.ACTIVE
    assert member.periods.get().ended_on is None
    movement = member_movement(tree.committee, *year).total
    assert (movement.died, movement.at_end, movement.at_start) == (0, 1, 1)
    assert member.history.latest().history_change_reason == "recorded for another"
    with pytest.raises(ValidationError):
        services.undo_leaving(secretary_a, member, reason="again")
    assert_exact()


def test_correcting_a_membership_return_recounts_the_union_figures(client, tree, secretary_a, administrator):
    union = MassOrganizationFactory(enterprise=tree.enterprise_a, established_on=D(2023, 3, 1))
    membership_return = MembershipReturnFactory(
        mass_organization=union, date=D(2024, 6, 30), members_total=60, members_admitted=40, is_founding=False
    )
    before = actual(tree.committee, 2024, Metric.MASS_ORG_MEMBERS_ADMITTED)
    client.force_login(secretary_a)
    url = reverse("enterprises:membershipreturn_correct", args=[membership_return.pk])
    missing_reason = client.post(url, {"date": "30/06/2024", "members_total": 60, "members_admitted": 4})
    assert "reason" in missing_reason.context["form"].errors
    response = client.post(
        url, {"date": "30/06/2024", "members_total": 60, "members_admitted": 4, "reason": "40 was a typo"}
    )
    assert response.status_code == 302
    assert actual(tree.committee, 2024, Metric.MASS_ORG_MEMBERS_ADMITTED) == before - 36
    membership_return.refresh_from_db()
    assert membership_return.history.latest().history_change_reason == "40 was a typo"
    assert_exact()
    for organization in (tree.branch_a, tree.branch_b, tree.committee):
        approvals.submit(administrator, organization, year=2024)
        approvals.approve(administrator, organization, year=2024)
    with pytest.raises(ValidationError) as locked:
        enterprise_services.correct_membership_return(
            secretary_a, membership_return, reason="again", members_admitted=5
        )
    assert "date" in locked.value.message_dict


def test_correction_api_actions(api, tree, secretary_a):
    member = MemberFactory(organization=tree.branch_a, admitted_on=D(2024, 3, 1), official_on=None)
    url = f"/api/v1/members/{member.pk}/correct-admission/"
    assert api.department.post(url, {"reason": "x", "admitted_on": "2024-03-04"}, format="json").status_code == 403
    assert api.secretary_b.post(url, {"reason": "x", "admitted_on": "2024-03-04"}, format="json").status_code == 404
    corrected = api.secretary_a.post(url, {"reason": "typo", "admitted_on": "2024-03-04"}, format="json")
    assert corrected.status_code == 200, corrected.content
    assert corrected.json()["admitted_on"] == "2024-03-04"
    services.record_leaving(secretary_a, member, on=D(2024, 6, 3), reason=PeriodEndReason.RESIGNED)
    undone = api.secretary_a.post(f"/api/v1/members/{member.pk}/undo-leaving/", {"reason": "typo"}, format="json")
    assert undone.status_code == 200 and undone.json()["status"] == MemberStatus.ACTIVE
    assert_exact()
