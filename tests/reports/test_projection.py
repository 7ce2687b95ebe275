"""The on-track projection against hand-computed cases: the profile of the previous years, the
linear fall-back, the report JSON (API and CLI), the dashboard and the benchmark's back-test."""

import datetime
import importlib.util
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from branches.choices import OrganizationKind
from reports import engine
from reports.metrics import Metric
from reports.projection import LINEAR, PROFILE, backtest_mape, fulfilment_projection, project
from tests.api_conftest import *  # noqa: F403
from tests.api_conftest import API
from tests.factories import MemberFactory, OrganizationFactory, TargetFactory

pytestmark = pytest.mark.django_db

D = datetime.date


def test_project_divides_by_the_averaged_share_and_falls_back_to_linear():
    # 2022: 1 of 4 by 30 June (25%), 2021: 3 of 6 (50%), 2020: no admission (left out) → 37.5%.
    history = [(2022, 1, 4), (2021, 3, 6), (2020, 0, 0)]
    assert project(6, D(2023, 6, 30), history) == (16, PROFILE, Decimal("0.375"), (2022, 2021))
    # No history: 30 June 2023 is day 181 of 365 → 10 × 365 / 181 = 20.17 → 20.
    assert project(10, D(2023, 6, 30), [])[:2] == (20, LINEAR)
    # Years with a total but nothing by that day give no profile: linear as well.
    assert project(10, D(2023, 6, 30), [(2022, 0, 5)])[:2] == (20, LINEAR)
    assert project(7, D(2023, 12, 31), history)[0] == 7  # the year is over: the actual


@pytest.fixture
def history(tree):
    """BR-A's admissions: 2021 2 by 30 June of 8, 2022 3 of 6, 2023 none, 2024 6 by 30 June;
    a branch established on 1 March 2024 (none in the previous years); targets of DIST for 2024."""
    dates = {
        2021: [D(2021, 3, 1), D(2021, 6, 30)] + [D(2021, 9, 1)] * 6,
        2022: [D(2022, 2, 1)] * 3 + [D(2022, 7, 1)] * 3,
        2024: [D(2024, 1, 15)] * 3 + [D(2024, 6, 30)] * 3 + [D(2024, 7, 1)],
    }
    for days in dates.values():
        for day in days:
            MemberFactory(organization=tree.branch_a, admitted_on=day)
    OrganizationFactory(
        code="BR-NEW", kind=OrganizationKind.GRASSROOTS_BRANCH, parent=tree.committee, established_on=D(2024, 3, 1)
    )
    TargetFactory(committee=tree.committee, year=2024, metric=Metric.MEMBERS_ADMITTED, value=15)
    TargetFactory(committee=tree.committee, year=2024, metric=Metric.PARTY_ORGS_ESTABLISHED, value=3)
    return tree


def test_the_projection_of_a_report_at_30_june_is_the_hand_computed_one(history):
    report = engine.fulfilment(history.committee, 2024, as_of=D(2024, 6, 30))
    by_metric = {item.metric: item for item in fulfilment_projection(report)}
    assert set(by_metric) == {Metric.MEMBERS_ADMITTED, Metric.PARTY_ORGS_ESTABLISHED}  # only those with targets
    admitted = by_metric[Metric.MEMBERS_ADMITTED]
    # (2/8 + 3/6) / 2 = 0.375; 6 / 0.375 = 16 ≥ 15.
    assert (admitted.actual, admitted.projected, admitted.method, admitted.years) == (6, 16, PROFILE, (2022, 2021))
    assert admitted.status == "on_track"
    established = by_metric[Metric.PARTY_ORGS_ESTABLISHED]
    # No establishment in 2021–2023: linear, 1 × 366 / 182 = 2.01 → 2 < 3.
    assert (established.actual, established.projected, established.method) == (1, 2, LINEAR)
    assert established.status == "at_risk"


def test_the_report_json_carries_the_projection(api, history, department):
    data = api.department.get(
        f"{API}reports/fulfilment/", {"organization": "DIST", "year": 2024, "as_of": "2024-06-30"}
    ).json()
    projection = {item["metric"]: item for item in data["projection"]}
    assert projection["members_admitted"]["projected"] == 16 and projection["members_admitted"]["status"] == "on_track"
    assert projection["members_admitted"]["share"] == 0.375 and projection["members_admitted"]["years"] == [2022, 2021]
    out = io.StringIO()
    call_command(
        "report", "fulfilment", "--org", "DIST", "--year", "2024", "--as-of", "2024-06-30", "--format", "json",
        stdout=out,
    )  # fmt: skip
    cli = {item["metric"]: item for item in json.loads(out.getvalue())["projection"]}
    assert cli["party_orgs_established"] == {
        "metric": "party_orgs_established", "actual": 1, "target": 3, "projected": 2, "method": "linear",
        "share": None, "years": [], "status": "at_risk",
    }  # fmt: skip
    ranged = api.department.get(
        f"{API}reports/fulfilment/", {"organization": "DIST", "start": "2024-01-01", "end": "2024-06-30"}
    ).json()
    assert ranged["projection"] == []  # no targets for a range


def test_the_dashboard_shows_the_projection_of_an_unfinished_year(client, history, department):
    client.force_login(department)
    page = client.get(
        reverse("reports:dashboard"), {"organization": "DIST", "year": 2024, "as_of": "30/06/2024"},
        HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip
    body = page.content.decode()
    assert 'id="projection-table"' in body and 'data-status="at_risk"' in body and 'data-status="on_track"' in body
    whole_year = client.get(reverse("reports:dashboard"), {"organization": "DIST", "year": 2024})
    assert 'id="projection-table"' not in whole_year.content.decode()


def test_the_benchmark_back_test_runs_on_a_small_database(history):
    # 2024 at 30 June: members 6 → 16 against 7 at year end (128.6%), organisations 1 → 2 against 1
    # (100%); 2022 at 30 June: members from 2021's profile (25%): 3 → 12 against 6 (100%).
    assert backtest_mape(history.committee, [2022, 2024]).quantize(Decimal("0.1")) == Decimal("109.5")
    spec = importlib.util.spec_from_file_location("bench_module", Path(__file__).parents[2] / "bench" / "bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(out):
        mape = bench.print_projection_mape(history.committee, 2024)
    assert mape is not None and out.getvalue().startswith("projection_mape_june=")
