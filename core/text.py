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


# Vietnamese collation --------------------------------------------------------------------------
# The alphabet a ă â b c d đ e ê … o ô ơ … u ư … y (with f, j, w, z of foreign names in their
# Latin places), digits before letters; the tones compared only when the letters are equal, in the
# dictionary order: none, huyền (`), hỏi (?), ngã (~), sắc (´), nặng (.): ICU's "vi" collation.
VIETNAMESE_ALPHABET = "0123456789aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_LETTER_RANK = {letter: rank for rank, letter in enumerate(VIETNAMESE_ALPHABET, start=2)}
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}  # ` ? ~ ´ .
_LETTER_MARKS = {"\u0306", "\u0302", "\u031b"}  # breve (ă), circumflex (â ê ô), horn (ơ ư): part of the letter
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _token(rank):
    """Two characters from 0-9a-z: they compare the same way in every database collation (C,
    en_US.UTF-8, SQLite's BINARY), where spaces and punctuation would not."""
    return _DIGITS[rank // 36] + _DIGITS[rank % 36]


def sort_key(text):
    """A key that sorts Vietnamese names as a Vietnamese reader expects, by plain comparison.

    "Hà" before "Hoàng", "Đ…" after "D…" and before "E…", "Ă"/"Â" after "A", tones only when the
    letters are equal. Stored beside the name (``sort_name``) and used for ordering on SQLite and
    PostgreSQL alike. Three levels, like ICU: letters, then tones, then case (lower first).
    """
    if not text:
        return ""
    letters, tones, cases = [], [], []
    space = False
    for char in unicodedata.normalize("NFC", str(text)):
        decomposed = unicodedata.normalize("NFD", char)
        base, marks = decomposed[0], decomposed[1:]
        tone = 0
        kept = ""
        for mark in marks:
            if mark in _TONES:
                tone = _TONES[mark]
            elif mark in _LETTER_MARKS:
                kept += mark
        lower = unicodedata.normalize("NFC", (base + kept).lower())
        rank = _LETTER_RANK.get(lower)
        if rank is None:
            if char.isspace() or not char.isalnum():
                space = bool(letters)  # one word boundary, punctuation ignored
                continue
            rank = len(VIETNAMESE_ALPHABET) + 2 + min(ord(lower[0]), 1200)  # other scripts: after z
        if space:
            letters.append(_token(1))  # a word boundary sorts before any letter: "Hà Nội" < "Hàn"
            tones.append("0")
            cases.append("0")
            space = False
        letters.append(_token(rank))
        tones.append(str(tone))
        cases.append("1" if char != char.lower() else "0")
    return "".join(letters) + "00" + "".join(tones) + "0" + "".join(cases)
