"""The statutory forms (member movement, 1-BTCTW; new admissions, 3-BTCTW) in a real browser, as
department staff open them from the dashboard: in Vietnamese and in English, on a desktop and on a
phone, the table balances on the page, nothing scrolls sideways, and no script fails."""

import pytest
from django.urls import reverse

from reports.statistics import MOVEMENT_COLUMNS
from tests.e2e.conftest import LANGUAGES, VIEWPORTS, open_as, page_width
from tests.reports.test_statistics_movement import moves  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("language", LANGUAGES)
def test_department_opens_the_statutory_forms(live_server, new_page, screenshot, department, moves, language, viewport):  # noqa: F811
    page = open_as(new_page, live_server, "department", language, viewport)
    page.goto(f"{live_server.url}{reverse('reports:dashboard')}")
    with page.expect_navigation():
        page.click("#movement-link")
    page.goto(f"{live_server.url}{reverse('reports:movement')}?year=2024")
    body = page.locator("main#content").inner_text()
    assert "1-BTCTW" in body and "BR-A" in body
    # The committee's total row: 8 members at the start of 2024, 6 at its end.
    cells = page.locator("#movement-table tr.fw-bold td.text-end").all_inner_texts()
    columns = [*MOVEMENT_COLUMNS, "change_percent"]
    assert len(cells) == len(columns)
    assert (cells[columns.index("at_start")].strip(), cells[columns.index("at_end")].strip()) == ("8", "6")
    assert page_width(page) <= VIEWPORTS[viewport][0]
    screenshot(page, f"statistics-{language}-{viewport}-movement")

    page.goto(f"{live_server.url}{reverse('reports:admissions')}?year=2024")
    body = page.locator("main#content").inner_text()
    assert "3-BTCTW" in body
    assert page_width(page) <= VIEWPORTS[viewport][0]
    screenshot(page, f"statistics-{language}-{viewport}-admissions")
    assert page.errors == []
