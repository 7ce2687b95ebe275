"""Reading and writing spreadsheets: .xlsx and .csv (UTF-8, with or without Excel's BOM).

Reading turns an uploaded file into a header and numbered rows of cell values, refusing with a
clear, translated message what is not a spreadsheet, too large, empty or too long. Writing
produces .xlsx (real date cells, codes as text) and .csv (UTF-8 with BOM so Excel reads the
Vietnamese letters, ISO dates). Parsing of typed values (dates, numbers, choices) lives here too,
so the importers and the exports agree on one format.
"""

import csv
import datetime
import io
import os
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

#: Largest upload accepted (bytes) and most data rows read; settings IMPORT_MAX_BYTES / IMPORT_MAX_ROWS.
DEFAULT_MAX_BYTES = 40 * 1024 * 1024
DEFAULT_MAX_ROWS = 200_000

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
DATE_FORMAT_XLSX = "DD/MM/YYYY"


def max_bytes():
    return getattr(settings, "IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)


def max_rows():
    return getattr(settings, "IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS)


class SpreadsheetError(Exception):
    """The file as a whole cannot be read; ``message`` says why, in the active language."""

    def __init__(self, message, code):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class Sheet:
    """A header and the data rows under it; each row is ``(row number in the file, values)``."""

    headers: list
    rows: list = field(default_factory=list)
    format: str = "csv"


def nfc(value):
    return unicodedata.normalize("NFC", value)


_SPACES = re.compile(r"\s+")


def normalize_header(value):
    """Headers compare without case, accents kept, spaces collapsed and a trailing ``*`` dropped."""
    text = nfc(str(value if value is not None else "")).strip().rstrip("*").strip()
    return _SPACES.sub(" ", text).casefold()


def _read_bytes(source, limit):
    """The bytes of ``source`` (a path, bytes or a file object), refusing more than ``limit``."""
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.stat().st_size > limit:
            raise _too_large(limit)
        data = path.read_bytes()
    else:
        size = getattr(source, "size", None)
        if size is not None and size > limit:
            raise _too_large(limit)
        if hasattr(source, "seek"):
            source.seek(0)
        data = source.read(limit + 1)
    if len(data) > limit:
        raise _too_large(limit)
    return data


def _too_large(limit):
    return SpreadsheetError(
        _("The file is too large: at most %(size)s MB can be imported at once.") % {"size": limit // (1024 * 1024)},
        "too_large",
    )


def _too_many_rows(limit):
    return SpreadsheetError(
        _("The file has too many rows: at most %(rows)s rows can be imported at once. Split it into several files.")
        % {"rows": f"{limit:,}"},
        "too_many_rows",
    )


def _not_a_spreadsheet():
    return SpreadsheetError(
        _("This file is not a spreadsheet. Upload an Excel workbook (.xlsx) or a CSV file saved as UTF-8."),
        "not_spreadsheet",
    )


def _empty():
    return SpreadsheetError(_("The file is empty: it has no header row or no rows under it."), "empty")


def read_spreadsheet(source, *, limit_bytes=None, limit_rows=None):
    """Read the first sheet of an .xlsx file or a CSV file into a :class:`Sheet`.

    Blank rows are skipped (row numbers still count them); the first non-blank row is the header.
    """
    limit_bytes = limit_bytes or max_bytes()
    limit_rows = limit_rows or max_rows()
    data = _read_bytes(source, limit_bytes)
    if not data.strip():
        raise _empty()
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        headers, rows = _read_workbook(data, limit_rows)
        kind = "xlsx"
    else:
        headers, rows = _read_csv(data, limit_rows)
        kind = "csv"
    if headers is None or not rows:
        raise _empty()
    return Sheet(headers=headers, rows=rows, format=kind)


def _trim(values):
    values = list(values)
    while values and (values[-1] is None or values[-1] == ""):
        values.pop()
    return values


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def _read_rows(iterator, limit_rows):
    headers, rows = None, []
    for number, values in iterator:
        values = _trim(values)
        if not values:
            continue
        last = values[-1]  # neither None nor "": only a row ending in spaces may still be blank
        if isinstance(last, str) and not last.strip() and all(_blank(v) for v in values):
            continue
        if headers is None:
            headers = [nfc(str(v)).strip() if v is not None else "" for v in values]
            continue
        if len(rows) >= limit_rows:
            raise _too_many_rows(limit_rows)
        rows.append((number, values))
    return headers, rows


def _read_workbook(data, limit_rows):
    """The first sheet of a workbook (.xlsx, also .xls and .ods) read with calamine (fast, in Rust)."""
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        if not workbook.sheet_names:
            raise _empty()
        values = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except SpreadsheetError:
        raise
    except Exception as exc:  # a zip or OLE file that is not a workbook (.docx, .doc, damaged)
        raise _not_a_spreadsheet() from exc
    return _read_rows(enumerate(values, start=1), limit_rows)


def _read_csv(data, limit_rows):
    if b"\x00" in data[:4096]:
        raise _not_a_spreadsheet()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpreadsheetError(
            _("The CSV file is not in UTF-8. In Excel choose “Save as” → “CSV UTF-8 (Comma delimited)”."),
            "not_utf8",
        ) from exc
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _read_rows(((reader.line_num, row) for row in reader), limit_rows)
    except csv.Error as exc:
        raise _not_a_spreadsheet() from exc


# Typed cell values --------------------------------------------------------------------------

_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?$")


class CellError(ValueError):
    """A value in one cell cannot be read; the message says what is expected."""


def text_value(value):
    """Text of a cell: NFC-normalised (Vietnamese letters kept exactly), stripped; numbers without ``.0``."""
    if type(value) is str:
        value = value.strip()
        return value if value.isascii() else nfc(value)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.strftime("%d/%m/%Y")
    return nfc(str(value)).strip()


def code_value(value, width=None):
    """A code typed as a number in Excel lost its leading zeros: put them back up to ``width`` digits."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        number = int(value)
        text = str(number)
        return text.zfill(width) if width and len(text) < width else text
    return text_value(value)


def date_value(value):
    """A date from a real Excel date cell, ``dd/mm/yyyy`` (also ``dd.mm.yyyy``, ``dd-mm-yyyy``) or ISO."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if type(value) is str:
        cached = _date_cache.get(value)  # its keys are texts as text_value returns them
        if cached is not None:
            return cached
    text = text_value(value)
    if not text:
        return None
    cached = _date_cache.get(text)
    if cached is not None:
        return cached
    try:
        match = _DMY.match(text)
        if match:
            day, month, year = (int(part) for part in match.groups())
            return _remember_date(text, datetime.date(year, month, day))
        match = _ISO.match(text)
        if match:
            year, month, day = (int(part) for part in match.groups())
            return _remember_date(text, datetime.date(year, month, day))
    except ValueError:
        pass
    raise CellError(_("“%(value)s” is not a date: write it as dd/mm/yyyy, e.g. 17/05/1990.") % {"value": text})


_date_cache = {}


def _remember_date(text, value):
    """Files repeat dates a lot: keep up to 50,000 parsed texts."""
    if len(_date_cache) < 50_000:
        _date_cache[text] = value
    return value


def integer_value(value):
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise CellError(_("Write a whole number."))
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = text_value(value).replace(" ", "")
    if re.fullmatch(r"-?\d{1,3}([.,]\d{3})+", text):
        text = text.replace(".", "").replace(",", "")
    try:
        return int(text)
    except ValueError:
        raise CellError(_("“%(value)s” is not a whole number.") % {"value": text}) from None


_TRUE = {"1", "x", "true", "yes", "y", "có", "co", "c", "đúng", "dung"}
_FALSE = {"0", "false", "no", "n", "không", "khong", "k", "sai", "-"}


def boolean_value(value):
    """Yes/no: ``có``/``không``, ``yes``/``no``, ``x`` or ``1``/``0``; an empty cell is no."""
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    text = text_value(value).casefold()
    if text in _TRUE:
        return True
    if text in _FALSE or text == "":
        return False
    raise CellError(_("“%(value)s” is not yes or no: write “có” or “không”.") % {"value": text_value(value)})


def choice_value(value, choices, aliases=None):
    """A choice by its key or by its label in any of the site's languages (case-insensitive)."""
    text = text_value(value)
    if not text:
        return ""
    normalized = _normalized_choices.get(text)
    if normalized is None:
        normalized = normalize_header(text)
        if len(_normalized_choices) < 10_000:  # a column of choices repeats a few texts
            _normalized_choices[text] = normalized
    key = choice_lookup(choices, aliases).get(normalized)
    if key is not None:
        return key
    allowed = ", ".join(str(label) for _key, label in choices.choices)
    raise CellError(_("“%(value)s” is not one of: %(allowed)s.") % {"value": text, "allowed": allowed})


_choice_cache = {}
_normalized_choices = {}  # cell text → normalize_header(text)


def choice_lookup(choices, aliases=None):
    """Normalised key, label (in every language of the site) or alias → key (cached per class)."""
    # First by the identity of the aliases (the module's constant tables; the entry holds them, so
    # their id is never reused): building a key of their sorted items was most of a cell's cost.
    cached = _choice_cache.get((choices, id(aliases)))
    if cached is not None and cached[0] is aliases:
        return cached[1]
    cache_key = (choices, tuple(sorted((aliases or {}).items())))
    lookup = _choice_cache.get(cache_key)
    if lookup is None:
        lookup = {normalize_header(alias): key for alias, key in (aliases or {}).items()}
        for key, label in choices.choices:
            for text in labels_in_all_languages(label):
                lookup[text] = key
            lookup[normalize_header(key)] = key
        _choice_cache[cache_key] = lookup
    if len(_choice_cache) < 1000:
        _choice_cache[(choices, id(aliases))] = (aliases, lookup)
    return lookup


def labels_in_all_languages(label):
    from django.utils import translation

    labels = {normalize_header(str(label))}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            labels.add(normalize_header(str(label)))
    return labels


# Writing ------------------------------------------------------------------------------------


@dataclass
class OutColumn:
    """A column written to a file: header, and whether the values are text codes (kept as text)."""

    header: str
    text: bool = False


def write_xlsx(columns, rows, *, title="Sheet"):
    """An .xlsx workbook (bytes): a bold frozen header, dates as date cells, codes as text cells."""
    buffer = io.BytesIO()
    write_xlsx_to(buffer, columns, rows, title=title)
    return buffer.getvalue()


def write_xlsx_to(target, columns, rows, *, title="Sheet"):
    """:func:`write_xlsx` into ``target`` (a path or a binary file), in constant memory: openpyxl's
    write-only workbook keeps the rows in a temporary file, not as cells."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=re.sub(r"[\[\]:*?/\\]", " ", str(title))[:31] or "Sheet")
    sheet.freeze_panes = "A2"
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, min(40, len(str(column.header)) + 4))
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=str(column.header))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    text_flags = [column.text for column in columns]
    for row in rows:
        out = []
        for value, is_text in zip(row, text_flags, strict=False):
            if isinstance(value, datetime.datetime):
                value = value.replace(tzinfo=None)
            if isinstance(value, datetime.date):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = DATE_FORMAT_XLSX
                out.append(cell)
            elif is_text:
                cell = WriteOnlyCell(sheet, value="" if value is None else str(value))
                cell.number_format = "@"
                out.append(cell)
            else:
                out.append(value)
        sheet.append(out)
    workbook.save(target)


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    return value


def write_csv(columns, rows):
    """CSV bytes in UTF-8 with a BOM (Excel then shows the Vietnamese letters), dates in ISO form."""
    buffer = io.BytesIO()
    write_csv_to(buffer, columns, rows)
    return buffer.getvalue()


def write_csv_to(target, columns, rows):
    """:func:`write_csv` into the binary file ``target``, row by row (constant memory)."""
    text = io.TextIOWrapper(target, encoding="utf-8-sig", newline="")
    try:
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow([str(column.header) for column in columns])
        for row in rows:
            writer.writerow([_csv_cell(value) for value in row])
        text.flush()
    finally:
        text.detach()  # ``target`` stays open for the caller
