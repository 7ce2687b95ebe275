"""Golden statutory statistics of the demo (``load_demo``): member movement (form 1-BTCTW) and new
admissions (form 3-BTCTW) of Hanoi and Quang Ninh for 2024, and for 2025 on the committees after
the reform (the demo's 2025 records admissions only: nobody leaves or moves out of a province).

Four Hồng Hà admissions are placed relative to the day the demo is loaded
(``devdata.demo.relative_admissions``); the 2025 figures are pinned without them and the test adds
those that fall in 2025."""

import datetime
import io
import json
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.management import call_command

from branches.models import Member
from reports.statistics import member_movement, new_admissions
from tests.reports.test_reports_golden import relative_admissions_in

pytestmark = pytest.mark.django_db

D = datetime.date

MOVEMENT_FIELDS = (
    "at_start", "admitted", "transferred_in", "restored", "died", "expelled", "struck_off",
    "struck_off_probationary", "resigned", "transferred_out", "at_end",
)  # fmt: skip

MOVEMENT_2024 = {
    "HN": {
        "total": (13582, 1024, 0, 0, 17, 14, 17, 3, 16, 149, 14393),
        "change_percent": 6.0,
        "children": {
            "HN-KDN": (4083, 295, 4329),
            "HN-CG": (2472, 187, 2595),
            "HN-DD": (2297, 163, 2423),
            "HN-HBT": (2631, 212, 2816),
            "HN-BTL": (2099, 167, 2230),
        },
    },
    "QN": {
        "total": (5008, 596, 0, 0, 18, 0, 0, 0, 22, 82, 5482),
        "change_percent": 9.5,
        "children": {
            "QN-HL": (1701, 226, 1895),
            "QN-CP": (431, 55, 461),
            "QN-UB": (939, 19, 941),
            "QN-QY": (1074, 162, 1207),
            "QN-MC": (863, 134, 978),
            "QN-BC": (0, 0, 0),
        },
    },
}

ADMISSIONS_2024 = {
    "HN": {
        "of_whom.total": 1024, "of_whom.women": 455, "of_whom.ethnic_minorities": 0, "of_whom.religious": 0,
        "of_whom.youth_union": 0, "of_whom.business_owners": 13,
        "age.age_18_30": 450, "age.age_31_40": 367, "age.age_41_50": 207, "age.age_over_50": 0,
        "education.not_recorded": 1024, "qualification.not_recorded": 1024, "political_theory.not_recorded": 1024,
        "ownership.private": 412, "ownership.joint_stock": 356, "ownership.foreign_invested": 114,
        "ownership.cooperative": 54, "ownership.non_public_education": 44, "ownership.non_public_health": 44,
        "ownership.not_recorded": 0,
    },
    "QN": {
        "of_whom.total": 596, "of_whom.women": 262, "of_whom.ethnic_minorities": 0, "of_whom.religious": 0,
        "of_whom.youth_union": 0, "of_whom.business_owners": 10,
        "age.age_18_30": 270, "age.age_31_40": 205, "age.age_41_50": 121, "age.age_over_50": 0,
        "education.not_recorded": 596, "qualification.not_recorded": 596, "political_theory.not_recorded": 596,
        "ownership.private": 311, "ownership.joint_stock": 94, "ownership.foreign_invested": 113,
        "ownership.cooperative": 0, "ownership.non_public_education": 43, "ownership.non_public_health": 35,
        "ownership.not_recorded": 0,
    },
}  # fmt: skip


#: 2025 without the admissions placed relative to the load day (Hồng Hà is under HN-NGHIADO).
MOVEMENT_2025 = {
    "HN": {
        "total": (14393, 1115, 0, 0, 0, 0, 0, 0, 0, 0, 15508),
        "children": {
            "HN-KDN": (4329, 351, 4680), "HN-CAUGIAY": (1340, 111, 1451), "HN-NGHIADO": (687, 39, 726),
            "HN-YENHOA": (568, 37, 605), "HN-DONGDA": (599, 44, 643), "HN-VANMIEU": (632, 54, 686),
            "HN-ODUA": (618, 50, 668), "HN-LANG": (574, 57, 631), "HN-HAIBATRUNG": (934, 69, 1003),
            "HN-BACHMAI": (982, 55, 1037), "HN-VINHTUY": (900, 70, 970), "HN-DONGNGAC": (550, 43, 593),
            "HN-THUONGCAT": (564, 49, 613), "HN-XUANDINH": (615, 45, 660), "HN-PHUDIEN": (501, 41, 542),
        },
    },
    "QN": {
        "total": (5482, 162, 0, 0, 0, 0, 0, 0, 0, 0, 5644),
        "children": {
            "QN-HL": (1895, 50, 1945), "QN-QY": (1207, 42, 1249), "QN-MC": (978, 18, 996), "QN-BC": (0, 0, 0),
            "QN-CAMPHA": (148, 6, 154), "QN-QUANGHANH": (110, 3, 113), "QN-CUAONG": (181, 5, 186),
            "QN-MONGDUONG": (22, 3, 25), "QN-UONGBI": (206, 5, 211), "QN-VANGDANH": (344, 11, 355),
            "QN-YENTU": (391, 19, 410),
        },
    },
}  # fmt: skip

ADMISSIONS_2025_QN = {
    "of_whom.total": 162, "of_whom.women": 67, "of_whom.ethnic_minorities": 0, "of_whom.religious": 0,
    "of_whom.youth_union": 0, "of_whom.business_owners": 0,
    "age.age_18_30": 61, "age.age_31_40": 65, "age.age_41_50": 36, "age.age_over_50": 0,
    "education.not_recorded": 162, "qualification.not_recorded": 162, "political_theory.not_recorded": 162,
    "ownership.private": 86, "ownership.joint_stock": 46, "ownership.foreign_invested": 14,
    "ownership.cooperative": 0, "ownership.non_public_education": 6, "ownership.non_public_health": 10,
    "ownership.not_recorded": 0,
}  # fmt: skip


def organizations(demo):
    return {"HN": demo.hn, "QN": demo.qn}


@pytest.mark.parametrize("code", ["HN", "QN"])
def test_movement_of_2024(demo, code):
    expected = MOVEMENT_2024[code]
    report = member_movement(organizations(demo)[code], D(2024, 1, 1), D(2024, 12, 31))
    assert tuple(getattr(report.total, name) for name in MOVEMENT_FIELDS) == expected["total"]
    assert float(report.total.change_percent) == expected["change_percent"]
    children = {row.organization.code: (row.at_start, row.admitted, row.at_end) for row in report.children}
    assert children == expected["children"]
    assert all(row.balanced for row in (report.total, *report.children))


@pytest.mark.parametrize("code", ["HN", "QN"])
def test_new_admissions_of_2024(demo, code):
    report = new_admissions(organizations(demo)[code], D(2024, 1, 1), D(2024, 12, 31))
    assert {key: report.total.get(key) for key in ADMISSIONS_2024[code]} == ADMISSIONS_2024[code]
    assert sum(row.get("of_whom.total") for row in report.children) == ADMISSIONS_2024[code]["of_whom.total"]


@pytest.mark.parametrize("code", ["HN", "QN"])
def test_2025_continues_from_the_end_of_2024_on_the_committees_after_the_reform(demo, code):
    organization = organizations(demo)[code]
    report = member_movement(organization, D(2025, 1, 1), D(2025, 12, 31))
    assert report.total.at_start == MOVEMENT_2024[code]["total"][-1]
    admitted = Member.objects.filter(
        admitted_by__path__startswith=organization.path, admitted_on__range=(D(2025, 1, 1), D(2025, 12, 31))
    ).count()
    assert report.total.admitted == admitted > 0
    assert report.total.balanced
    assert new_admissions(organization, D(2025, 1, 1), D(2025, 12, 31)).total.get("of_whom.total") == admitted
    codes = {row.organization.code for row in report.children}
    ended = {"HN": {"HN-CG", "HN-DD", "HN-HBT", "HN-BTL"}, "QN": {"QN-UB", "QN-CP"}}[code]
    assert not codes & ended
    assert {"HN": "HN-NGHIADO", "QN": "QN-CAMPHA"}[code] in codes
    # 2024 read after the reform keeps the district committees' rows (MOVEMENT_2024)
    before = member_movement(organization, D(2024, 1, 1), D(2024, 12, 31))
    assert ended <= {row.organization.code for row in before.children}


def test_cli_json_of_hanoi_2024_gives_the_golden_figures(demo):
    out = io.StringIO()
    call_command(
        "report", "admissions", "--org", "HN", "--start", "2024-01-01", "--end", "2024-12-31", "--format", "json",
        stdout=out,
    )  # fmt: skip
    counts = json.loads(out.getvalue())["total"]["counts"]
    assert {key: counts[key] for key in ADMISSIONS_2024["HN"]} == ADMISSIONS_2024["HN"]


@pytest.mark.parametrize("code", ["HN", "QN"])
def test_movement_of_2025(demo, code):
    extra = relative_admissions_in(2025) if code == "HN" else 0
    expected = MOVEMENT_2025[code]
    report = member_movement(organizations(demo)[code], D(2025, 1, 1), D(2025, 12, 31))
    total = list(expected["total"])
    total[1] += extra
    total[-1] += extra
    assert tuple(getattr(report.total, name) for name in MOVEMENT_FIELDS) == tuple(total)
    children = {row.organization.code: (row.at_start, row.admitted, row.at_end) for row in report.children}
    if extra:
        start, admitted, end = children["HN-NGHIADO"]
        children["HN-NGHIADO"] = (start, admitted - extra, end - extra)
    assert children == expected["children"]
    assert all(row.balanced for row in (report.total, *report.children))
    grown = Decimal(total[-1] - total[0]) * 100 / total[0]  # against the end of 2024
    assert report.total.change_percent == grown.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def test_new_admissions_of_2025(demo):
    report = new_admissions(demo.qn, D(2025, 1, 1), D(2025, 12, 31))
    assert {key: report.total.get(key) for key in ADMISSIONS_2025_QN} == ADMISSIONS_2025_QN
    hanoi = new_admissions(demo.hn, D(2025, 1, 1), D(2025, 12, 31))
    total = hanoi.total.get("of_whom.total")
    assert total == 1115 + relative_admissions_in(2025)
    for group in ("age", "ownership"):
        assert sum(value for key, value in hanoi.total.counts.items() if key.startswith(f"{group}.")) == total
