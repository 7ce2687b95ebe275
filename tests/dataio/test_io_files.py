"""Malformed files: each is refused as a whole with its own clear message, and nothing is written."""

import io
import zipfile

import pytest
from django.test import override_settings
from django.utils import translation

from branches.models import Member
from core.spreadsheets import SpreadsheetError, date_value, read_spreadsheet
from dataio.imports import import_members
from tests.dataio.test_io_members_import import HEADERS, csv_bytes, member_row, xlsx_bytes


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English (the site's default language is Vietnamese)."""
    with translation.override("en"):
        yield


def refused(tree, user, content):
    with pytest.raises(SpreadsheetError) as caught:
        import_members(content, organization=tree.branch_a, acting_user=user, filename="file")
    assert not Member.objects.exists()
    return caught.value


def test_empty_file_is_refused(tree, secretary_a):
    assert refused(tree, secretary_a, b"").code == "empty"


def test_header_without_rows_is_refused_as_empty(tree, secretary_a):
    error = refused(tree, secretary_a, csv_bytes([]))
    assert error.code == "empty"
    assert "empty" in error.message


def test_blank_workbook_is_refused_as_empty(tree, secretary_a):
    assert refused(tree, secretary_a, xlsx_bytes([], headers=[])).code == "empty"


def test_file_that_is_not_a_spreadsheet_is_refused(tree, secretary_a):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
    error = refused(tree, secretary_a, png)
    assert error.code == "not_spreadsheet"
    assert ".xlsx" in error.message


def test_zip_that_is_not_a_workbook_is_refused(tree, secretary_a):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    assert refused(tree, secretary_a, buffer.getvalue()).code == "not_spreadsheet"


def test_csv_not_in_utf8_is_refused_with_advice(tree, secretary_a):
    content = "citizen ID,full name\n001190000001,Nguyễn Thị Hồng\n".encode("utf-16")
    error = refused(tree, secretary_a, content)
    assert error.code in {"not_utf8", "not_spreadsheet"}
    legacy = "citizen ID,full name\n001190000001,Nguy\u1ec5n\n".encode("cp1258", errors="replace")
    assert refused(tree, secretary_a, legacy.replace(b"?", b"\xd2")).code == "not_utf8"


@override_settings(IMPORT_MAX_BYTES=1024 * 1024)
def test_file_too_large_is_refused(tree, secretary_a):
    content = csv_bytes([member_row(i) for i in range(1, 20_000)])
    assert len(content) > 1024 * 1024
    error = refused(tree, secretary_a, content)
    assert error.code == "too_large"
    assert "1 MB" in error.message


@override_settings(IMPORT_MAX_ROWS=10)
def test_too_many_rows_are_refused(tree, secretary_a):
    error = refused(tree, secretary_a, csv_bytes([member_row(i) for i in range(1, 12)]))
    assert error.code == "too_many_rows"
    assert "10" in error.message


def test_missing_and_unknown_columns_are_named(tree, secretary_a):
    headers = ["citizen ID", "full name", "sex", "shoe size"]
    rows = [{"citizen ID": "001190000001", "full name": "A", "sex": "nam", "shoe size": "42"}]
    error = refused(tree, secretary_a, csv_bytes(rows, headers))
    assert error.code == "columns"
    assert "“shoe size”" in error.message
    assert "date of birth" in error.message and "admitted on" in error.message


def test_repeated_column_is_refused(tree, secretary_a):
    headers = [*HEADERS, "full name"]
    error = refused(tree, secretary_a, csv_bytes([member_row(1, **{"full name": "B"})], headers))
    assert error.code == "columns" and "repeated" in error.message


def test_messages_follow_the_active_language(tree, secretary_a):
    with translation.override("en"):
        english = refused(tree, secretary_a, b"").message
    assert english.startswith("The file is empty")


def test_blank_rows_are_skipped_but_numbering_follows_the_file():
    content = b"a,b\r\n\r\n1,2\r\n,\r\n3,4\r\n"
    sheet = read_spreadsheet(content)
    assert sheet.headers == ["a", "b"]
    assert [number for number, _values in sheet.rows] == [3, 5]


@pytest.mark.parametrize(
    "text", ["17/05/1990", "17.05.1990", "17-05-1990", "1990-05-17", "17/5/1990", "1990-05-17 00:00:00"]
)
def test_dates_are_read_in_day_month_year_and_iso_forms(text):
    import datetime

    assert date_value(text) == datetime.date(1990, 5, 17)


def test_an_ambiguous_or_impossible_date_says_how_to_write_it():
    from core.spreadsheets import CellError

    with pytest.raises(CellError) as caught:
        date_value("05/17/1990")
    assert "dd/mm/yyyy" in str(caught.value)
