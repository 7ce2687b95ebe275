"""Text as Vietnamese users read and type it (issue 16): dates in messages, search keys, sort keys."""

from django.utils.formats import date_format


def display_date(value):
    """A date as the pages show it (dd/mm/yyyy), for messages; ``str(date)`` would give ISO."""
    if value is None:
        return ""
    return date_format(value, "SHORT_DATE_FORMAT")
