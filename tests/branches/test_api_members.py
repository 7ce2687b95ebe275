"""Members and prospects through the API: admission, lifecycle actions, errors and sensitive data."""

import datetime

import pytest

from branches.choices import MemberStatus, OrganizationKind, PeriodEndReason, ProspectStage, RoleKey
from branches.models import Member, Prospect
from tests.api_conftest import *  # noqa: F403
from tests.api_conftest import API
from tests.factories import MemberFactory, OrganizationFactory, ProspectFactory, RoleAssignmentFactory, UserFactory


def admission(**overrides):
    payload = {
        "organization": "BR-A",
        "admitted_on": "2024-03-01",
        "full_name": "Lê Thị Hồng",
        "sex": "female",
        "date_of_birth": "1990-01-01",
        "citizen_id": "001190000001",
    }
    payload.update(overrides)
    return payload


def test_posting_a_member_admits_them_into_the_organisation(api, tree, secretary_a):
    response = api.secretary_a.post(
        f"{API}members/", admission(is_business_owner=True, position="owner"), format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["organization"] == body["admitted_by"] == "BR-A"
    assert body["owner_at_admission"] is True
    assert body["status"] == MemberStatus.ACTIVE
    assert body["periods"] == [
        {
            "organization": "BR-A",
            "started_on": "2024-03-01",
            "ended_on": None,
            "end_reason": "",
            "end_decision_number": "",
            "end_decided_on": None,
        }
    ]
    member = Member.objects.get(pk=body["id"])
    assert member.history.first().history_user == secretary_a


def test_outsider_cannot_admit_into_another_branch(api, tree):
    response = api.secretary_b.post(f"{API}members/", admission(), format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["organization"]
    assert not Member.objects.exists()


def test_service_refusals_are_400_with_a_message_per_field(api, tree):
    response = api.secretary_a.post(
        f"{API}members/", admission(date_of_birth="2010-01-01", official_on="2023-01-01"), format="json"
    )
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"date_of_birth", "official_on"}
    assert all(isinstance(message, str) and message for messages in errors.values() for message in messages)


def test_duplicate_and_malformed_citizen_ids_are_refused(api, tree):
    MemberFactory(organization=tree.branch_b, citizen_id="001190000001")
    duplicate = api.secretary_a.post(f"{API}members/", admission(), format="json")
    assert duplicate.status_code == 400 and "citizen_id" in duplicate.json()
    malformed = api.secretary_a.post(f"{API}members/", admission(citizen_id="12AB"), format="json")
    assert malformed.status_code == 400 and "citizen_id" in malformed.json()


def test_a_member_cannot_be_admitted_into_a_committee(api, tree, administrator):
    response = api.administrator.post(f"{API}members/", admission(organization="DIST"), format="json")
    assert response.status_code == 400
    assert "organization" in response.json()


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"organization": None},
        {"organization": ["BR-A"]},
        {"organization": "BR-A\x00"},
        admission(admitted_on="2024-02-30"),
        admission(admitted_on="not a date"),
        admission(date_of_birth=12),
        admission(full_name="x" * 5000),
        admission(sex="other"),
        admission(enterprise="0000000000"),
    ],
)
def test_malformed_payloads_are_400_not_500(api, tree, payload):
    response = api.secretary_a.post(f"{API}members/", payload, format="json")
    assert response.status_code == 400


def test_non_json_bodies_are_refused(api, tree):
    response = api.secretary_a.post(f"{API}members/", "organization=BR-A", content_type="text/plain")
    assert response.status_code == 415
    broken = api.secretary_a.post(f"{API}members/", "{not json", content_type="application/json")
    assert broken.status_code == 400


def test_errors_follow_the_accept_language_header(api_as, secretary_a, tree):
    english = api_as(secretary_a, "en").post(f"{API}members/", {}, format="json").json()
    vietnamese = api_as(secretary_a, "vi").post(f"{API}members/", {}, format="json").json()
    assert english["full_name"] == ["This field is required."]
    assert vietnamese["full_name"] != english["full_name"]


def test_recognize_makes_a_member_official_once(api, tree):
    member = MemberFactory(organization=tree.branch_a, admitted_on=datetime.date(2023, 3, 1), official_on=None)
    url = f"{API}members/{member.pk}/recognize/"
    response = api.secretary_a.post(url, {"official_on": "2024-03-01"}, format="json")
    assert response.status_code == 200
    assert response.json()["official_on"] == "2024-03-01"
    again = api.secretary_a.post(url, {"official_on": "2024-04-01"}, format="json")
    assert again.status_code == 400 and "official_on" in again.json()
    assert api.department.post(url, {"official_on": "2024-03-01"}, format="json").status_code == 403
    assert api.secretary_b.post(url, {"official_on": "2024-03-01"}, format="json").status_code == 404


def test_transfer_to_another_organisation_moves_the_member(api_as, tree):
    secretary = UserFactory(username="committee_secretary")
    RoleAssignmentFactory(user=secretary, role=RoleKey.SECRETARY, organization=tree.committee)
    member = MemberFactory(organization=tree.branch_a, admitted_on=datetime.date(2020, 3, 1))
    response = api_as(secretary).post(
        f"{API}members/{member.pk}/transfer/",
        {"on": "2024-06-01", "to_organization": "BR-B", "presented_on": "2024-06-01"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["organization"] == "BR-B" and body["admitted_by"] == "BR-A"
    assert [(p["organization"], p["ended_on"], p["end_reason"]) for p in body["periods"]] == [
        ("BR-A", "2024-06-01", PeriodEndReason.TRANSFER),
        ("BR-B", None, ""),
    ]


def test_transfer_needs_an_explicit_destination_or_null(api, tree):
    member = MemberFactory(organization=tree.branch_a)
    url = f"{API}members/{member.pk}/transfer/"
    missing = api.secretary_a.post(url, {"on": "2024-06-01"}, format="json")
    assert missing.status_code == 400 and "to_organization" in missing.json()
    unknown = api.secretary_a.post(url, {"on": "2024-06-01", "to_organization": "NOWHERE"}, format="json")
    assert unknown.status_code == 400 and "to_organization" in unknown.json()
    residence = api.secretary_a.post(url, {"on": "2024-06-01", "to_organization": None}, format="json")
    assert residence.status_code == 200
    assert residence.json()["status"] == MemberStatus.TRANSFERRED_TO_RESIDENCE


def test_transfer_before_admission_is_a_field_error(api, tree):
    member = MemberFactory(organization=tree.branch_a, admitted_on=datetime.date(2024, 3, 1))
    response = api.secretary_a.post(
        f"{API}members/{member.pk}/transfer/", {"on": "2023-01-01", "to_organization": None}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["on"]


def test_leave_records_why_the_member_left(api, tree):
    member = MemberFactory(organization=tree.branch_a)
    url = f"{API}members/{member.pk}/leave/"
    wrong = api.secretary_a.post(url, {"on": "2024-06-01", "reason": "transfer"}, format="json")
    assert wrong.status_code == 400 and "reason" in wrong.json()
    response = api.secretary_a.post(url, {"on": "2024-06-01", "reason": "resigned"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == MemberStatus.LEFT
    assert response.json()["periods"][-1]["end_reason"] == PeriodEndReason.RESIGNED


def test_a_stale_version_is_refused_instead_of_overwriting(api, tree):
    member = MemberFactory(organization=tree.branch_a)
    url = f"{API}members/{member.pk}/"
    version = api.secretary_a.get(url).json()["version"]
    first = api.secretary_a.patch(url, {"full_name": "Tên mới", "version": version}, format="json")
    assert first.status_code == 200 and first.json()["version"] == version + 1
    stale = api.administrator.patch(url, {"full_name": "Tên khác", "version": version}, format="json")
    assert stale.status_code == 400
    assert "non_field_errors" in stale.json()
    assert Member.objects.get(pk=member.pk).full_name == "Tên mới"


def test_lifecycle_fields_are_not_changed_by_patch(api, tree):
    member = MemberFactory(organization=tree.branch_a)
    response = api.secretary_a.patch(f"{API}members/{member.pk}/", {"admitted_on": "2021-01-01"}, format="json")
    assert response.status_code == 400 and "admitted_on" in response.json()


def test_citizen_id_is_shown_in_full_only_to_editors_on_one_record(api, tree):
    member = MemberFactory(organization=tree.branch_a, citizen_id="001190009876")
    detail = f"{API}members/{member.pk}/"
    assert api.secretary_a.get(detail).json()["citizen_id"] == "001190009876"
    assert api.department.get(detail).json()["citizen_id"] == "••••••••9876"
    listed = api.secretary_a.get(f"{API}members/").json()["results"][0]
    assert listed["citizen_id"] == "••••••••9876"


# Prospects --------------------------------------------------------------------------------


def test_prospect_stage_follows_its_dates(api, tree):
    response = api.secretary_a.post(
        f"{API}prospects/",
        {
            "full_name": "Trần Văn Bình",
            "sex": "male",
            "date_of_birth": "1996-04-02",
            "organization": "BR-A",
            "identified_on": "2024-01-10",
            "course_completed_on": "2024-03-10",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["stage"] == ProspectStage.COURSE_DONE


def test_admitting_a_prospect_creates_the_member(api, tree):
    prospect = ProspectFactory(organization=tree.branch_a, citizen_id="001195000123", ready=True)
    response = api.secretary_a.post(
        f"{API}prospects/{prospect.pk}/admit/", {"admitted_on": "2024-05-01"}, format="json"
    )
    assert response.status_code == 201, response.content
    member = Member.objects.get(pk=response.json()["id"])
    assert member.admitted_by == tree.branch_a and member.citizen_id == "001195000123"
    prospect.refresh_from_db()
    assert prospect.stage == ProspectStage.ADMITTED and prospect.member == member
    again = api.secretary_a.post(f"{API}prospects/{prospect.pk}/admit/", {"admitted_on": "2024-05-01"}, format="json")
    assert again.status_code == 400


def test_prospect_actions_respect_scope(api, tree):
    prospect = ProspectFactory(organization=tree.branch_a)
    url = f"{API}prospects/{prospect.pk}/withdraw/"
    assert api.secretary_b.post(url, {"on": "2024-05-01"}, format="json").status_code == 404
    assert api.department.post(url, {"on": "2024-05-01"}, format="json").status_code == 403
    early = api.secretary_a.post(url, {"on": "2023-01-01"}, format="json")
    assert early.status_code == 400 and list(early.json()) == ["on"]
    done = api.secretary_a.post(url, {"on": "2024-05-01"}, format="json")
    assert done.status_code == 200 and done.json()["stage"] == ProspectStage.WITHDRAWN
    assert Prospect.objects.get(pk=prospect.pk).closed_on == datetime.date(2024, 5, 1)


def test_secretary_of_a_grassroots_committee_admits_into_its_subordinate_branch(api_as, tree):
    grassroots = OrganizationFactory(
        code="GC-1", kind=OrganizationKind.GRASSROOTS_COMMITTEE, locality=tree.province, parent=tree.committee
    )
    OrganizationFactory(
        code="GC-1-01", kind=OrganizationKind.SUBORDINATE_BRANCH, locality=tree.province, parent=grassroots
    )
    secretary = UserFactory(username="gc_secretary")
    RoleAssignmentFactory(user=secretary, role=RoleKey.SECRETARY, organization=grassroots)
    response = api_as(secretary).post(f"{API}members/", admission(organization="GC-1-01"), format="json")
    assert response.status_code == 201


def test_transfer_may_go_to_a_grassroots_organisation_outside_the_secretarys_scope(api, tree):
    """Like the transfer form: the receiving organisation is named by its code, wherever it is."""
    member = MemberFactory(organization=tree.branch_a, admitted_on=datetime.date(2020, 3, 1))
    url = f"{API}members/{member.pk}/transfer/"
    to_committee = api.secretary_a.post(url, {"on": "2024-06-01", "to_organization": "DIST"}, format="json")
    assert to_committee.status_code == 400 and "to_organization" in to_committee.json()
    response = api.secretary_a.post(url, {"on": "2024-06-01", "to_organization": "BR-B"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["organization"], response.json()["status"]) == ("BR-A", "in_transit")
    transfer = api.secretary_b.get(f"{API}transfers/").json()["results"][0]
    assert api.secretary_b.get(f"{API}members/{member.pk}/").status_code == 404  # only the transfer row
    assert set(transfer) >= {"member_name", "letter_number", "letter_date", "due_on"}
    assert "citizen_id" not in transfer and "date_of_birth" not in transfer
    cancel = api.secretary_b.post(f"{API}transfers/{transfer['id']}/cancel/", {"reason": "not ours"}, format="json")
    assert cancel.status_code == 403  # only the sending side cancels
    confirmed = api.secretary_b.post(
        f"{API}transfers/{transfer['id']}/confirm/", {"presented_on": "2024-06-10"}, format="json"
    )
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["status"] == "received"
    assert api.secretary_a.get(f"{API}members/{member.pk}/").status_code == 404
    assert api.secretary_b.get(f"{API}members/{member.pk}/").json()["organization"] == "BR-B"
