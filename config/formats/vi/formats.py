"""Dates as Vietnam writes them (issue 16): day/month/year on the page and in every form.

Django's own Vietnamese locale has no input formats, so a form fell back to the US ones and read
"01/12/2026" as 12 January. Here day-month-year comes first; ISO 8601 stays accepted (the API, the
browser, scripts). config/formats/en/formats.py uses the same order for the English interface.
"""

DATE_FORMAT = r"\N\gà\y d \t\há\n\g n \nă\m Y"
SHORT_DATE_FORMAT = "d/m/Y"
DATETIME_FORMAT = r"H:i \N\gà\y d \t\há\n\g n \nă\m Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
TIME_FORMAT = "H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
FIRST_DAY_OF_WEEK = 1  # Monday

# The first one is also how a form field shows a date it was given.
DATE_INPUT_FORMATS = [
    "%d/%m/%Y",  # 25/10/2026
    "%d-%m-%Y",  # 25-10-2026
    "%d.%m.%Y",  # 25.10.2026
    "%Y-%m-%d",  # 2026-10-25 (ISO 8601: the API, the browser's date picker)
]
DATETIME_INPUT_FORMATS = [
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
]
TIME_INPUT_FORMATS = ["%H:%M:%S", "%H:%M:%S.%f", "%H:%M"]

DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "."
