"""Organisations, localities, enterprises, mass organisations, users and role assignments via the API."""

import datetime

from branches.choices import MemberStatus, OrganizationKind, RoleKey
from branches.models import Organization, RoleAssignment
from core.validators import tax_code_for
from enterprises.models import Enterprise, MembershipReturn
from security.access import token_digest
from security.models import ApiToken
from tests.api_conftest import *  # noqa: F403
from tests.api_conftest import API
from tests.factories import MassOrganizationFactory, MemberFactory, UserFactory


def organization(**overrides):
    payload = {
        "code": "BR-C",
        "name": "Chi bộ Công ty Cường Thịnh",
        "kind": OrganizationKind.GRASSROOTS_BRANCH,
        "parent": "DIST",
        "locality": "00001",
        "established_on": "2024-04-01",
    }
    payload.update(overrides)
    return payload


# Organisations ----------------------------------------------------------------------------


def test_administrator_establishes_an_organisation_under_a_parent(api, tree):
    response = api.administrator.post(f"{API}organizations/", organization(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["parent"] == "DIST" and body["depth"] == 3 and body["locality"] == "00001"
    assert Organization.objects.get_parent(Organization.objects.get(code="BR-C")) == tree.committee


def test_only_administrators_establish_organisations(api, tree):
    for persona in ("secretary_a", "secretary_b", "department"):
        response = getattr(api, persona).post(f"{API}organizations/", organization(), format="json")
        assert response.status_code == 403
    assert not Organization.objects.filter(code="BR-C").exists()


def test_tree_rules_are_field_errors(api, tree):
    under_branch = api.administrator.post(f"{API}organizations/", organization(parent="BR-A"), format="json")
    assert under_branch.status_code == 400 and "parent" in under_branch.json()
    duplicate = api.administrator.post(f"{API}organizations/", organization(code="BR-A"), format="json")
    assert duplicate.status_code == 400 and "code" in duplicate.json()
    unknown = api.administrator.post(f"{API}organizations/", organization(locality="NOWHERE"), format="json")
    assert unknown.status_code == 400 and "locality" in unknown.json()


def test_dissolving_moves_members_to_the_destination(api, tree):
    member = MemberFactory(organization=tree.branch_b, admitted_on=datetime.date(2020, 1, 1))
    response = api.administrator.post(
        f"{API}organizations/{tree.branch_b.pk}/dissolve/", {"on": "2024-06-30", "destination": "BR-A"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["dissolved_on"] == "2024-06-30"
    member.refresh_from_db()
    assert member.organization == tree.branch_a and member.status == MemberStatus.ACTIVE


def test_dissolving_twice_is_a_field_error_on_the_date(api, tree):
    url = f"{API}organizations/{tree.branch_b.pk}/dissolve/"
    assert api.administrator.post(url, {"on": "2024-06-30", "destination": None}, format="json").status_code == 200
    again = api.administrator.post(url, {"on": "2024-07-30"}, format="json")
    assert again.status_code == 400 and list(again.json()) == ["on"]
    assert api.department.post(url, {"on": "2024-07-30"}, format="json").status_code == 403


def test_moving_an_organisation_changes_its_parent(api, tree):
    other = api.administrator.post(
        f"{API}organizations/",
        organization(code="DIST-2", kind=OrganizationKind.COMMITTEE, parent="CITY", established_on="2015-01-01"),
        format="json",
    )
    assert other.status_code == 201
    response = api.administrator.post(
        f"{API}organizations/{tree.branch_a.pk}/move/", {"parent": "DIST-2"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["parent"] == "DIST-2"
    assert api.administrator.get(f"{API}organizations/by-code/BR-A/").json()["parent"] == "DIST-2"


def test_localities_are_managed_by_administrators(api, tree):
    response = api.administrator.post(
        f"{API}localities/",
        {"code": "00004", "name": "Phường Dịch Vọng", "kind": "ward", "parent": "01"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["parent"] == "01"
    refused = api.secretary_a.post(f"{API}localities/", {"code": "00005", "name": "X", "kind": "ward"}, format="json")
    assert refused.status_code == 403


# Enterprises and mass organisations -------------------------------------------------------


def enterprise(**overrides):
    payload = {
        "tax_code": tax_code_for(7_654_321),
        "name": "Công ty TNHH Cường Thịnh",
        "ownership": "private",
        "locality": "00001",
        "size_class": "small",
        "employees": 40,
        "managing_committee": "DIST",
    }
    payload.update(overrides)
    return payload


def test_secretary_records_an_enterprise_managed_by_the_committee_above(api, tree):
    response = api.secretary_a.post(f"{API}enterprises/", enterprise(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["managing_committee"] == "DIST" and body["recorded_by"] == "BR-A"
    assert api.secretary_a.get(f"{API}enterprises/by-tax-code/{body['tax_code']}/").status_code == 200
    assert api.secretary_b.get(f"{API}enterprises/by-tax-code/{body['tax_code']}/").status_code == 404


def test_enterprise_rules_are_field_errors(api, tree):
    bad_code = api.secretary_a.post(f"{API}enterprises/", enterprise(tax_code="0100000001"), format="json")
    assert bad_code.status_code == 400 and "tax_code" in bad_code.json()
    taken = api.secretary_a.post(f"{API}enterprises/", enterprise(tax_code=tree.enterprise_b.tax_code), format="json")
    assert taken.status_code == 400 and "tax_code" in taken.json()
    not_committee = api.secretary_a.post(f"{API}enterprises/", enterprise(managing_committee="BR-A"), format="json")
    assert not_committee.status_code == 400 and "managing_committee" in not_committee.json()
    huge = api.secretary_a.post(f"{API}enterprises/", enterprise(employees=10**30), format="json")
    assert huge.status_code == 400 and "employees" in huge.json()
    assert Enterprise.objects.count() == 2


def test_mass_organisation_is_established_with_its_founding_return(api, tree):
    response = api.secretary_a.post(
        f"{API}mass-organizations/",
        {
            "kind": "youth_union",
            "name": "Đoàn thanh niên An Phát",
            "enterprise": tree.enterprise_a.tax_code,
            "established_on": "2024-03-26",
            "founding_members": 15,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["returns"] == [
        {
            "id": response.json()["returns"][0]["id"],
            "date": "2024-03-26",
            "members_total": 15,
            "members_admitted": 15,
            "is_founding": True,
        }
    ]
    outsider = api.secretary_b.post(
        f"{API}mass-organizations/",
        {
            "kind": "trade_union",
            "name": "X",
            "enterprise": tree.enterprise_a.tax_code,
            "established_on": "2024-03-26",
            "founding_members": 3,
        },
        format="json",
    )
    assert outsider.status_code == 400 and "enterprise" in outsider.json()


def test_membership_returns_are_recorded_through_the_returns_action(api, tree):
    mass = MassOrganizationFactory(enterprise=tree.enterprise_a, established_on=datetime.date(2024, 1, 10))
    url = f"{API}mass-organizations/{mass.pk}/returns/"
    payload = {"date": "2024-06-30", "members_total": 40, "members_admitted": 12}
    response = api.secretary_a.post(url, payload, format="json")
    assert response.status_code == 201, response.content
    assert MembershipReturn.objects.get(mass_organization=mass, date=datetime.date(2024, 6, 30)).members_admitted == 12
    again = api.secretary_a.post(url, payload, format="json")
    assert again.status_code == 400 and "date" in again.json()
    assert api.secretary_b.post(url, payload, format="json").status_code == 404
    assert api.department.post(url, payload, format="json").status_code == 403
    listed = api.department.get(f"{API}mass-organizations/{mass.pk}/").json()
    assert [r["date"] for r in listed["returns"]] == ["2024-06-30"]


# Users and role assignments ---------------------------------------------------------------


def test_administrator_creates_a_user_grants_a_role_and_issues_a_token(api, api_as, tree):
    created = api.administrator.post(
        f"{API}users/", {"username": "new_secretary", "password": "a-long-enough-passphrase"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert "password" not in created.json()
    granted = api.administrator.post(
        f"{API}role-assignments/",
        {"user": "new_secretary", "role": RoleKey.SECRETARY, "organization": "BR-B"},
        format="json",
    )
    assert granted.status_code == 201, granted.content
    token = api.administrator.post(f"{API}users/{created.json()['id']}/token/").json()["token"]
    assert ApiToken.objects.get(digest=token_digest(token)).user.username == "new_secretary"
    client = api_as(None)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert [o["code"] for o in client.get(f"{API}organizations/").json()["results"]] == ["BR-B"]


def test_weak_passwords_and_duplicate_roles_are_refused(api, tree, secretary_a):
    weak = api.administrator.post(f"{API}users/", {"username": "weak", "password": "123"}, format="json")
    assert weak.status_code == 400 and "password" in weak.json()
    twice = api.administrator.post(
        f"{API}role-assignments/", {"user": "secretary_a", "role": "secretary", "organization": "BR-A"}, format="json"
    )
    assert twice.status_code == 400 and "role" in twice.json()
    no_org = api.administrator.post(
        f"{API}role-assignments/", {"user": "secretary_a", "role": "department"}, format="json"
    )
    assert no_org.status_code == 400 and "organization" in no_org.json()


def test_revoking_a_role_takes_the_scope_away(api, api_as, tree, secretary_a):
    assignment = RoleAssignment.objects.get(user=secretary_a)
    assert api.secretary_a.delete(f"{API}role-assignments/{assignment.pk}/").status_code == 403
    assert api.administrator.delete(f"{API}role-assignments/{assignment.pk}/").status_code == 204
    assert api_as(secretary_a).get(f"{API}organizations/").json()["results"] == []


def test_non_administrators_see_only_themselves(api, tree):
    other = UserFactory(username="someone_else")
    assert api.secretary_a.get(f"{API}users/{other.pk}/").status_code == 404
    assert api.secretary_a.patch(f"{API}users/{other.pk}/", {"is_active": False}, format="json").status_code == 404
    own = api.secretary_a.get(f"{API}users/").json()["results"]
    assert [u["username"] for u in own] == ["secretary_a"]
    assert own[0]["role_assignments"] == [
        {"id": own[0]["role_assignments"][0]["id"], "role": "secretary", "organization": "BR-A"}
    ]
