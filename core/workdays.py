"""Working days in Vietnam: the calendar every lifecycle deadline is counted in.

A working day is Monday to Friday except the public holidays of Bộ luật Lao động 2019, Điều 112
(New Year, Tết with its adjacent days, Hùng Kings' day, 30 April, 1 May, 2 September and the day
next to it) and the days off they move; Saturdays the government declares worked in exchange are
working days. The statutory days come from the ``holidays`` package (its Vietnam calendar, with
the swaps it knows); the administrator adds the days off and the compensatory working days the
government decides each year (:class:`core.models.CalendarDay`), which override the package.

The Party's rules count their deadlines in working days: "30 ngày làm việc" for the admission
ceremony after the decision and for presenting a transfer letter (Quy định 294-QĐ/TW; Hướng dẫn
06-HD/TW).
"""

import datetime

import holidays
from django.core.cache import cache

from core.models import CALENDAR_DAYS_CACHE_KEY, CalendarDay, CalendarDayKind, forget_calendar_days

ONE_DAY = datetime.timedelta(days=1)
_CACHE_KEY = CALENDAR_DAYS_CACHE_KEY


class WorkingCalendar:
    """Vietnam's working days with the administrator's exceptions (``{date: kind}``)."""

    def __init__(self, exceptions=None):
        self.exceptions = dict(exceptions or {})
        self._public = holidays.country_holidays("VN")
        # Answers kept for the life of this calendar (its exceptions are fixed): the deadlines of a
        # province count from the same few thousand days hundreds of thousands of times.
        self._working = {}
        self._added = {}
        self._between = {}

    def is_working_day(self, day):
        working = self._working.get(day)
        if working is None:
            working = self._working[day] = self._is_working_day(day)
        return working

    def _is_working_day(self, day):
        kind = self.exceptions.get(day)
        if kind == CalendarDayKind.DAY_OFF:
            return False
        if kind == CalendarDayKind.WORKING_DAY:
            return True
        if day in self._public:
            return False
        if day in self._public.weekend_workdays:
            return True
        return day.weekday() < 5

    def add_working_days(self, start, count):
        """The day ``count`` working days after ``start`` (before it when ``count`` is negative).

        ``start`` itself is not counted: ``add_working_days(decision, 30)`` is the last day of a
        "within 30 working days" deadline. ``count=0`` gives ``start``.
        """
        key = (start, count)
        day = self._added.get(key)
        if day is None:
            step = ONE_DAY if count >= 0 else -ONE_DAY
            day, left = start, abs(count)
            while left:
                day += step
                if self.is_working_day(day):
                    left -= 1
            self._added[key] = day
        return day

    def working_days_between(self, start, end):
        """Working days after ``start`` up to and including ``end`` (negative when ``end`` is earlier)."""
        if end < start:
            return -self.working_days_between(end, start)
        key = (start, end)
        days = self._between.get(key)
        if days is None:
            days, day = 0, start
            while day < end:
                day += ONE_DAY
                if self.is_working_day(day):
                    days += 1
            self._between[key] = days
        return days


def calendar():
    """The calendar with the current exceptions (cached; :func:`forget_calendar` after a change)."""
    exceptions = cache.get(_CACHE_KEY)
    if exceptions is None:
        exceptions = dict(CalendarDay.objects.values_list("date", "kind"))
        cache.set(_CACHE_KEY, exceptions, 3600)
    return WorkingCalendar(exceptions)


def forget_calendar():
    forget_calendar_days()


def is_working_day(day):
    return calendar().is_working_day(day)


def add_working_days(start, count):
    """See :meth:`WorkingCalendar.add_working_days`."""
    return calendar().add_working_days(start, count)


def working_days_between(start, end):
    """See :meth:`WorkingCalendar.working_days_between`."""
    return calendar().working_days_between(start, end)
