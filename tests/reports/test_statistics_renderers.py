"""Member movement through the CLI, the API and the .xlsx/CSV in the form's layout."""

import datetime
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from openpyxl import load_workbook

from reports.serializers import movement_to_dict
from reports.statistics import member_movement
from tests.api_conftest import *  # noqa: F403
from tests.api_conftest import API
from tests.factories import MemberFactory
from tests.reports import test_statistics_movement

pytestmark = pytest.mark.django_db

moves = test_statistics_movement.moves  # the fixture: members moving in, out and inside DIST

D = datetime.date
MOVEMENT = f"{API}reports/movement/"


def run(*args):
    out = io.StringIO()
    call_command("report", *args, stdout=out)
    return out.getvalue()


def test_cli_json_is_the_report_and_every_row_balances(moves):
    data = json.loads(run("movement", "--org", "DIST", "--start", "2024-01-01", "--end", "2024-12-31",
                          "--format", "json", "--language", "en"))  # fmt: skip
    with translation.override("en"):
        assert data == movement_to_dict(member_movement(moves.committee, D(2024, 1, 1), D(2024, 12, 31)))
    for row in (data["total"], *data["children"]):
        assert row["at_start"] + row["additions"] - row["removals"] == row["at_end"]
    assert data["total"]["change_percent"] == -25.0
    assert [column["key"] for column in data["columns"]][0] == "at_start"


def test_cli_year_and_half_and_text(moves):
    text = run("movement", "--org", "DIST", "--year", "2024", "--half", "2", "--language", "en")
    assert "Member movement" in text and "BR-A" in text and "(11)" in text
    assert (
        json.loads(run("movement", "--org", "DIST", "--year", "2024", "--half", "1", "--format", "json"))["end"]
        == "2024-06-30"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--start", "2024-01-01"],
        ["--start", "2024-02-01", "--end", "2024-01-01"],
        ["--year", "2024", "--start", "2024-01-01", "--end", "2024-02-01"],
        ["--start", "2024-13-01", "--end", "2024-12-31"],
        [],
    ],
)
def test_cli_refuses_bad_periods(moves, args):
    with pytest.raises(CommandError):
        run("movement", "--org", "DIST", *args)


def test_xlsx_has_the_forms_layout(moves, tmp_path):
    path = tmp_path / "movement.xlsx"
    run("movement", "--org", "DIST", "--year", "2024", "--format", "xlsx", "--output", str(path), "--language", "en")
    sheet = load_workbook(path).active
    assert "1-BTCTW" in sheet["A1"].value and "DIST" in sheet["A2"].value and "2024" in sheet["A3"].value
    assert sheet["A6"].value == "(1)" and sheet["D6"].value == "(4)"
    rows = {sheet.cell(line, 2).value: line for line in range(7, sheet.max_row + 1)}
    total = rows["DIST"]
    assert sheet.cell(total, 4).value == 8 and sheet.cell(total, 14).value == 6
    texts = [cell.value for row in sheet.iter_rows() for cell in row if isinstance(cell.value, str)]
    assert any("signature" in text for text in texts)


def test_csv(moves):
    from reports import statutory_exports

    table = statutory_exports.movement_table(member_movement(moves.committee, D(2024, 1, 1), D(2024, 12, 31)))
    out = statutory_exports.form_csv(table).decode("utf-8-sig").splitlines()
    assert len(out) == 1 + len(table.rows) and out[-1].startswith("DIST,")


def test_api_matches_the_cli_and_is_scoped(api, moves):
    response = api.department.get(MOVEMENT, {"organization": "DIST", "year": 2024}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, response.content
    assert response.json() == json.loads(
        run("movement", "--org", "DIST", "--year", "2024", "--format", "json", "--language", "en")
    )
    assert api.department.get(MOVEMENT, {"organization": "CITY", "year": 2024}).status_code in (403, 404)
    own = api.secretary_a.get(MOVEMENT, {"organization": "BR-A", "start": "2024-01-01", "end": "2024-06-30"})
    assert own.status_code == 200 and own.json()["end"] == "2024-06-30"


@pytest.mark.parametrize(
    "params",
    [
        {"organization": "DIST"},
        {"organization": "DIST", "start": "2024-01-01"},
        {"organization": "DIST", "start": "2024-02-01", "end": "2024-01-01"},
        {"organization": "DIST", "year": 2024, "half": 3},
        {"organization": "DIST", "year": "abc"},
        {"organization": "DIST", "year": 2024, "start": "2024-01-01", "end": "2024-02-01"},
        {"organization": "NOPE\x00", "year": 2024},
    ],
)
def test_api_refuses_bad_queries_with_400(api, moves, params):
    assert api.department.get(MOVEMENT, params).status_code == 400


def test_organisation_names_are_never_formulas_in_the_workbook(moves, tmp_path):
    moves.branch_a.name = '=HYPERLINK("http://x")'
    moves.branch_a.save()
    MemberFactory(organization=moves.branch_a)
    path = tmp_path / "m.xlsx"
    run("movement", "--org", "DIST", "--year", "2024", "--format", "xlsx", "--output", str(path))
    sheet = load_workbook(path).active
    cell = next(cell for row in sheet.iter_rows() for cell in row if cell.value and "HYPERLINK" in str(cell.value))
    assert cell.data_type == "s"
