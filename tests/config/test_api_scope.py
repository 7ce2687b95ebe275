"""Every API resource with the four personas: what each lists and retrieves, and who may change it.

``secretary_a`` keeps branch A, ``secretary_b`` (the outsider) branch B, ``department`` reads the
committee above both, ``administrator`` sees everything. One record per side of the tree; each
test asserts the list contents, retrieve 200/404 and a write 200/403/404 for every persona.
"""

import datetime
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from branches.choices import OrganizationKind
from reports.metrics import Metric
from tests.api_conftest import *  # noqa: F403
from tests.api_conftest import API, PERSONAS
from tests.factories import (
    MassOrganizationFactory,
    MemberFactory,
    MembershipReturnFactory,
    OrganizationFactory,
    ProspectFactory,
    TargetFactory,
)


@pytest.fixture
def records(tree):
    sub = OrganizationFactory(code="SUB", name="Đảng ủy cụm", locality=tree.province, parent=tree.committee)
    mass_a = MassOrganizationFactory(enterprise=tree.enterprise_a)
    mass_b = MassOrganizationFactory(enterprise=tree.enterprise_b)
    MembershipReturnFactory(mass_organization=mass_a)
    MembershipReturnFactory(mass_organization=mass_b)
    return SimpleNamespace(
        sub=sub,
        member_a=MemberFactory(organization=tree.branch_a, enterprise=tree.enterprise_a),
        member_b=MemberFactory(organization=tree.branch_b, enterprise=tree.enterprise_b),
        prospect_a=ProspectFactory(organization=tree.branch_a, ready=True),
        prospect_b=ProspectFactory(organization=tree.branch_b),
        mass_a=mass_a,
        mass_b=mass_b,
        target_dist=TargetFactory(committee=tree.committee, metric=Metric.MEMBERS_ADMITTED, value=25),
        target_sub=TargetFactory(committee=sub, metric=Metric.MEMBERS_ADMITTED, value=10),
    )


def visible(*names):
    return {name: name in names for name in PERSONAS}


EVERYONE = PERSONAS
A_SIDE = ("secretary_a", "department", "administrator")
B_SIDE = ("secretary_b", "department", "administrator")
ABOVE = ("department", "administrator")

#: (endpoint, record, personas who see it)
VISIBILITY = [
    ("organizations", lambda t, r: t.branch_a, A_SIDE),
    ("organizations", lambda t, r: t.branch_b, B_SIDE),
    ("organizations", lambda t, r: t.committee, ABOVE),
    ("organizations", lambda t, r: t.city, ("administrator",)),
    ("localities", lambda t, r: t.commune, EVERYONE),
    ("enterprises", lambda t, r: t.enterprise_a, A_SIDE),
    ("enterprises", lambda t, r: t.enterprise_b, B_SIDE),
    ("members", lambda t, r: r.member_a, A_SIDE),
    ("members", lambda t, r: r.member_b, B_SIDE),
    ("prospects", lambda t, r: r.prospect_a, A_SIDE),
    ("prospects", lambda t, r: r.prospect_b, B_SIDE),
    ("mass-organizations", lambda t, r: r.mass_a, A_SIDE),
    ("mass-organizations", lambda t, r: r.mass_b, B_SIDE),
    ("targets", lambda t, r: r.target_dist, ABOVE),
    ("targets", lambda t, r: r.target_sub, ABOVE),
]


def _ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(("endpoint", "record", "who"), VISIBILITY, ids=lambda v: v if isinstance(v, str) else "")
def test_each_persona_lists_and_retrieves_only_records_in_scope(api, tree, records, persona, endpoint, record, who):
    obj = record(tree, records)
    client = getattr(api, persona)
    listed = obj.pk in _ids(client.get(f"{API}{endpoint}/", {"page_size": 500}))
    retrieved = client.get(f"{API}{endpoint}/{obj.pk}/")
    assert listed == (persona in who)
    assert retrieved.status_code == (200 if persona in who else 404)


#: (endpoint, record, payload, status per persona)
WRITES = [
    (
        "members",
        lambda t, r: r.member_a,
        {"party_card_number": "NEW-0001"},
        {"secretary_a": 200, "secretary_b": 404, "department": 403, "administrator": 200},
    ),
    (
        "prospects",
        lambda t, r: r.prospect_a,
        {"notes": "Gặp gỡ lần hai"},
        {"secretary_a": 200, "secretary_b": 404, "department": 403, "administrator": 200},
    ),
    (
        "enterprises",
        lambda t, r: t.enterprise_a,
        {"employees": 120},
        {"secretary_a": 200, "secretary_b": 404, "department": 403, "administrator": 200},
    ),
    (
        "mass-organizations",
        lambda t, r: r.mass_a,
        {"name": "Công đoàn cơ sở An Phát"},
        {"secretary_a": 200, "secretary_b": 404, "department": 403, "administrator": 200},
    ),
    (
        # Only administrators change the organisation tree; the secretary of A reads branch A.
        "organizations",
        lambda t, r: t.branch_a,
        {"name": "Chi bộ An Phát (mới)"},
        {"secretary_a": 403, "secretary_b": 404, "department": 403, "administrator": 200},
    ),
    (
        "localities",
        lambda t, r: t.commune,
        {"name": "Phường Nghĩa Đô"},
        {"secretary_a": 403, "secretary_b": 403, "department": 403, "administrator": 200},
    ),
    (
        # Department staff set the targets of the committees directly below their own.
        "targets",
        lambda t, r: r.target_sub,
        {"value": 12},
        {"secretary_a": 404, "secretary_b": 404, "department": 200, "administrator": 200},
    ),
    (
        "targets",
        lambda t, r: r.target_dist,
        {"value": 30},
        {"secretary_a": 404, "secretary_b": 404, "department": 403, "administrator": 200},
    ),
]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("endpoint", "record", "payload", "expected"), WRITES, ids=[f"{w[0]}-{i}" for i, w in enumerate(WRITES)]
)
def test_each_persona_changes_only_what_its_role_allows(
    api, tree, records, persona, endpoint, record, payload, expected
):
    obj = record(tree, records)
    before = type(obj).objects.get(pk=obj.pk)
    response = getattr(api, persona).patch(f"{API}{endpoint}/{obj.pk}/", payload, format="json")
    assert response.status_code == expected[persona], response.content
    after = type(obj).objects.get(pk=obj.pk)
    field, value = next(iter(payload.items()))
    if response.status_code == 200:
        assert getattr(after, field) == value
        assert response.json()[field] == value
    else:
        assert getattr(after, field) == getattr(before, field)


def test_department_staff_cannot_create_anything(api, tree, records):
    payloads = {
        "members/": {"organization": "BR-A"},
        "prospects/": {"organization": "BR-A"},
        "enterprises/": {"name": "X"},
        "mass-organizations/": {"name": "X"},
        "organizations/": {"code": "X"},
        "localities/": {"code": "X"},
        "users/": {"username": "x"},
        "role-assignments/": {"user": "department", "role": "administrator"},
    }
    for endpoint, payload in payloads.items():
        response = api.department.post(f"{API}{endpoint}", payload, format="json")
        assert response.status_code == 403, endpoint
        assert response.json()["detail"]


def test_anonymous_and_bad_tokens_are_refused(api_as, tree):
    response = api_as(None).get(f"{API}members/")
    assert response.status_code == 403
    client = api_as(None)
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get(f"{API}members/").status_code == 403


def test_token_authenticates_the_user_it_belongs_to(api_as, secretary_a, tree):
    response = api_as(secretary_a).get(f"{API}users/")
    assert [row["username"] for row in response.json()["results"]] == ["secretary_a"]


def test_token_is_obtained_with_username_and_password(api_as, secretary_a):
    response = api_as(None).post(
        f"{API}auth/token/", {"username": "secretary_a", "password": "correct-horse-battery"}, format="json"
    )
    assert response.status_code == 200
    client = api_as(None)
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get(f"{API}organizations/").json()["results"][0]["code"] == "BR-A"


def test_lookup_by_code_and_tax_code_respects_scope(api, tree):
    assert api.secretary_a.get(f"{API}organizations/by-code/BR-A/").json()["id"] == tree.branch_a.pk
    assert api.secretary_a.get(f"{API}organizations/by-code/BR-B/").status_code == 404
    assert api.secretary_a.get(f"{API}organizations/by-code/NO-SUCH/").status_code == 404
    url = f"{API}enterprises/by-tax-code/{tree.enterprise_a.tax_code}/"
    assert api.secretary_a.get(url).json()["name"] == tree.enterprise_a.name
    assert api.secretary_b.get(url).status_code == 404


def test_not_found_does_not_tell_whether_the_record_exists(api, tree, records):
    outside = api.secretary_b.get(f"{API}members/{records.member_a.pk}/")
    missing = api.secretary_b.get(f"{API}members/999999/")
    assert outside.status_code == missing.status_code == 404
    assert outside.json() == missing.json()


def test_lists_are_paginated_in_a_stable_order(api, tree):
    for _index in range(7):
        MemberFactory(organization=tree.branch_a, full_name="Nguyễn Văn A")
    first = api.department.get(f"{API}members/", {"page_size": 3})
    assert first.status_code == 200
    pages, url = [], f"{API}members/?page_size=3"
    while url:
        body = api.department.get(url).json()
        pages.extend(row["id"] for row in body["results"])
        url = body["next"]
    assert pages == sorted(pages)  # same name: ordered by id, each row once
    assert len(pages) == len(set(pages)) == 7


def test_filters_are_the_pages_filtersets(api, tree, records):
    MemberFactory(organization=tree.branch_a, is_business_owner=True, admitted_on=datetime.date(2024, 5, 1))
    ids = _ids(api.department.get(f"{API}members/", {"is_business_owner": "true"}))
    assert len(ids) == 1
    within_a = _ids(api.department.get(f"{API}members/", {"organization": tree.branch_a.pk}))
    assert records.member_a.pk in within_a and records.member_b.pk not in within_a
    # An organisation outside the scope is not a valid choice of the filter.
    refused = api.secretary_b.get(f"{API}members/", {"organization": tree.branch_a.pk})
    assert refused.status_code == 400
    kinds = {
        row["kind"] for row in api.administrator.get(f"{API}organizations/", {"kind": "committee"}).json()["results"]
    }
    assert kinds == {OrganizationKind.COMMITTEE}


def test_list_queries_stay_constant_as_rows_grow(api, tree):
    def count_queries(rows):
        for _index in range(rows):
            MemberFactory(organization=tree.branch_a, enterprise=tree.enterprise_a)
        with CaptureQueriesContext(connection) as captured:
            assert api.department.get(f"{API}members/").status_code == 200
        return len(captured)

    assert count_queries(2) == count_queries(20)


SECRETARY_A_WRITES = {"secretary_a": 200, "secretary_b": 404, "department": 403, "administrator": 200}
ADMINISTRATORS_ONLY = {"secretary_a": 403, "secretary_b": 404, "department": 403, "administrator": 200}

#: (action URL, payload, status per persona): every lifecycle action of the API.
ACTIONS = [
    (lambda t, r: f"members/{r.member_a.pk}/recognize/", {"official_on": "2021-03-01"}, SECRETARY_A_WRITES),
    (
        lambda t, r: f"members/{r.member_a.pk}/transfer/",
        {"on": "2024-06-01", "to_organization": None},
        SECRETARY_A_WRITES,
    ),
    (lambda t, r: f"members/{r.member_a.pk}/leave/", {"on": "2024-06-01", "reason": "died"}, SECRETARY_A_WRITES),
    (
        lambda t, r: f"prospects/{r.prospect_a.pk}/admit/",
        {"admitted_on": "2024-05-01"},
        {**SECRETARY_A_WRITES, "secretary_a": 201, "administrator": 201},
    ),
    (lambda t, r: f"prospects/{r.prospect_a.pk}/withdraw/", {"on": "2024-05-01"}, SECRETARY_A_WRITES),
    (
        lambda t, r: f"mass-organizations/{r.mass_a.pk}/returns/",
        {"date": "2024-06-30", "members_total": 40, "members_admitted": 5},
        {**SECRETARY_A_WRITES, "secretary_a": 201, "administrator": 201},
    ),
    (lambda t, r: f"mass-organizations/{r.mass_a.pk}/dissolve/", {"on": "2024-06-30"}, SECRETARY_A_WRITES),
    (
        lambda t, r: f"organizations/{t.branch_a.pk}/dissolve/",
        {"on": "2024-06-30", "destination": None},
        ADMINISTRATORS_ONLY,
    ),
    (lambda t, r: f"organizations/{t.branch_a.pk}/move/", {"parent": "SUB"}, ADMINISTRATORS_ONLY),
    (
        lambda t, r: f"localities/{t.commune.pk}/move/",
        {"parent": "01"},
        {"secretary_a": 403, "secretary_b": 403, "department": 403, "administrator": 200},
    ),
    (
        lambda t, r: f"users/{r.secretary_a_user.pk}/token/",
        {},
        {"secretary_a": 403, "secretary_b": 404, "department": 404, "administrator": 200},
    ),
]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(("url", "payload", "expected"), ACTIONS, ids=[f"action-{i}" for i in range(len(ACTIONS))])
def test_each_persona_runs_only_the_lifecycle_actions_its_role_allows(
    api, tree, records, personas, persona, url, payload, expected
):
    records.secretary_a_user = personas.secretary_a
    path = url(tree, records)
    response = getattr(api, persona).post(f"{API}{path}", payload, format="json")
    assert response.status_code == expected[persona], (path, response.content)
    if response.status_code >= 400:
        assert set(response.json()) == {"detail"}  # refused before the payload was read: no field errors
