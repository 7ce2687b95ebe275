"""Reading and writing spreadsheets: .xlsx and .csv (UTF-8, with or without Excel's BOM).

Reading turns an uploaded file into a header and numbered rows of cell values, refusing with a
clear, translated message what is not a spreadsheet, too large, empty or too long. Writing
produces .xlsx (real date cells, codes as text) and .csv (UTF-8 with BOM so Excel reads the
Vietnamese letters, ISO dates); every cell written passes through :func:`xlsx_cell` or
:func:`csv_cell`, so no text becomes a formula. Parsing of typed values (dates, numbers, choices) lives here too,
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


#: Most columns a sheet may use (IMPORT_MAX_COLUMNS); the templates have about twenty.
DEFAULT_MAX_COLUMNS = 100
#: Most bytes an .xlsx may unpack to (IMPORT_MAX_UNPACKED_BYTES), and its shared strings alone.
DEFAULT_MAX_UNPACKED_BYTES = 400 * 1024 * 1024
MAX_SHARED_STRINGS_BYTES = 100 * 1024 * 1024


def max_columns():
    return getattr(settings, "IMPORT_MAX_COLUMNS", DEFAULT_MAX_COLUMNS)


def max_row_number(limit_rows):
    """The last row number a sheet may use: the data rows allowed plus as many blank ones, and a header."""
    return 2 * limit_rows + 1000


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


def _too_wide(limit):
    return SpreadsheetError(
        _("The sheet has too many columns: at most %(columns)s columns can be imported.") % {"columns": limit},
        "too_many_columns",
    )


def _absurd_sheet():
    return SpreadsheetError(
        _(
            "The sheet declares or unpacks to a size far beyond what can be imported (it may be damaged or "
            "hostile). Copy the data into a new workbook and upload that."
        ),
        "absurd_sheet",
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
        if data.startswith(b"PK"):
            check_xlsx_bounds(data, limit_rows)  # before any cell is read
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
    columns = max_columns()
    for number, values in iterator:
        values = _trim(values)
        if len(values) > columns:
            raise _too_wide(columns)
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
        sheet = workbook.get_sheet_by_index(0)
        if sheet.total_height > max_row_number(limit_rows):  # from A1, as to_python pads (.xls has no zip)
            raise _too_many_rows(limit_rows)
        if sheet.total_width > max_columns():
            raise _too_wide(max_columns())
        values = sheet.to_python(skip_empty_area=False)
    except SpreadsheetError:
        raise
    except Exception as exc:  # a zip or OLE file that is not a workbook (.docx, .doc, damaged)
        raise _not_a_spreadsheet() from exc
    return _read_rows(enumerate(values, start=1), limit_rows)


_XML_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c|dimension)(?=[\s/>])([^>]*)>")
_REF = re.compile(rb"""\b(?:r|ref)\s*=\s*["']([A-Z]{0,3})(\d*)(?::([A-Z]{0,3})(\d*))?["']""")
_SCAN_CHUNK = 1024 * 1024


def _column_number(letters):
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _first_sheet_path(archive):
    """The first sheet's part in an .xlsx (from the workbook and its relationships)."""
    try:
        workbook = archive.read("xl/workbook.xml")
        rels = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return "xl/worksheets/sheet1.xml"
    sheet = re.search(rb"<(?:\w+:)?sheet\b[^>]*\br:id=\"([^\"]+)\"", workbook)
    if sheet is None:
        return "xl/worksheets/sheet1.xml"
    for rel in re.finditer(rb"<(?:\w+:)?Relationship\b[^>]*>", rels):
        if re.search(rb'\bId="' + re.escape(sheet.group(1)) + rb'"', rel.group()):
            target = re.search(rb'\bTarget="([^"]+)"', rel.group())
            if target:
                path = target.group(1).decode("utf-8", "replace").lstrip("/")
                return path if path.startswith("xl/") else f"xl/{path}"
    return "xl/worksheets/sheet1.xml"


def check_xlsx_bounds(data, limit_rows):
    """Refuse an .xlsx whose first sheet is too large, before any cell is read, in bounded memory.

    The archive's unpacked sizes are checked first (a small zip may unpack to gigabytes); then the
    sheet's XML is streamed in 1 MB pieces and its declared dimension, row numbers, rows and cells
    per row are counted, stopping at the first that passes the limits. Only .xlsx is accepted
    among zip files (an .ods or a .docx is not a spreadsheet here).
    """
    import zipfile

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _not_a_spreadsheet() from exc
    names = {member.filename for member in members}
    if "xl/workbook.xml" not in names:
        raise _not_a_spreadsheet()
    unpacked_limit = getattr(settings, "IMPORT_MAX_UNPACKED_BYTES", DEFAULT_MAX_UNPACKED_BYTES)
    if sum(member.file_size for member in members) > unpacked_limit or any(
        member.file_size > MAX_SHARED_STRINGS_BYTES for member in members if member.filename.endswith("Strings.xml")
    ):
        raise _absurd_sheet()
    if archive.getinfo("xl/workbook.xml").file_size > 10 * 1024 * 1024:
        raise _absurd_sheet()
    path = _first_sheet_path(archive)
    if path not in names:
        raise _not_a_spreadsheet()
    last_row, last_column = max_row_number(limit_rows), max_columns()
    rows = cells_in_row = 0
    tail = b""
    try:
        with archive.open(path) as stream:
            while True:
                chunk = stream.read(_SCAN_CHUNK)
                buffer = tail + chunk
                cut = buffer.rfind(b"<") if chunk else len(buffer)
                if cut < 0:
                    cut = len(buffer)
                for match in _XML_TAG.finditer(buffer, 0, cut):
                    tag, attributes = match.group(1), match.group(2)
                    reference = _REF.search(attributes)
                    if tag == b"dimension" and reference:
                        if _column_number(reference.group(3) or reference.group(1) or b"") > last_column:
                            raise _too_wide(last_column)
                        if int(reference.group(4) or reference.group(2) or 0) > last_row:
                            raise _too_many_rows(limit_rows)
                    elif tag == b"row":
                        rows += 1
                        cells_in_row = 0
                        if rows > last_row or (reference and int(reference.group(2) or 0) > last_row):
                            raise _too_many_rows(limit_rows)
                    else:
                        cells_in_row += 1
                        if cells_in_row > last_column or (
                            reference and _column_number(reference.group(1)) > last_column
                        ):
                            raise _too_wide(last_column)
                        if reference and int(reference.group(2) or 0) > last_row:
                            raise _too_many_rows(limit_rows)
                tail = buffer[cut:]
                if len(tail) > _SCAN_CHUNK:
                    raise _absurd_sheet()  # one tag longer than a megabyte
                if not chunk:
                    break
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
        raise _not_a_spreadsheet() from exc


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
    if text.count("\n") > max_row_number(limit_rows):
        raise _too_many_rows(limit_rows)  # blank lines included: refused before any is parsed
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


# Formula-safe cells: every CSV and .xlsx the product writes passes each value through these two.

#: Text beginning with one of these is a formula to a spreadsheet program (OWASP's list).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A value as a CSV field: dates as Vietnam writes them (dd/mm/yyyy, which the imports read back),
    booleans 1/0, numbers as they are, and text that a spreadsheet program would run as a formula
    neutralised with a leading apostrophe (OWASP's advice; the csv writer quotes fields holding quotes
    or separators)."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None).strftime("%d/%m/%Y %H:%M:%S")
    if isinstance(value, datetime.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def xlsx_cell(sheet, value, *, text=False):
    """An openpyxl cell for ``sheet`` (normal or write-only) holding ``value``, never a formula.

    Numbers stay numbers, dates date cells (dd/mm/yyyy); any other value is a string cell, even
    when it begins with ``=`` (openpyxl would store that as a formula). ``text``: a code column,
    kept as text and shown as text (``@``) even when it looks like a number.
    """
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, datetime.datetime):
        value = value.replace(tzinfo=None)
    if text:
        value = "" if value is None else str(value)
    elif value is not None and not isinstance(value, bool | int | float | Decimal | datetime.date):
        value = str(value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # never "f": the text is shown, not run
    if isinstance(value, datetime.date):
        cell.number_format = DATE_FORMAT_XLSX
    elif text:
        cell.number_format = "@"
    return cell


def write_xlsx(columns, rows, *, title="Sheet"):
    """An .xlsx workbook (bytes): a bold frozen header, dates as date cells, codes as text cells."""
    buffer = io.BytesIO()
    write_xlsx_to(buffer, columns, rows, title=title)
    return buffer.getvalue()


def write_xlsx_to(target, columns, rows, *, title="Sheet"):
    """:func:`write_xlsx` into ``target`` (a path or a binary file), in constant memory: openpyxl's
    write-only workbook keeps the rows in a temporary file, not as cells."""
    from openpyxl import Workbook
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
        cell = xlsx_cell(sheet, str(column.header))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    text_flags = [column.text for column in columns]
    for row in rows:
        sheet.append([xlsx_cell(sheet, value, text=is_text) for value, is_text in zip(row, text_flags, strict=False)])
    workbook.save(target)


#: The styles of :func:`write_xlsx_rows_to`'s cells: bold (the header), text (``@``) and date.
XLSX_BOLD_STYLE, XLSX_TEXT_STYLE, XLSX_DATE_STYLE = 1, 2, 3

_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'
    ),
    "_rels/.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'styles" Target="styles.xml"/></Relationships>'
    ),
    "xl/styles.xml": (
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<numFmts count="1"><numFmt numFmtId="164" formatCode="{DATE_FORMAT_XLSX}"/></numFmts>'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b val="1"/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
        '<fills count="2"><fill><patternFill/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
        '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
    ),
}


def _xml_text(value):
    from xml.sax.saxutils import escape

    return escape(_ILLEGAL_XML.sub("", str(value)))


_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def write_xlsx_rows_to(target, columns, rows, *, title="Sheet"):
    """An .xlsx of ``columns`` (a bold header) and ``rows`` — each the XML of one row's cells, as
    bytes, written by the database for a large export — into ``target`` (a path or a binary file),
    streamed in constant memory. The sheet, its styles and the header are those
    :func:`write_xlsx_to` writes through openpyxl (same widths, frozen header, date and text
    formats); written by hand because openpyxl's cells cost about a millisecond per row, which a
    million rows cannot afford. Returns the number of rows written."""
    import zipfile

    from openpyxl.utils import get_column_letter

    name = re.sub(r"[\[\]:*?/\\]", " ", str(title))[:31] or "Sheet"
    widths = "".join(
        f'<col min="{index}" max="{index}" width="{max(12, min(40, len(str(column.header)) + 4))}" customWidth="1"/>'
        for index, column in enumerate(columns, start=1)
    )
    header = "".join(
        f'<c r="{get_column_letter(index)}1" s="{XLSX_BOLD_STYLE}" t="inlineStr">'
        f"<is><t>{_xml_text(column.header)}</t></is></c>"
        for index, column in enumerate(columns, start=1)
    )
    head = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetViews>'
        '<sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/><cols>{widths}</cols><sheetData><row r="1">{header}</row>'
    )
    workbook = (
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name="{_xml_text(name)}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    written = 0
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as package:
        for part, xml in _XLSX_PARTS.items():
            package.writestr(part, xml)
        package.writestr("xl/workbook.xml", workbook)
        with package.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(head.encode())
            pending = []
            for cells in rows:
                written += 1
                pending.append(b'<row r="%d">%s</row>' % (written + 1, cells))
                if len(pending) == 500:
                    sheet.write(b"".join(pending))
                    pending = []
            sheet.write(b"".join(pending) + b"</sheetData></worksheet>")
    return written


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
        writer.writerow([csv_cell(str(column.header)) for column in columns])
        for row in rows:
            writer.writerow([csv_cell(value) for value in row])
        text.flush()
    finally:
        text.detach()  # ``target`` stays open for the caller
