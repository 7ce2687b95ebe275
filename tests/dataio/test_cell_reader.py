"""The row reader of every import reads an empty cell once per file (``dataio.imports.cell_reader``):
what it makes of empty and missing cells is what each column's reader makes of them, cell by cell."""

import pytest
from django.utils import translation
from django.utils.translation import gettext
from hypothesis import given, settings
from hypothesis import strategies as st

from core.spreadsheets import CellError
from dataio import restructure
from dataio.enterprise_imports import ENTERPRISE_COLUMNS, RETURN_COLUMNS
from dataio.imports import MEMBER_COLUMNS, Column, cell_reader

COLUMN_SETS = {
    "members": MEMBER_COLUMNS,
    "enterprises": ENTERPRISE_COLUMNS,
    "returns": RETURN_COLUMNS,
    "restructuring": restructure.COLUMNS,
}


def read_cell_by_cell(columns, values, positions=None):
    """Each column's reader called on its own cell (at ``positions[key]``, by default the columns'
    order): the values and the errors a row should give, both in the columns' order."""
    out, errors = {}, {}
    for number, column in enumerate(columns):
        index = number if positions is None else positions[column.key]
        raw = values[index] if index < len(values) else None
        try:
            value = column.read(raw)
        except CellError as exc:
            errors[column.key] = str(exc)
            continue
        if column.required and not column.blank and (value is None or value == ""):
            errors[column.key] = gettext("This column must be filled in.")
            continue
        out[column.key] = value
    return out, errors


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("kind", sorted(COLUMN_SETS))
def test_empty_and_missing_cells_read_as_their_columns_read_them(kind, language):
    columns = COLUMN_SETS[kind]
    with translation.override(language):
        read = cell_reader(columns, {column.key: index for index, column in enumerate(columns)})
        rows = [
            [""] * len(columns),  # every cell empty
            [],  # every cell missing (a row cut short)
            ["", None] * len(columns),  # empty and missing in turn
            [" "] * len(columns),  # blanks are text: read by the column, not taken for empty
        ]
        for values in rows:
            values = values[: len(columns)]
            values_read, errors = read(values)
            expected_values, expected_errors = read_cell_by_cell(columns, values)
            assert values_read == expected_values
            assert errors == expected_errors


CELLS = ["", None, " ", "x", "Hà Nội", "03/02/2024", "2024-02-31", "31/31/2024", "12", "1.5", "-3", "001190000001"]
CELLS += ["nữ", "nam", "yes", "không", "owner", "worker", "0101234567", "HN-CG-01"]


def refuse_missing(value):
    if value is None:
        raise CellError("Write something here.")
    return value.strip()


def refuse_empty(value):
    if not value:
        raise CellError("Fill this in.")
    return value


#: The import's column sets, and one whose readers refuse a missing or an empty cell themselves.
ANY_COLUMNS = {
    **COLUMN_SETS,
    "refusing": [Column("a", "a", refuse_missing), Column("b", "b"), Column("c", "c", refuse_empty)],
}


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(sorted(ANY_COLUMNS)),
    order=st.randoms(use_true_random=False),
    rows=st.lists(st.lists(st.sampled_from(CELLS), max_size=30), min_size=1, max_size=6),
)
def test_rows_of_any_width_read_as_cell_by_cell_in_the_columns_order(kind, order, rows):
    """Whatever the row's width (cells past its end are empty) and wherever the file puts each
    column, the reader gives what each column's reader gives, values and errors in the columns' order;
    rows of one width after another reuse what was worked out for it."""
    columns = ANY_COLUMNS[kind]
    places = list(range(len(columns)))
    order.shuffle(places)
    positions = {column.key: place for column, place in zip(columns, places, strict=True)}
    with translation.override("en"):
        read = cell_reader(columns, positions)
        for values in rows + rows:
            values_read, errors = read(values)
            expected_values, expected_errors = read_cell_by_cell(columns, values, positions)
            assert list(values_read.items()) == list(expected_values.items())
            assert list(errors.items()) == list(expected_errors.items())


def test_an_empty_cell_in_a_required_column_is_still_refused():
    with translation.override("en"):
        read = cell_reader(MEMBER_COLUMNS, {column.key: index for index, column in enumerate(MEMBER_COLUMNS)})
        _values, errors = read([""] * len(MEMBER_COLUMNS))
    required = {column.key for column in MEMBER_COLUMNS if column.required and not column.blank}
    assert required
    assert required <= set(errors)
    assert all(errors[key] == "This column must be filled in." for key in required)


def test_a_reader_refusing_an_empty_cell_still_refuses_it_in_every_row():
    columns = [Column("a", "a", refuse_missing), Column("b", "b")]
    read = cell_reader(columns, {"a": 0, "b": 1})
    for _row in range(3):
        assert read([]) == ({"b": ""}, {"a": "Write something here."})
        assert read(["", "x"]) == ({"a": "", "b": "x"}, {})
