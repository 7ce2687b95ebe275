"""Text as Vietnamese users read and type it (issue 16): dates in messages, search keys, sort keys."""

import unicodedata

from django.utils.formats import date_format


def display_date(value):
    """A date as the pages show it (dd/mm/yyyy), for messages; ``str(date)`` would give ISO."""
    if value is None:
        return ""
    return date_format(value, "SHORT_DATE_FORMAT")


def search_key(text):
    """``text`` as searched: no tone or vowel marks, đ as d, lower case, single spaces.

    "Nguyễn Văn Đức" → "nguyen van duc". Stored beside the name (``search_name``) and applied to
    what the user types, so "nguyen van duc", "NGUYỄN" and "Đức" all find it, on SQLite and
    PostgreSQL alike.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFD", str(text).replace("đ", "d").replace("Đ", "D"))
    text = "".join(char for char in text if not unicodedata.combining(char))
    return " ".join(text.casefold().split())


def search_words(text):
    """The words of a search (each must appear): "nguyen hang" finds "Nguyễn Thị Hằng"."""
    return search_key(text).split()

