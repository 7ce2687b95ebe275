"""The calendar beside each date field (static/js/datepicker.js): it writes the chosen day as
dd/mm/yyyy, in the interface's language, and never rewrites what the user typed."""

import re

import pytest
from django.urls import reverse

from tests.e2e.conftest import open_as, page_width
from tests.scoped_views import make_member

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("language", "viewport"), [("vi", "desktop"), ("en", "phone")])
def test_the_calendar_writes_the_chosen_day_as_vietnam_writes_dates(
    live_server, new_page, screenshot, tree, secretary_a, language, viewport
):
    member = make_member(tree.branch_a, full_name="Đỗ Thị Lịch", enterprise=tree.enterprise_a)
    page = open_as(new_page, live_server, "secretary_a", language, viewport)
    page.goto(f"{live_server.url}{reverse('branches:member_transfer', args=[member.pk])}")
    field = page.locator("#id_on")
    toggle = page.locator("#field-on .date-picker-toggle")
    assert toggle.get_attribute("aria-label") == ("Mở lịch" if language == "vi" else "Open the calendar")

    field.fill("2026-12-25")  # typed in ISO: read by the server, left as typed
    toggle.click()
    calendar = page.locator(".flatpickr-calendar.open")
    calendar.wait_for()
    month = calendar.locator(".flatpickr-monthDropdown-months option:checked").inner_text()
    assert month == ("Tháng mười hai" if language == "vi" else "December")
    assert calendar.locator(".cur-year").is_visible()
    page.wait_for_timeout(400)  # the calendar fades in
    screenshot(page, f"datepicker-{language}-{viewport}")
    if viewport == "phone":
        assert page_width(page) <= 390
    calendar.locator(".flatpickr-day:not(.prevMonthDay):not(.nextMonthDay)", has_text=re.compile(r"^15$")).click()
    assert field.input_value() == "15/12/2026"
    assert not page.locator(".flatpickr-calendar.open").count()

    field.fill("3-2-2026")
    field.press("Tab")
    assert field.input_value() == "3-2-2026"
    assert page.errors == []
