"""Hostile spreadsheets are refused before any cell is read, with a clear message (issue 17, finding 4)."""

import io
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook

from core import spreadsheets
from core.spreadsheets import SpreadsheetError, read_spreadsheet


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def calamine_never_called(monkeypatch):
    """Fails the test if the workbook reader is reached: the refusal must come first."""
    import python_calamine

    def refuse(*args, **kwargs):
        raise AssertionError("the hostile file reached the workbook reader")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_filelike", refuse)


def xlsx_bytes(fill):
    workbook = Workbook()
    fill(workbook.active)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rewrite_sheet(data, change):
    """The workbook with its first sheet's XML passed through ``change``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = change(content)
            target.writestr(item.filename, content)
    return out.getvalue()


def one_far_cell():
    """The probe's file: one cell at XFD1048576 (about 2 KB)."""
    return xlsx_bytes(lambda sheet: sheet.__setitem__("XFD1048576", "x"))


def ten_million_rows():
    """A header, then ten million empty rows: about 60 MB of XML in a zip of well under a megabyte."""
    header = xlsx_bytes(lambda sheet: sheet.append(["citizen ID", "full name"]))

    def change(xml):
        return xml.replace(b"</sheetData>", b"<row/>" * 10_000_000 + b"</sheetData>")

    return rewrite_sheet(header, change)


def test_a_single_cell_at_the_last_address_is_refused_before_reading(calamine_never_called):
    data = one_far_cell()
    assert len(data) < 10_000
    with pytest.raises(SpreadsheetError) as refused:
        read_spreadsheet(data)
    assert refused.value.code == "too_many_columns"
    assert "at most 100 columns" in refused.value.message


def test_the_far_cell_is_refused_without_a_declared_dimension_too(calamine_never_called):
    data = rewrite_sheet(one_far_cell(), lambda xml: re.sub(rb"<dimension[^>]*/>", b"", xml))
    with pytest.raises(SpreadsheetError) as refused:
        read_spreadsheet(data)
    assert refused.value.code in ("too_many_columns", "too_many_rows")


def test_ten_million_empty_rows_are_refused_before_reading(calamine_never_called):
    data = ten_million_rows()
    assert len(data) < 1_000_000
    with pytest.raises(SpreadsheetError) as refused:
        read_spreadsheet(data)
    assert refused.value.code == "too_many_rows"
    assert "too many rows" in refused.value.message


def test_a_zip_bomb_is_refused_by_its_unpacked_size(calamine_never_called):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        archive.writestr("xl/sharedStrings.xml", b" " * (spreadsheets.MAX_SHARED_STRINGS_BYTES + 1))
    with pytest.raises(SpreadsheetError) as refused:
        read_spreadsheet(out.getvalue())
    assert refused.value.code == "absurd_sheet"


def test_a_zip_that_is_not_a_workbook_is_not_a_spreadsheet(calamine_never_called):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("content.xml", b"<office:document/>")
    with pytest.raises(SpreadsheetError) as refused:
        read_spreadsheet(out.getvalue())
    assert refused.value.code == "not_spreadsheet"


@override_settings(IMPORT_MAX_COLUMNS=5)
def test_too_many_columns_are_refused_in_xlsx_and_csv():
    with pytest.raises(SpreadsheetError) as refused:
        read_spreadsheet(xlsx_bytes(lambda sheet: sheet.append(list("abcdef"))))
    assert refused.value.code == "too_many_columns"
    with pytest.raises(SpreadsheetError) as refused:
        read_spreadsheet(b"a,b\n1,2,3,4,5,6\n")
    assert refused.value.code == "too_many_columns"


def test_a_csv_of_blank_lines_is_refused_before_parsing():
    with pytest.raises(SpreadsheetError) as refused:
        read_spreadsheet(b"a,b\n1,2\n" + b"\n" * 3_000, limit_rows=10)
    assert refused.value.code == "too_many_rows"


def test_an_ordinary_workbook_is_still_read():
    data = xlsx_bytes(lambda sheet: [sheet.append(row) for row in (["a", "b"], [1, "x"], [], [2, "y"])])
    sheet = read_spreadsheet(data)
    assert sheet.headers == ["a", "b"]
    assert [number for number, _values in sheet.rows] == [2, 4]


def test_the_upload_page_shows_the_refusal(client, secretary_a, tmp_path):
    client.force_login(secretary_a)
    client.cookies["django_language"] = "en"  # pages follow the chosen language, not the browser's
    with override_settings(IMPORT_UPLOAD_DIR=tmp_path):
        response = client.post(
            reverse("io:import"),
            {
                "kind": "members",
                "organization": "BR-A",
                "file": SimpleUploadedFile("members.xlsx", one_far_cell()),
            },
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert response.status_code == 400
    assert "too many columns" in response.content.decode()
