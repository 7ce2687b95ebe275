"""Change sets paginate in the database at any size (issue 17, finding 9), and odd parameters give no 500."""

import pytest
from django.urls import reverse
from django.utils import translation

from dataio import views as dataio_views
from dataio.imports import import_members
from tests.dataio.test_io_members_import import csv_bytes, member_row


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def imported(client, tree, secretary_a, department, monkeypatch):
    monkeypatch.setattr(dataio_views, "RECORDS_PER_PAGE", 2)
    import_members(
        csv_bytes([member_row(i) for i in range(1, 46)]),  # 45 members + 45 periods: 45 pages
        organization=tree.branch_a,
        acting_user=secretary_a,
        filename="big.csv",
    )
    client.force_login(department)
    sets = client.get(reverse("io:changes")).context["page"]
    return next(s for s in sets if s["reason"] == "import big.csv")["url"]


def test_every_row_of_a_change_set_is_on_exactly_one_page(client, imported):
    first = client.get(imported)
    assert first.context["total"] == 90
    assert first.context["page"].paginator.num_pages == 45
    seen = []
    for number in range(1, 46):
        entries = client.get(imported + f"&page={number}").context["entries"]
        assert len(entries) == 2
        seen.extend((entry["label"], entry["url"]) for entry in entries)
    assert len(set(seen)) == 90  # the members, then their periods: nothing twice, nothing left out


def test_pages_cost_the_same_queries_wherever_they_are(client, imported, django_assert_max_num_queries):
    with django_assert_max_num_queries(40) as first:
        client.get(imported + "&page=1")
    with django_assert_max_num_queries(len(first)):
        client.get(imported + "&page=40")


def test_odd_parameters_are_no_error(client, imported):
    for extra in ("&page=99999999999999999999999", "&page=%00", "&user=%C2%B2", "&user=99999999999999999999999"):
        assert client.get(imported + extra).status_code in (200, 404), extra
    assert client.get(reverse("io:changeset"), {"date": "2024-13-45T00:00:00"}).status_code == 404
    assert client.get(reverse("io:changeset"), {"date": "2024-01-01T00:00:00", "reason": "\x00"}).status_code == 404
    for name in ("reason", "username", "user", "days"):
        assert client.get(reverse("io:changes"), {name: "\x00"}).status_code == 200, name
        assert client.get(reverse("io:changes"), {name: "99999999999999999999999"}).status_code == 200, name
