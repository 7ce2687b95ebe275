"""``core.tables.short_date`` writes what Django's ``date_format(value, "SHORT_DATE_FORMAT")`` writes."""

import datetime

import pytest
from django.utils import translation
from django.utils.formats import date_format

from core.tables import short_date

DAYS = [
    datetime.date(1, 1, 1),
    datetime.date(5, 1, 2),
    datetime.date(999, 12, 31),
    datetime.date(1930, 2, 3),
    datetime.date(2024, 2, 29),
    datetime.date(2025, 7, 1),
    datetime.date(9999, 12, 31),
    *(datetime.date(2024, 1, 1) + datetime.timedelta(days=n) for n in range(0, 366, 7)),
]


@pytest.mark.parametrize("language", ["vi", "en"])
def test_each_day_is_written_as_djangos_formatter_writes_it(language):
    with translation.override(language):
        assert [short_date(day) for day in DAYS] == [date_format(day, "SHORT_DATE_FORMAT") for day in DAYS]
        assert short_date(datetime.date(2024, 3, 7)) == "07/03/2024"


def test_other_values_and_formats_go_to_djangos_formatter(settings):
    moment = datetime.datetime(2024, 3, 7, 23, 30)
    with translation.override("vi"):
        assert short_date(moment) == date_format(moment, "SHORT_DATE_FORMAT") == "07/03/2024"
    settings.FORMAT_MODULE_PATH = None
    settings.SHORT_DATE_FORMAT = "Y-m-d"
    with translation.override(None):
        day = datetime.date(2024, 3, 7)
        assert short_date(day) == date_format(day, "SHORT_DATE_FORMAT") == "2024-03-07"
