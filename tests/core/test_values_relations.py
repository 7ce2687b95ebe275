"""``core.models.values_relations``: rows sent as a relation (on PostgreSQL one array per column,
joined into a string where that is unambiguous) come back exactly as given, whatever they hold."""

import datetime

import pytest
from django.db import connection

from core.models import values_relations

D = datetime.date
COLUMNS = [("n", "bigint"), ("day", "date"), ("label", "text"), ("small", "integer")]


def read_back(rows, columns=COLUMNS):
    names = ", ".join(name for name, _type in columns)
    found = []
    with connection.cursor() as cursor:
        for relation, params in values_relations(connection, columns, rows, size=3, alias="r"):
            cursor.execute(f"SELECT {names} FROM {relation}", params)  # noqa: S608
            found += cursor.fetchall()
    as_date = lambda value: D.fromisoformat(value) if isinstance(value, str) else value  # noqa: E731 (SQLite: text)
    return sorted(((n, as_date(day), label, small) for n, day, label, small in found), key=repr)


ROWS = {
    "plain": [(1, D(2024, 2, 29), "ad.sex.female", 3), (2**40, D(1, 1, 1), "mv.admitted", -7)],
    "missing values": [(None, None, "a", None), (5, D(9999, 12, 31), "b", 0)],
    "texts that cannot be joined": [
        (1, D(2020, 1, 1), "Nguyễn, Văn A", 1),
        (2, D(2020, 1, 2), "", 2),
        (3, D(2020, 1, 3), None, 3),
        (4, D(2020, 1, 4), 'quote " brace { backslash \\ ', 4),
    ],
    "texts that can": [(1, D(2020, 1, 1), 'quote " brace {} backslash \\ Việt', 1), (2, D(2020, 1, 2), "x", 2)],
    "one row, every value missing": [(None, None, None, None)],
    "one row, an empty text": [(7, D(2021, 5, 6), "", 8)],
    "many rows": [(i, D(2020, 1, 1) + datetime.timedelta(days=i), f"m{i % 7}", i % 5) for i in range(500)],
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", ROWS)
def test_the_rows_come_back_as_given(case):
    rows = ROWS[case]
    assert read_back(rows) == sorted(rows, key=repr)
