"""The ``report`` management command on a small tree."""

import csv
import datetime
import io
import json

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from branches.choices import OrganizationKind
from branches.models import Member
from reports import rollups
from reports.metrics import Metric
from tests.factories import LocalityFactory, MemberFactory, OrganizationFactory, TargetFactory

D = datetime.date


@pytest.fixture
def small_city(db):
    province = LocalityFactory(code="01")
    root = OrganizationFactory(code="HN", name="Thành ủy Hà Nội", locality=province)
    district = OrganizationFactory(code="D1", name="Quận ủy Ba Đình", locality=province, parent=root)
    branch = OrganizationFactory(code="B1", kind=OrganizationKind.GRASSROOTS_BRANCH, locality=province, parent=district)
    Member.objects.bulk_create(
        MemberFactory.build(
            organization=branch,
            admitted_on=D(2024, 1, 1) + datetime.timedelta(days=index % 300),
            is_business_owner=index < 13,
            official_on=None,
        )
        for index in range(1024)
    )
    rollups.rebuild()  # bulk_create announces nothing: recount (as a bulk loader announcing RecordsLoaded)
    TargetFactory(committee=district, metric=Metric.MEMBERS_ADMITTED, value=903)
    return root


def run(*args):
    out = io.StringIO()
    call_command("report", *args, stdout=out)
    return out.getvalue()


def test_fulfilment_json_in_english(small_city):
    data = json.loads(run("fulfilment", "--org", "HN", "--year", "2024", "--format", "json", "--language", "en"))
    members = data["rows"][1]
    assert members == {
        "metric": "members_admitted",
        "actual": 1024,
        "target": 903,
        "percent": 113.4,
        "display": "1,024/903 (113.4%)",
    }
    assert data["rows"][2]["display"] == "13"
    assert data["rows"][2]["target"] is None
    assert (data["start"], data["end"]) == ("2024-01-01", "2024-12-31")
    assert data["children"][0]["organization"] == {"code": "D1", "name": "Quận ủy Ba Đình"}


def test_fulfilment_json_in_vietnamese(small_city):
    data = json.loads(run("fulfilment", "--org", "HN", "--year", "2024", "--format", "json", "--language", "vi"))
    assert data["rows"][1]["display"] == "1.024/903 (113,4%)"
    assert data["rows"][1]["percent"] == 113.4


def test_fulfilment_as_of_and_range(small_city):
    data = json.loads(run("fulfilment", "--org", "HN", "--year", "2024", "--as-of", "2024-01-10", "--format", "json"))
    assert data["end"] == "2024-01-10"
    assert data["rows"][1]["target"] == 903
    assert data["rows"][1]["actual"] == 40  # 4 a day from 1 to 10 January (1,024 spread over 300 days)
    data = json.loads(
        run("fulfilment", "--org", "D1", "--start", "2024-01-01", "--end", "2024-01-01", "--format", "json")
    )
    assert data["rows"][1]["actual"] == 4
    assert data["rows"][1]["target"] is None and data["rows"][1]["percent"] is None


def test_fulfilment_text_is_an_aligned_table(small_city):
    text = run("fulfilment", "--org", "HN", "--year", "2024", "--language", "en")
    assert "Thành ủy Hà Nội (HN)" in text
    members_line = next(line for line in text.splitlines() if line.startswith("members_admitted"))
    assert members_line.endswith("1,024/903 (113.4%)")
    child_line = next(line for line in text.splitlines() if line.startswith("D1 "))
    assert "1,024/903 (113.4%)" in child_line


def test_fulfilment_xlsx_and_csv_files(small_city, tmp_path):
    path = tmp_path / "hn.xlsx"
    run("fulfilment", "--org", "HN", "--year", "2024", "--format", "xlsx", "--output", str(path), "--language", "en")
    sheet = load_workbook(path).active
    values = [[cell.value for cell in line] for line in sheet.iter_rows()]
    total = values[-1]
    assert total[0] == "HN"
    # Metric 2 (members_admitted): actual, target, percent as numbers, then the display string.
    assert total[6:10] == [1024, 903, 113.4, "1,024/903 (113.4%)"]
    csv_path = tmp_path / "hn.csv"
    run("fulfilment", "--org", "HN", "--year", "2024", "--format", "csv", "--output", str(csv_path))
    raw = csv_path.read_bytes()
    assert raw.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert lines[-1][:2] == ["HN", lines[-1][1]] and lines[-1][6:10] == ["1024", "903", "113.4", "1.024/903 (113,4%)"]


def test_structure_and_gaps_json(small_city):
    data = json.loads(run("structure", "--org", "HN", "--date", "2024-12-31", "--format", "json", "--language", "en"))
    assert data["date"] == "2024-12-31"
    assert {r["metric"]: r["value"] for r in data["rows"]}["grassroots_branches"] == 1
    data = json.loads(run("gaps", "--org", "HN", "--date", "2024-12-31", "--format", "json", "--stagnant-years", "2"))
    assert data["stagnant_years"] == 2
    assert set(data) >= {"rows", "children", "eligible_enterprises", "small_enterprises", "stagnant_organizations"}
    text = run("gaps", "--org", "HN", "--date", "2024-12-31")
    assert "stagnant_organizations (0)" in text


@pytest.mark.parametrize(
    "args",
    [
        ("fulfilment", "--org", "NOPE", "--year", "2024"),
        ("fulfilment", "--org", "HN", "--year", "2024", "--as-of", "30/09/2024"),
        ("fulfilment", "--org", "HN", "--year", "2024", "--as-of", "2023-05-01"),
        ("fulfilment", "--org", "HN"),
        ("fulfilment", "--org", "HN", "--start", "2024-01-01"),
        ("fulfilment", "--org", "HN", "--start", "2024-02-01", "--end", "2024-01-01"),
        ("fulfilment", "--org", "HN", "--year", "2024", "--format", "xlsx"),
        ("structure", "--org", "HN", "--date", "2024-02-30"),
        ("gaps", "--org", "HN", "--stagnant-years", "0"),
    ],
)
def test_bad_arguments_give_a_clear_command_error(small_city, args):
    with pytest.raises(CommandError):
        run(*args)
