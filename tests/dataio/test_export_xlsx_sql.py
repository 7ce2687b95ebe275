"""The PostgreSQL path of a large .xlsx export (each row's cells written as XML by the database,
``dataio.exports._copy_xlsx``, packed by ``core.spreadsheets.write_xlsx_rows_to``) reads back, in
openpyxl, as the generic path's workbook (model rows through openpyxl's own writer): every value,
its type and number format, the header, the widths, the frozen header row and the sheet's name."""

import io

import pytest
from django.utils import translation
from openpyxl import load_workbook

from tests.dataio.test_export_copy import (
    AWKWARD,
    both_paths,
    enterprises_and_organizations_with_every_kind_of_value,
    members_with_every_kind_of_value,
)
from tests.factories import MemberFactory

pytestmark = [pytest.mark.postgresql, pytest.mark.rollups_differ]


def format_of(cell):
    return cell.number_format if cell.value is not None else None


def same_line_ends(cells):
    """openpyxl writes a carriage return as it is, which XML reads back as a line feed; the database
    writes it as a character reference, which reads back as itself (the record's own text)."""
    return [[(v.replace("\r", "\n") if isinstance(v, str) else v, *rest) for v, *rest in row] for row in cells]


def read(data):
    sheet = load_workbook(io.BytesIO(data)).active
    cells = [
        [
            (cell.value, type(cell.value).__name__, cell.number_format if cell.value is not None else None)
            for cell in row
        ]
        for row in sheet.iter_rows()
    ]
    widths = {key: dimension.width for key, dimension in sheet.column_dimensions.items()}
    header_bold = [cell.font.b for cell in sheet[1]]
    return sheet.title, sheet.freeze_panes, widths, header_bold, cells


@pytest.mark.parametrize("language", ["en", "vi"])
@pytest.mark.parametrize("persona", ["department", "secretary_a"])
def test_the_database_written_xlsx_reads_as_openpyxls(request, tree, monkeypatch, language, persona):
    members_with_every_kind_of_value(tree)
    MemberFactory(organization=tree.branch_a, full_name="Tag <b> & Co \\ x", hometown="a&b<c>\"d\" 'e'")
    user = request.getfixturevalue(persona)
    with translation.override(language):
        fast, generic, rows = both_paths(monkeypatch, user, "xlsx")
    assert rows == (13 if persona == "department" else 7)  # the secretary sees branch A only
    fast_sheet, generic_sheet = read(fast), read(generic)
    assert fast_sheet[:4] == generic_sheet[:4]
    assert any(value == "\rCR 5" for row in fast_sheet[4] for value, *_rest in row)
    ours, theirs = same_line_ends(fast_sheet[4]), same_line_ends(generic_sheet[4])
    for number, (our_row, their_row) in enumerate(zip(ours, theirs, strict=True), start=1):
        assert our_row == their_row, number


@pytest.mark.parametrize("kind", ["enterprises", "organizations"])
def test_the_database_written_xlsx_of_enterprises_and_organisations_reads_as_openpyxls(
    tree, department, monkeypatch, kind
):
    enterprises_and_organizations_with_every_kind_of_value(tree)
    with translation.override("vi"):
        fast, generic, rows = both_paths(monkeypatch, department, "xlsx", kind=kind)
    assert rows > len(AWKWARD)  # the awkward ones and the tree's own
    fast_sheet, generic_sheet = read(fast), read(generic)
    assert fast_sheet[:4] == generic_sheet[:4]
    ours, theirs = same_line_ends(fast_sheet[4]), same_line_ends(generic_sheet[4])
    for number, (our_row, their_row) in enumerate(zip(ours, theirs, strict=True), start=1):
        assert our_row == their_row, number
    kinds = {type_name for row in fast_sheet[4][1:] for _value, type_name, _format in row}
    assert {"str", "NoneType"} <= kinds and ("int" in kinds) == (kind == "enterprises")
