"""The API requires the version on every change of a versioned record, and a PATCH that changes
nothing writes nothing (issue 17, finding 11)."""

import datetime

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from security.access import issue_token
from tests.factories import MemberFactory, ProspectFactory

API = "/api/v1/"
REQUIRED = "Send the version of the record you read (its “version”), so that no one else's change is overwritten."


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def plain(secretary_a):
    """A client that sends exactly what the test gives it."""
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(secretary_a, second_factor=False)[1]}")
    return client


@pytest.fixture
def member(tree):
    return MemberFactory(organization=tree.branch_a, admitted_on=datetime.date(2020, 3, 1), official_on=None)


@pytest.mark.parametrize(
    ("endpoint", "record", "payload"),
    [
        ("members", lambda t, m: m, {"full_name": "Tên mới"}),
        ("prospects", lambda t, m: ProspectFactory(organization=t.branch_a), {"full_name": "Tên mới"}),
        ("enterprises", lambda t, m: t.enterprise_a, {"name": "Công ty mới"}),
    ],
)
def test_a_patch_without_the_version_is_refused_and_changes_nothing(plain, tree, member, endpoint, record, payload):
    obj = record(tree, member)
    response = plain.patch(f"{API}{endpoint}/{obj.pk}/", payload, format="json")
    assert response.status_code == 400
    assert response.json() == {"version": [REQUIRED]}
    fresh = type(obj).objects.get(pk=obj.pk)
    assert fresh.version == obj.version
    field, value = next(iter(payload.items()))
    assert getattr(fresh, field) != value


def test_a_lifecycle_action_without_the_version_is_refused(plain, member):
    response = plain.post(f"{API}members/{member.pk}/recognize/", {"official_on": "2024-03-01"}, format="json")
    assert response.status_code == 400 and response.json() == {"version": [REQUIRED]}
    member.refresh_from_db()
    assert member.official_on is None
    accepted = plain.post(
        f"{API}members/{member.pk}/recognize/", {"official_on": "2024-03-01", "version": member.version}, format="json"
    )
    assert accepted.status_code == 200


def test_creating_needs_no_version(plain, tree):
    response = plain.post(
        f"{API}prospects/",
        {
            "organization": "BR-A",
            "full_name": "Lê Văn Mới",
            "sex": "male",
            "date_of_birth": "1995-01-01",
            "identified_on": "2024-01-02",
        },
        format="json",
    )
    assert response.status_code == 201, response.content


def test_a_patch_that_changes_nothing_writes_nothing(plain, member):
    history = member.history.count()
    url = f"{API}members/{member.pk}/"
    read = plain.get(url).json()
    for payload in (
        {"full_name": member.full_name, "version": member.version},  # the same value
        {"status": "left", "id": 12345, "version": member.version},  # read-only fields only
        {"version": member.version},
    ):
        response = plain.patch(url, payload, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["version"] == read["version"]
    member.refresh_from_db()
    assert member.version == read["version"] and member.status == "active"
    assert member.history.count() == history


def test_a_patch_that_changes_something_still_raises_the_version_once(plain, member):
    response = plain.patch(
        f"{API}members/{member.pk}/",
        {"full_name": "Tên mới", "status": "left", "version": member.version},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["version"] == member.version + 1
