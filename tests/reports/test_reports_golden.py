"""Golden tests: the demo data tallied by the engine gives DOMAIN.md's reference figures exactly."""

import datetime
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from branches.choices import MemberStatus, PeriodEndReason
from branches.models import MembershipPeriod, Organization
from devdata.demo import relative_admissions
from reports import engine
from reports.metrics import Metric

pytestmark = pytest.mark.django_db

D = datetime.date
END_2024 = D(2024, 12, 31)

HANOI_2024_EN = {
    "party_orgs_established": "100/90 (111.1%)",
    "members_admitted": "1,024/903 (113.4%)",
    "owners_admitted": "13",
    "mass_orgs_established": "1,063/550 (193.3%)",
    "mass_org_members_admitted": "128,975/35,000 (368.5%)",
    "trade_unions_established": "847/350 (242%)",
    "trade_union_members_admitted": "122,063/30,000 (406.9%)",
    "youth_unions_established": "216/200 (108%)",
    "youth_union_members_admitted": "6,912/5,000 (138.2%)",
}

HANOI_2024_VI = {
    "party_orgs_established": "100/90 (111,1%)",
    "members_admitted": "1.024/903 (113,4%)",
    "owners_admitted": "13",
    "mass_orgs_established": "1.063/550 (193,3%)",
    "mass_org_members_admitted": "128.975/35.000 (368,5%)",
    "trade_unions_established": "847/350 (242%)",
    "trade_union_members_admitted": "122.063/30.000 (406,9%)",
    "youth_unions_established": "216/200 (108%)",
    "youth_union_members_admitted": "6.912/5.000 (138,2%)",
}


def report_json(*args):
    out = io.StringIO()
    call_command("report", *args, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


def by_metric(rows, field="display"):
    return {row["metric"]: row[field] for row in rows}


def test_hanoi_2024_table_in_english(demo):
    data = report_json("fulfilment", "--org", "HN", "--year", "2024", "--language", "en")
    assert data["organization"] == {"code": "HN", "name": demo.hn.name}
    assert (data["start"], data["end"]) == ("2024-01-01", "2024-12-31")
    assert by_metric(data["rows"]) == HANOI_2024_EN
    members = by_metric(data["rows"], "metric")["members_admitted"]
    assert members == "members_admitted"
    row = next(r for r in data["rows"] if r["metric"] == "members_admitted")
    assert (row["actual"], row["target"], row["percent"]) == (1024, 903, 113.4)
    owners = next(r for r in data["rows"] if r["metric"] == "owners_admitted")
    assert (owners["target"], owners["percent"]) == (None, None)
    # The city's figures are the sums of the committees below it (Hanoi has no targets of its own).
    for metric in ("members_admitted", "trade_unions_established"):
        children = [by_metric(child["rows"], "actual")[metric] for child in data["children"]]
        targets = [by_metric(child["rows"], "target")[metric] for child in data["children"]]
        total = next(r for r in data["rows"] if r["metric"] == metric)
        assert sum(children) == total["actual"] and sum(targets) == total["target"]


def test_hanoi_2024_table_in_vietnamese(demo):
    data = report_json("fulfilment", "--org", "HN", "--year", "2024", "--language", "vi")
    assert by_metric(data["rows"]) == HANOI_2024_VI


def test_uong_bi_admitted_16_by_the_end_of_september_64_percent_of_its_plan(demo):
    data = report_json("fulfilment", "--org", "QN-UB", "--year", "2024", "--as-of", "2024-09-30", "--language", "en")
    members = next(r for r in data["rows"] if r["metric"] == "members_admitted")
    assert members == {
        "metric": "members_admitted",
        "actual": 16,
        "target": 25,
        "percent": 64.0,
        "display": "16/25 (64%)",
    }
    whole_year = engine.fulfilment(demo.uong_bi, 2024).row(Metric.MEMBERS_ADMITTED)
    assert (whole_year.actual, whole_year.target) == (19, 25)


def test_hanoi_since_resolution_09_of_2012(demo):
    report = engine.fulfilment_range(demo.hn, D(2012, 2, 27), END_2024)
    actual = {row.metric.value: row.actual for row in report.rows}
    assert actual["party_orgs_established"] == 1931
    assert actual["members_admitted"] == 12717
    assert actual["owners_admitted"] == 67
    assert actual["mass_orgs_established"] == 8655
    assert actual["trade_unions_established"] + actual["youth_unions_established"] == 8655
    assert actual["mass_org_members_admitted"] == 587258
    assert actual["trade_union_members_admitted"] + actual["youth_union_members_admitted"] == 587258
    assert all(row.target is None and row.percent is None for row in report.rows)
    data = report_json("fulfilment", "--org", "HN", "--start", "2012-02-27", "--end", "2024-12-31", "--language", "vi")
    assert by_metric(data["rows"])["members_admitted"] == "12.717"


def test_quang_ninh_structure_at_the_end_of_2024(demo):
    data = report_json("structure", "--org", "QN", "--date", "2024-12-31", "--language", "en")
    values = by_metric(data["rows"], "value")
    assert values["grassroots_committees"] == 30
    assert values["subordinate_branches"] == 410
    assert values["grassroots_branches"] == 13
    assert values["members"] == 5482
    assert by_metric(data["rows"])["members"] == "5,482"


def test_cam_pha_structure_and_its_two_branches_dissolved_in_2024(demo):
    values = {row.metric: row.value for row in engine.structure(demo.cam_pha, END_2024).rows}
    assert values["branches"] == 28
    assert values["members"] == 461
    assert values["business_owners"] == 19
    assert values["organizations_with_owners"] == 15

    dissolved = Organization.objects.subtree(demo.cam_pha).filter(dissolved_on__year=2024)
    assert dissolved.count() == 2
    before = {row.metric: row.value for row in engine.structure(demo.cam_pha, D(2023, 12, 31)).rows}
    assert before["branches"] == 30
    for branch in dissolved:
        # Its members at the dissolution went to their places of residence.
        closing = MembershipPeriod.objects.filter(organization=branch, ended_on=branch.dissolved_on)
        assert closing.exists()
        assert set(closing.values_list("end_reason", flat=True)) == {PeriodEndReason.DISSOLVED}
        assert set(closing.values_list("member__status", flat=True)) == {MemberStatus.TRANSFERRED_TO_RESIDENCE}


def test_hanoi_gaps_118_eligible_enterprises_and_317_with_one_or_two_members(demo):
    data = report_json("gaps", "--org", "HN", "--date", "2024-12-31", "--language", "en")
    values = by_metric(data["rows"], "value")
    assert values["eligible_enterprises"] == 118
    assert values["enterprises_with_one_or_two_members"] == 317
    assert len(data["eligible_enterprises"]) == 118
    assert len(data["small_enterprises"]) == 317
    assert all(item["official_members"] >= 3 for item in data["eligible_enterprises"])
    assert all(1 <= item["active_members"] <= 2 for item in data["small_enterprises"])


def test_cai_lan_branch_has_admitted_nobody_since_2019(demo):
    report = engine.gaps(demo.qn, END_2024)
    stagnant = {organization.code: organization for organization in report.stagnant_organizations}
    cai_lan = stagnant["QN-HL-CAILAN"]
    assert cai_lan.established_on == D(2012, 2, 1)
    assert cai_lan.last_admitted_on.year == 2019
    # At the end of 2021 its last admission was within three years: not stagnant yet.
    earlier = engine.gaps(demo.qn, D(2021, 12, 31)).stagnant_organizations
    assert "QN-HL-CAILAN" not in {organization.code for organization in earlier}


def test_hanoi_department_sees_the_table_and_downloads_it(client, demo):
    client.force_login(demo.department)
    response = client.get(reverse("reports:dashboard"), {"year": 2024})
    assert response.status_code == 200
    assert response.context["organization"] == demo.hn
    html = response.content.decode()
    for shown in HANOI_2024_VI.values():
        assert shown in html
    export = client.get(reverse("reports:fulfilment_export"), {"format": "xlsx", "year": 2024})
    assert export.status_code == 200
    rows = [[cell.value for cell in line] for line in load_workbook(io.BytesIO(export.content)).active.iter_rows()]
    total = rows[-1]
    assert total[0] == "HN"
    assert total[6:10] == [1024, 903, 113.4, "1.024/903 (113,4%)"]


# The 2025 reform in the demo (issue 13) --------------------------------------------------------------

GOLDEN = Path(__file__).parent / "golden"

#: Hà Nội's 2025 on the committees after the reform: (Party organisations established, members
#: admitted) per committee, from the demo's fixed history (README, "The 2025 reform in the demo").
HANOI_2025 = {
    "HN-KDN": (24, 351),
    "HN-CAUGIAY": (2, 111),
    "HN-NGHIADO": (1, 39),
    "HN-YENHOA": (0, 37),
    "HN-DONGDA": (3, 44),
    "HN-VANMIEU": (4, 54),
    "HN-ODUA": (3, 50),
    "HN-LANG": (4, 57),
    "HN-HAIBATRUNG": (3, 69),
    "HN-BACHMAI": (1, 55),
    "HN-VINHTUY": (0, 70),
    "HN-DONGNGAC": (2, 43),
    "HN-THUONGCAT": (3, 49),
    "HN-XUANDINH": (3, 45),
    "HN-PHUDIEN": (2, 41),
}
HANOI_2025_TOTAL = {
    "party_orgs_established": (55, 90),
    "members_admitted": (1115, 910),
    "owners_admitted": (0, None),
    "mass_orgs_established": (532, 495),
    "mass_org_members_admitted": (56700, 32900),
    "trade_unions_established": (342, 320),
    "trade_union_members_admitted": (47695, 28200),
    "youth_unions_established": (190, 175),
    "youth_union_members_admitted": (9005, 4700),
}


def relative_admissions_in(year):
    """The Hồng Hà (Nghĩa Đô) admissions the demo placed relative to the day it was loaded, in ``year``."""
    return sum(1 for day in relative_admissions(timezone.localdate()) if day.year == year)


def report_text(*args):
    out = io.StringIO()
    call_command("report", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("language", ["en", "vi"])
def test_the_2024_table_is_byte_identical_to_the_one_before_the_reform(demo, language):
    """The golden files were printed by the demo of before the reform was loaded into it."""
    text = report_text("fulfilment", "--org", "HN", "--year", "2024", "--language", language)
    assert text == (GOLDEN / f"hanoi_2024_{language}.txt").read_text(encoding="utf-8")


def test_hanoi_2025_lists_the_ward_committees_and_not_the_districts(demo):
    data = report_json("fulfilment", "--org", "HN", "--year", "2025", "--language", "en")
    extra = relative_admissions_in(2025)
    rows = {c["organization"]["code"]: by_metric(c["rows"], "actual") for c in data["children"]}
    assert set(rows) == set(HANOI_2025)
    got = {
        code: (values["party_orgs_established"], values["members_admitted"] - (extra if code == "HN-NGHIADO" else 0))
        for code, values in rows.items()
    }
    assert got == HANOI_2025
    total = {row["metric"]: (row["actual"], row["target"]) for row in data["rows"]}
    admitted, target = total["members_admitted"]
    assert {**total, "members_admitted": (admitted - extra, target)} == HANOI_2025_TOTAL


def test_the_historical_structure_lists_the_districts_ended_by_the_reform(demo):
    data = report_json("fulfilment", "--org", "HN", "--year", "2025", "--structure", "historical")
    ended = {c["organization"]["code"]: c["ended_on"] for c in data["children"]}
    assert {code: ended[code] for code in ("HN-CG", "HN-DD", "HN-HBT", "HN-BTL")} == dict.fromkeys(
        ("HN-CG", "HN-DD", "HN-HBT", "HN-BTL"), "2025-06-30"
    )
    assert ended["HN-NGHIADO"] is None and ended["HN-KDN"] is None
    # every event counted once, in either structure
    default = report_json("fulfilment", "--org", "HN", "--year", "2025")
    assert by_metric(data["rows"], "actual") == by_metric(default["rows"], "actual")


def test_the_2025_targets_carried_keep_hanois_effective_target(demo):
    before = engine.fulfilment(demo.hn, 2025, as_of=D(2025, 6, 30))
    after = engine.fulfilment(demo.hn, 2025, as_of=D(2025, 11, 30))
    for metric in Metric:
        assert before.row(metric).target == after.row(metric).target
    assert after.row(Metric.MEMBERS_ADMITTED).target == 910
    assert {part.organization.code for part in before.children} >= {"HN-CG", "HN-DD", "HN-HBT", "HN-BTL"}


def test_hanoi_department_sees_both_structures_on_the_dashboard(client, demo):
    client.force_login(demo.department)
    client.cookies["django_language"] = "en"
    params = {"year": 2025, "as_of": "30/11/2025"}
    table = client.get(reverse("reports:dashboard"), params).content.decode().split('id="fulfilment-table"')[1]
    table = table.split("</table>")[0]
    assert "Đảng ủy phường Nghĩa Đô" in table and "Quận ủy Cầu Giấy" not in table
    response = client.get(reverse("reports:dashboard"), {**params, "structure": "historical"})
    table = response.content.decode().split('id="fulfilment-table"')[1].split("</table>")[0]
    assert "Quận ủy Cầu Giấy" in table and "ended 30/06/2025" in table
