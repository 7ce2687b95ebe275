"""Working days in Vietnam (core.workdays): public holidays, the administrator's exceptions."""

import datetime

import pytest

from core.models import CalendarDay, CalendarDayKind
from core.workdays import add_working_days, forget_calendar, is_working_day, working_days_between

D = datetime.date

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_calendar():
    forget_calendar()
    yield
    forget_calendar()


def test_weekends_are_not_working_days():
    assert is_working_day(D(2026, 12, 4))  # Friday
    assert not is_working_day(D(2026, 12, 5))
    assert not is_working_day(D(2026, 12, 6))
    assert add_working_days(D(2026, 12, 4), 1) == D(2026, 12, 7)


def test_zero_working_days_is_the_start():
    assert add_working_days(D(2026, 12, 5), 0) == D(2026, 12, 5)


def test_thirty_working_days_across_tet_2025():
    # Tết At Ty: Monday 27 January to Saturday 1 February 2025 off (five weekdays).
    for day in range(27, 32):
        assert not is_working_day(D(2025, 1, day))
    # From Friday 17 January: 5 working days left in January before Tết (20–24), then February.
    # 30 working days without Tết would end on Friday 28 February; Tết pushes it 5 working days on.
    assert add_working_days(D(2025, 1, 17), 30) == D(2025, 3, 7)
    assert working_days_between(D(2025, 1, 17), D(2025, 3, 7)) == 30
    assert working_days_between(D(2025, 3, 7), D(2025, 1, 17)) == -30


def test_thirty_working_days_across_30_april_and_1_may_2025():
    # 30 April (Wednesday), 1 May (Thursday) and 2 May (Friday, swapped with Saturday 26 April).
    assert not is_working_day(D(2025, 4, 30))
    assert not is_working_day(D(2025, 5, 1))
    assert not is_working_day(D(2025, 5, 2))
    assert is_working_day(D(2025, 4, 26))  # the Saturday worked in exchange
    assert add_working_days(D(2025, 4, 25), 1) == D(2025, 4, 26)
    assert add_working_days(D(2025, 4, 29), 1) == D(2025, 5, 5)
    # Hùng Kings' day, Monday 7 April, is off as well.
    assert add_working_days(D(2025, 4, 4), 1) == D(2025, 4, 8)


def test_administrator_decided_day_off_and_compensatory_working_day():
    start = D(2027, 6, 4)  # a Friday with no holiday around it
    assert add_working_days(start, 5) == D(2027, 6, 11)
    CalendarDay.objects.create(date=D(2027, 6, 7), kind=CalendarDayKind.DAY_OFF, description="decided day off")
    assert not is_working_day(D(2027, 6, 7))
    assert add_working_days(start, 5) == D(2027, 6, 14)
    CalendarDay.objects.create(date=D(2027, 6, 12), kind=CalendarDayKind.WORKING_DAY, description="worked Saturday")
    assert is_working_day(D(2027, 6, 12))
    assert add_working_days(start, 5) == D(2027, 6, 12)
    CalendarDay.objects.get(date=D(2027, 6, 7)).delete()
    assert add_working_days(start, 5) == D(2027, 6, 11)


def test_an_exception_overrides_the_public_holiday_calendar():
    CalendarDay.objects.create(date=D(2025, 5, 2), kind=CalendarDayKind.WORKING_DAY)
    assert is_working_day(D(2025, 5, 2))


def test_administrator_manages_calendar_days_in_the_admin(client, administrator):
    client.force_login(administrator)
    response = client.post(
        "/admin/core/calendarday/add/",
        {"date": "2027-02-05", "kind": CalendarDayKind.DAY_OFF, "description": "Tết"},
    )
    assert response.status_code == 302, response.content[:500]
    assert not is_working_day(D(2027, 2, 5))


def test_a_calendar_answers_the_same_when_asked_again():
    """The calendar keeps its answers; asked twice, or after another question, they do not change."""
    from core.workdays import WorkingCalendar

    kept, fresh = WorkingCalendar(), WorkingCalendar
    start = datetime.date(2025, 1, 20)  # the week before Tết 2025
    for count in (30, -30, 5, 30):
        assert kept.add_working_days(start, count) == fresh().add_working_days(start, count)
    end = kept.add_working_days(start, 30)
    assert kept.working_days_between(start, end) == 30 == kept.working_days_between(start, end)
    assert kept.working_days_between(end, start) == -30
