"""Dates: today's local date (fixed for a bulk check) and calendar arithmetic across 29 February."""

import contextvars
from contextlib import contextmanager

from django.utils import timezone

_fixed_today = contextvars.ContextVar("fixed_today", default=None)


def today():
    """The local date (fixed for the length of a :func:`same_day` block)."""
    fixed = _fixed_today.get()
    return fixed if fixed is not None else timezone.localdate()


@contextmanager
def fixed_today(day):
    """Check against ``day`` as if it were today (tests, and commands that look at a given date)."""
    token = _fixed_today.set(day)
    try:
        yield
    finally:
        _fixed_today.reset(token)


@contextmanager
def same_day():
    """Check many rows against one date: bulk imports apply the rules per row without re-reading the clock."""
    token = _fixed_today.set(timezone.localdate())
    try:
        yield
    finally:
        _fixed_today.reset(token)


def add_years(day, years):
    """The same day ``years`` years later (earlier when negative); 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def age_on(birth, on):
    """Whole years from ``birth`` to ``on``."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def add_months(day, months):
    """The same day ``months`` later (earlier when negative); the month's last day when it has no such
    day (31 January + 1 month → 28 or 29 February; 29 February + 12 months → 28 February)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)
