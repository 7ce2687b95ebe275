"""The SQL pieces the roll-ups share (``reports.rollups.common``)."""

import pytest
from django.db import connection

from reports.rollups.common import ids_in
from tests.factories import OrganizationFactory


def test_consecutive_ids_are_written_as_a_range_and_others_as_a_list():
    assert ids_in("m.id", [7, 5, 6, 6]) == "m.id BETWEEN 5 AND 7"
    assert ids_in("m.id", [5, 7]) == "m.id IN (5, 7)"
    assert ids_in("m.id", [8, 5, 6]) == "m.id IN (5, 6, 8)"
    assert ids_in("m.id", []) == "m.id IN (NULL)"
    assert ids_in("m.id", None) == "1 = 1"


@pytest.mark.django_db
def test_a_range_selects_the_same_rows_as_the_list():
    ids = sorted(OrganizationFactory().pk for _ in range(5))
    with connection.cursor() as cursor:
        for chosen in (ids, ids[1:4], [ids[0], ids[2], ids[4]], [ids[3]]):
            cursor.execute(f"SELECT id FROM branches_organization WHERE {ids_in('id', chosen)} ORDER BY id")  # noqa: S608
            assert [row[0] for row in cursor.fetchall()] == sorted(chosen)
