"""The member movement page: linked from the dashboard, scoped, downloadable, never a 500."""

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from tests.reports import test_statistics_movement

pytestmark = pytest.mark.django_db

MOVEMENT = reverse("reports:movement")
moves = test_statistics_movement.moves  # the fixture


def test_dashboard_links_to_the_movement_page(client, department, moves):
    client.force_login(department)
    page = client.get(reverse("reports:dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="movement-link"' in page and MOVEMENT in page


def test_department_sees_the_movement_of_its_committee(client, department, moves):
    client.force_login(department)
    response = client.get(MOVEMENT, {"year": 2024}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    report = response.context["report"]
    assert report.organization.code == "DIST" and (report.total.at_start, report.total.at_end) == (8, 6)
    body = response.content.decode()
    assert "1-BTCTW" in body and "BR-A" in body and "2-HSĐV" in body


def test_half_year_and_range(client, department, moves):
    client.force_login(department)
    response = client.get(MOVEMENT, {"year": 2024, "half": 2})
    assert response.context["report"].start.isoformat() == "2024-07-01"
    response = client.get(MOVEMENT, {"start": "2024-03-01", "end": "2024-03-31"})
    assert response.context["report"].end.isoformat() == "2024-03-31"
    # Typed as Vietnam writes dates, and shown back that way (not the browser's own date picker).
    response = client.get(MOVEMENT, {"start": "01/03/2024", "end": "31/03/2024"})
    assert response.context["report"].start.isoformat() == "2024-03-01"
    page = response.content.decode()
    assert 'value="01/03/2024"' in page and 'value="31/03/2024"' in page and 'type="date"' not in page


def test_downloads(client, department, moves, tmp_path):
    client.force_login(department)
    xlsx = client.get(MOVEMENT, {"year": 2024, "format": "xlsx"})
    assert xlsx.status_code == 200 and "movement-DIST-20240101-20241231.xlsx" in xlsx["Content-Disposition"]
    path = tmp_path / "m.xlsx"
    path.write_bytes(xlsx.content)
    assert load_workbook(path).active["A1"].value
    csv = client.get(MOVEMENT, {"year": 2024, "format": "csv"})
    assert csv.status_code == 200 and b"DIST" in csv.content


@pytest.mark.parametrize(
    "params",
    [
        {"start": "2024-05-01"},
        {"start": "2024-05-01", "end": "2024-01-01"},
        {"year": "abc"},
        {"half": "7"},
        {"start": "0001-01-01", "end": "9999-12-31"},
        {"organization": "x\x00"},
    ],
)
def test_bad_input_is_shown_not_a_500(client, department, moves, params):
    client.force_login(department)
    assert client.get(MOVEMENT, params).status_code in (200, 404)
    assert client.get(MOVEMENT, {**params, "format": "xlsx"}).status_code in (400, 404)


def test_other_committees_are_not_readable(client, department, secretary_a, moves):
    client.force_login(department)
    assert client.get(MOVEMENT, {"organization": "CITY"}).status_code in (403, 404)
    client.force_login(secretary_a)
    response = client.get(MOVEMENT, {"year": 2024})
    assert response.status_code == 200 and response.context["report"].organization.code == "BR-A"
    assert client.get(MOVEMENT, {"organization": "BR-B"}).status_code in (403, 404)
