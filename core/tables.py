"""Table plumbing shared by every list: attributes and columns that render without a template per cell."""

import datetime

import django_tables2 as tables
from django.utils.formats import date_format, get_format

from core.templatetags.party_ui import group_digits

#: ``card-rows``: on a phone each row is a card (static/css/app.css).
TABLE_ATTRS = {"class": "table table-sm table-hover align-middle card-rows"}
NOWRAP = {"td": {"class": "text-nowrap"}}


class ShortDateColumn(tables.DateColumn):
    """``DateColumn(short=True)`` without rendering a template per cell: the same text, a fraction of the time."""

    empty_values = (None, "")  # rendered as the column's default, as the template column does

    def __init__(self, *args, **kwargs):
        kwargs.pop("short", None)
        super().__init__(*args, short=True, **kwargs)

    def render(self, value):
        return short_date(value)


def short_date(value):
    """``date_format(value, "SHORT_DATE_FORMAT")``, written directly for the format both languages
    use (``d/m/Y``): Django's formatter costs about ten times as much, on every date cell of a list."""
    if type(value) is datetime.date and get_format("SHORT_DATE_FORMAT") == "d/m/Y":
        return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"
    return date_format(value, "SHORT_DATE_FORMAT")


class CountColumn(tables.Column):
    """A right-aligned count with the active locale's digit grouping (1,234 / 1.234)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("attrs", {"td": {"class": "text-end"}, "th": {"class": "text-end"}})
        super().__init__(*args, **kwargs)

    def render(self, value):
        return group_digits(value)
