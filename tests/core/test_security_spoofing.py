"""C1 controls and bidirectional formatting characters are refused in every text field (finding 12)."""

import pytest
from django.utils import translation

from dataio.imports import import_members
from tests.api_conftest import *  # noqa: F403
from tests.dataio.test_io_members_import import csv_bytes, member_row

MESSAGE = "Remove the control characters from this text."
SPOOFING = ["\x85", "\x9b", "\u202e", "\u202a", "\u2066", "\u2069", "\u200e", "\u200f", "\u061c"]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.mark.parametrize("character", SPOOFING)
def test_an_import_refuses_spoofing_characters_with_the_control_character_message(tree, secretary_a, character):
    result = import_members(
        csv_bytes([member_row(1, **{"full name*": f"Nguyễn{character}Văn"})]),
        organization=tree.branch_a,
        acting_user=secretary_a,
    )
    assert [(error.message) for row in result.rows for error in row.errors] == [MESSAGE]


@pytest.mark.parametrize("character", ["\u202e", "\x85"])
def test_the_api_refuses_them_in_names(api, tree, character):
    response = api.secretary_a.post(
        "/api/v1/prospects/",
        {
            "organization": "BR-A",
            "full_name": f"Trần{character}Thị",
            "sex": "female",
            "date_of_birth": "1995-01-01",
            "identified_on": "2024-01-02",
            "notes": f"line one\nline {character}two",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["full_name"] == [MESSAGE]
    assert response.json()["notes"] == [MESSAGE]


def test_ordinary_vietnamese_and_line_breaks_in_notes_are_kept(tree, secretary_a):
    result = import_members(
        csv_bytes([member_row(1, **{"full name*": "Nguyễn Thị Ánh Tuyết"})]),
        organization=tree.branch_a,
        acting_user=secretary_a,
    )
    assert not result.has_errors
