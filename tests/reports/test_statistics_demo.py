"""Statutory statistics on the demo data (``load_demo``): the movement identity on every row."""

import datetime

import pytest

from branches.models import Member, MembershipPeriod, Organization
from reports.statistics import half_year, member_movement

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.mark.parametrize("year", [2024, 2025])
def test_movement_identity_on_every_row_of_the_demo(demo, year):
    # Cẩm Phả and Uông Bí ended on 1 July 2025 (the reform): 2025 is read on Nghĩa Đô and Cẩm Phả ward.
    later = Organization.objects.filter(code__in=["HN-NGHIADO", "QN-CAMPHA"])
    for organization in (demo.hn, demo.qn, *((demo.cam_pha, demo.uong_bi) if year == 2024 else later)):
        for start, end in ((D(year, 1, 1), D(year, 12, 31)), half_year(year, 1), half_year(year, 2)):
            if not organization.is_active_on(end):
                continue  # the wards began on 1 July 2025
            report = member_movement(organization, start, end)
            assert report.children
            for row in (report.total, *report.children):
                assert row.balanced, (organization.code, start, end, row)


def test_hanoi_2024_movement_matches_the_records(demo):
    report = member_movement(demo.hn, D(2024, 1, 1), D(2024, 12, 31))
    total = report.total
    in_hanoi = MembershipPeriod.objects.filter(organization__path__startswith=demo.hn.path)
    assert total.at_end == in_hanoi.on(D(2024, 12, 31)).count()
    assert total.at_start == in_hanoi.on(D(2023, 12, 31)).count()
    # Every admission of 2024 by Hanoi's organisations opened the member's first period there.
    assert (
        total.admitted
        == Member.objects.filter(
            admitted_by__path__startswith=demo.hn.path, admitted_on__range=(D(2024, 1, 1), D(2024, 12, 31))
        ).count()
        == 1024
    )
    assert total.additions > 0 and total.removals > 0
    assert sum(row.at_end for row in report.children) == total.at_end


def test_cli_movement_of_hanoi_2024_balances_on_every_row(demo):
    import io
    import json

    from django.core.management import call_command

    out = io.StringIO()
    call_command(
        "report", "movement", "--org", "HN", "--start", "2024-01-01", "--end", "2024-12-31", "--format", "json",
        stdout=out,
    )  # fmt: skip
    data = json.loads(out.getvalue())
    assert data["children"]
    for row in (data["total"], *data["children"]):
        assert row["at_start"] + row["additions"] - row["removals"] == row["at_end"]
