"""List pages read the columns their table shows (``ObjectListView.only``), not every field of
their rows and of the rows joined to them, and still show every value."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path, table, unshown",
    [
        (
            "/members/",
            "branches_member",
            ['"branches_member"."date_of_birth"', '"branches_organization"."locality_id"'],
        ),
        ("/enterprises/", "enterprises_enterprise", ['"enterprises_enterprise"."recorded_by_id"']),
        ("/organizations/", "branches_organization", ['"branches_organization"."locality_id"']),
    ],
)
def test_a_list_page_reads_the_columns_it_shows(client, department, tree, path, table, unshown):
    for number in range(3):
        MemberFactory(organization=tree.branch_a, full_name=f"Nguyễn Văn {number}")
    client.force_login(department)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    rows = [
        q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"]
    ]
    assert rows
    selected = rows[-1].split(" FROM ")[0]  # the columns read, not the scope's filter
    assert f'"{table}"."id"' in selected
    for column in unshown:
        assert column not in selected


def test_the_member_list_shows_every_value_of_its_rows(client, department, tree):
    MemberFactory(
        organization=tree.branch_a,
        enterprise=tree.enterprise_a,
        full_name="Trần Thị Hằng",
        party_card_number="PC-77",
        citizen_id="001190123456",
        admitted_on=datetime.date(2020, 3, 1),
        official_on=datetime.date(2021, 3, 1),
        is_business_owner=True,
    )
    client.force_login(department)
    html = client.get("/members/").content.decode()
    for shown in (
        "Trần Thị Hằng",
        "PC-77",
        "••••••••3456",
        "Chi bộ Công ty An Phát (BR-A)",
        "Công ty Cổ phần An Phát",
        "01/03/2020",
        "01/03/2021",
    ):
        assert shown in html
