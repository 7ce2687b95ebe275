"""The dashboard, the targets grid and the fulfilment export, for the four personas."""

import csv
import datetime
import io
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from branches.choices import OrganizationKind
from branches.models import Organization
from core.versions import bump
from reports import engine
from reports.metrics import Metric
from reports.models import Target
from tests.factories import EnterpriseFactory, MemberFactory, OrganizationFactory, TargetFactory, UserFactory

D = datetime.date
DASHBOARD = reverse("reports:dashboard")
TARGETS = reverse("reports:targets")
EXPORT = reverse("reports:fulfilment_export")


def admit(organization, on, **kwargs):
    kwargs.setdefault("is_business_owner", False)
    return MemberFactory(organization=organization, admitted_on=on, **kwargs)


@pytest.fixture
def year_2024(tree):
    """Two admissions in branch A, one in branch B, a target of 3 for each branch's row."""
    admit(tree.branch_a, D(2024, 2, 1))
    admit(tree.branch_a, D(2024, 5, 1))
    admit(tree.branch_b, D(2024, 5, 20))
    TargetFactory(committee=tree.branch_a, metric=Metric.MEMBERS_ADMITTED, value=3)
    TargetFactory(committee=tree.branch_b, metric=Metric.MEMBERS_ADMITTED, value=3)
    return tree


@pytest.fixture
def sub_committees(tree):
    """Two committees directly below department staff's committee (whose targets they set)."""
    return [
        OrganizationFactory(
            code=f"SUB{index}", name=f"Đảng ủy phường {index}", locality=tree.province, parent=tree.committee
        )
        for index in (1, 2)
    ]


def get(client, user, url, **params):
    client.force_login(user)
    return client.get(url, params)


# Dashboard --------------------------------------------------------------------------------


def test_department_staff_see_their_committee_dashboard(client, department, year_2024):
    response = get(client, department, DASHBOARD, year=2024)
    assert response.status_code == 200
    assert response.context["organization"] == year_2024.committee
    html = response.content.decode()
    assert "Chi bộ Công ty An Phát" in html and "Chi bộ Công ty Bình Minh" in html
    total = response.context["report"].row(Metric.MEMBERS_ADMITTED)
    assert (total.actual, total.target) == (3, 6)
    assert "3/6 (50%)" in html  # the total row, in Vietnamese (default)
    assert "2/3 (66,7%)" in html  # branch A's cell
    assert 'class="progress-bar bg-warning" style="width: 66.7%"' in html


def test_dashboard_in_english_groups_digits_the_english_way(client, department, year_2024):
    client.cookies["django_language"] = "en"
    response = get(client, department, DASHBOARD, year=2024)
    assert "2/3 (66.7%)" in response.content.decode()


def test_dashboard_as_of_excludes_later_events_but_keeps_the_target(client, department, year_2024):
    response = get(client, department, DASHBOARD, year=2024, as_of="2024-03-31")
    total = response.context["report"].row(Metric.MEMBERS_ADMITTED)
    assert (total.actual, total.target) == (1, 6)
    assert response.context["structure"].date == D(2024, 3, 31)


def test_dashboard_passes_chart_data_as_json_without_inline_scripts(client, department, year_2024):
    html = get(client, department, DASHBOARD, year=2024).content.decode()
    data = json.loads(re.search(r'<script id="dashboard-data" type="application/json">(.*?)</script>', html).group(1))
    assert data["committees"] == ["BR-A", "BR-B"]
    members = next(metric for metric in data["metrics"] if metric["key"] == "members_admitted")
    assert members["actual"] == [2, 1] and members["target"] == [3, 3]
    assert data["admissions"][1] == 1 and data["admissions"][4] == 2 and sum(data["admissions"]) == 3
    scripts = re.findall(r"<script([^>]*)>", html)
    assert all("src=" in attrs or 'type="application/json"' in attrs for attrs in scripts)
    assert "vendor/chartjs/chart.umd.min.js" in html


def test_dashboard_shows_structure_and_linked_gaps(client, department, tree):
    enterprise = EnterpriseFactory(name="Công ty Chưa Có Chi Bộ", managing_committee=tree.committee)
    for _i in range(3):
        admit(tree.branch_a, D(2020, 1, 1), enterprise=enterprise, official_on=D(2021, 1, 1))
    html = get(client, department, DASHBOARD, year=2024).content.decode()
    assert reverse("enterprises:enterprise_detail", args=[enterprise.pk]) in html
    assert "Công ty Chưa Có Chi Bộ" in html
    assert 'data-metric="members"' in html


def test_department_staff_may_drill_down_within_their_subtree(client, department, tree):
    response = get(client, department, DASHBOARD, organization="BR-A", year=2024)
    assert response.status_code == 200
    assert response.context["organization"] == tree.branch_a
    assert response.context["parent"] == tree.committee


def test_department_staff_get_404_outside_their_subtree(client, department, tree):
    assert get(client, department, DASHBOARD, organization="CITY").status_code == 404
    assert get(client, department, DASHBOARD, organization="NOPE").status_code == 404


def test_secretaries_read_the_dashboard_of_their_own_subtree_only(client, secretary_a, secretary_b, tree):
    response = get(client, secretary_a, DASHBOARD, year=2024)
    assert response.status_code == 200
    assert response.context["organization"] == tree.branch_a
    assert response.context["parent"] is None and not response.context["can_set_targets"]
    assert get(client, secretary_a, DASHBOARD, organization="BR-A").status_code == 200
    for code in ("BR-B", "DIST", "CITY"):
        assert get(client, secretary_a, DASHBOARD, organization=code).status_code == 404
    assert get(client, secretary_b, DASHBOARD, organization="BR-A").status_code == 404


def test_a_user_without_a_role_is_refused_the_dashboard(client, tree):
    assert get(client, UserFactory(username="nobody"), DASHBOARD).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, tree):
    response = client.get(DASHBOARD)
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_administrators_may_pick_any_committee(client, administrator, year_2024):
    response = get(client, administrator, DASHBOARD, organization="CITY", year=2024)
    assert response.status_code == 200
    assert response.context["organization"] == year_2024.city
    assert response.context["report"].row(Metric.MEMBERS_ADMITTED).actual == 3
    assert get(client, administrator, DASHBOARD, year=2024).context["organization"] == year_2024.city


def test_invalid_period_shows_an_error_and_falls_back(client, department, tree):
    response = get(client, department, DASHBOARD, year=2024, as_of="2023-01-01")
    assert response.status_code == 200
    assert response.context["form"].errors["as_of"]
    assert response.context["report"].end == D(2024, 12, 31)


def test_dashboard_queries_stay_constant_as_the_tree_grows(client, department, tree):
    def count():
        client.force_login(department)
        bump()  # as a write would: the dashboard computes its figures, not reads them from the cache
        with CaptureQueriesContext(connection) as context:
            assert client.get(DASHBOARD, {"year": 2024}).status_code == 200
        return len(context.captured_queries)

    def grow(n, tag):
        for index in range(n):
            branch = OrganizationFactory(
                code=f"{tag}{index}",
                kind=OrganizationKind.GRASSROOTS_BRANCH,
                parent=tree.committee,
                locality=tree.commune,
            )
            enterprise = EnterpriseFactory(managing_committee=tree.committee)
            admit(branch, D(2024, 3, 1), enterprise=enterprise, official_on=D(2024, 3, 1))
            TargetFactory(committee=branch, value=2)

    grow(2, "S")
    count()  # warms the standing counts' cached choice of plan
    small = count()
    grow(20, "L")
    assert count() == small


# Export -------------------------------------------------------------------------------------


def test_department_staff_download_the_table_as_xlsx(client, department, year_2024):
    client.cookies["django_language"] = "en"
    response = get(client, department, EXPORT, format="xlsx", year=2024, as_of="2024-12-31")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "fulfilment-DIST-2024-20241231.xlsx" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [[cell.value for cell in line] for line in sheet.iter_rows()]
    assert "Đảng ủy Khối doanh nghiệp" in rows[0][0]
    assert "2024" in rows[1][0]
    codes = [row[0] for row in rows[5:]]
    assert codes == ["BR-A", "BR-B", "DIST"]
    # members_admitted is the second metric: columns 7–10 (actual, target, percent, shown).
    assert rows[5][6:10] == [2, 3, 66.7, "2/3 (66.7%)"]
    assert rows[-1][6:10] == [3, 6, 50.0, "3/6 (50%)"]
    # The structure and gaps on the period's end date, each on a sheet: the total, then each organisation.
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Fulfilment", "Structure", "Gaps"]
    structure = [[cell.value for cell in line] for line in workbook["Structure"].iter_rows()]
    assert "31/12/2024" in structure[0][0]
    assert [row[0] for row in structure[2:]] == ["DIST", "BR-A", "BR-B"]
    figures = engine.structure(Organization.objects.get(code="DIST"), datetime.date(2024, 12, 31))
    assert structure[2][2:] == [row.value if row.total is None else row.display for row in figures.rows]
    gaps = [[cell.value for cell in line] for line in workbook["Gaps"].iter_rows()]
    assert gaps[1][2:] == [str(row.label) for row in engine.gaps(figures.organization, figures.date).rows]


def test_department_staff_download_the_table_as_csv_with_bom(client, department, year_2024):
    response = get(client, department, EXPORT, format="csv", year=2024)
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [line[0] for line in lines[1:]] == ["BR-A", "BR-B", "DIST"]
    assert lines[-1][6:10] == ["3", "6", "50.0", "3/6 (50%)"]


def test_export_follows_the_dashboard_secretaries_included_and_is_refused_outside_the_subtree(
    client, secretary_a, department, tree
):
    assert get(client, secretary_a, EXPORT, format="xlsx").status_code == 200
    assert get(client, secretary_a, EXPORT, format="xlsx", organization="BR-B").status_code == 404
    assert get(client, department, EXPORT, format="xlsx", organization="CITY").status_code == 404
    assert get(client, department, EXPORT, format="pdf").status_code == 400
    assert get(client, department, EXPORT, format="csv", year="abc").status_code == 400


# Targets grid -------------------------------------------------------------------------------


def cell(committee, metric):
    return f"target-{committee.pk}-{metric}"


def test_department_staff_see_the_grid_of_the_committees_below(client, department, sub_committees):
    TargetFactory(committee=sub_committees[0], year=2025, metric=Metric.MEMBERS_ADMITTED, value=40)
    response = get(client, department, TARGETS, year=2025)
    assert response.status_code == 200
    form = response.context["form"]
    assert [c.code for c in form.committees] == ["SUB1", "SUB2"]
    assert form[cell(sub_committees[0], "members_admitted")].value() == 40
    totals = {t["metric"].value: t["value"] for t in response.context["totals"]}
    assert totals["members_admitted"] == 40
    assert totals["party_orgs_established"] is None


def test_department_staff_save_targets_through_the_service(client, department, sub_committees):
    first, second = sub_committees
    client.force_login(department)
    data = {cell(first, "members_admitted"): "25", cell(second, "members_admitted"): "15"}
    data[cell(first, "trade_unions_established")] = "4"
    data[cell(first, "youth_unions_established")] = "2"
    response = client.post(f"{TARGETS}?year=2025", data)
    assert response.status_code == 302
    saved = {(t.committee.code, t.metric): t.value for t in Target.objects.filter(year=2025)}
    assert saved == {
        ("SUB1", "members_admitted"): 25,
        ("SUB2", "members_admitted"): 15,
        ("SUB1", "trade_unions_established"): 4,
        ("SUB1", "youth_unions_established"): 2,
    }
    assert Target.history.filter(history_user=department).count() == 4
    page = client.get(TARGETS, {"year": 2025})
    totals = {t["metric"].value: t["value"] for t in page.context["totals"]}
    assert totals["members_admitted"] == 40
    assert totals["mass_orgs_established"] == 6  # rule 4: the sum of its kinds' targets


def test_clearing_a_cell_removes_the_target(client, department, sub_committees):
    TargetFactory(committee=sub_committees[0], year=2025, metric=Metric.MEMBERS_ADMITTED, value=40)
    client.force_login(department)
    response = client.post(f"{TARGETS}?year=2025", {cell(sub_committees[0], "members_admitted"): ""})
    assert response.status_code == 302
    assert not Target.objects.filter(year=2025).exists()


def test_invalid_cells_are_marked_and_nothing_is_saved(client, department, sub_committees):
    first, second = sub_committees
    client.force_login(department)
    response = client.post(
        f"{TARGETS}?year=2025",
        {
            cell(first, "members_admitted"): "-3",
            cell(second, "members_admitted"): "12",
            cell(second, "owners_admitted"): "x",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {cell(first, "members_admitted"), cell(second, "owners_admitted")}
    assert "is-invalid" in response.content.decode()
    assert not Target.objects.exists()


@pytest.mark.parametrize("persona", ["secretary_a", "secretary_b"])
def test_secretaries_cannot_see_or_set_targets(client, request, persona, sub_committees):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    assert client.get(TARGETS).status_code == 403
    assert client.post(f"{TARGETS}?year=2025", {cell(sub_committees[0], "members_admitted"): "5"}).status_code == 403
    assert not Target.objects.exists()


def test_department_staff_cannot_set_targets_further_down(client, department, sub_committees):
    below = OrganizationFactory(code="DEEP", parent=sub_committees[0], locality=sub_committees[0].locality)
    client.force_login(department)
    page = client.get(TARGETS, {"organization": "SUB1", "year": 2025})
    assert page.status_code == 200 and page.context["form"].committees == []
    response = client.post(f"{TARGETS}?organization=SUB1&year=2025", {cell(below, "members_admitted"): "5"})
    assert response.status_code == 403
    assert client.get(TARGETS, {"organization": "CITY"}).status_code == 404
    assert not Target.objects.exists()


def test_administrators_set_targets_below_any_committee(client, administrator, tree, sub_committees):
    client.force_login(administrator)
    response = client.post(f"{TARGETS}?organization=DIST&year=2025", {cell(sub_committees[1], "members_admitted"): "9"})
    assert response.status_code == 302
    assert Target.objects.get(year=2025).committee == sub_committees[1]
    page = client.get(TARGETS, {"organization": "CITY", "year": 2025})
    assert [c.code for c in page.context["form"].committees] == ["DIST"]
    assert {t["metric"].value: t["value"] for t in page.context["totals"]}["members_admitted"] == 9


def test_long_gap_lists_are_cut_with_a_note_while_the_count_stays_exact(client, department, tree, monkeypatch):
    from reports import figures

    monkeypatch.setattr(figures, "LIST_LIMIT", 1)
    for _i in range(2):
        enterprise = EnterpriseFactory(managing_committee=tree.committee)
        admit(tree.branch_a, D(2020, 1, 1), enterprise=enterprise, official_on=D(2021, 1, 1))
    client.cookies["django_language"] = "en"
    response = get(client, department, DASHBOARD, year=2024)
    assert len(response.context["small_enterprises"]) == 1
    html = response.content.decode()
    assert "Enterprises with one or two members (2)" in html
    assert "The first 1 are listed." in html


def test_dashboard_opens_on_the_current_year_up_to_today_with_last_year_one_click_away(client, department, year_2024):
    today = datetime.date.today()
    response = get(client, department, DASHBOARD)
    assert response.context["year"] == today.year
    assert response.context["report"].end == today
    html = response.content.decode()
    assert f"?organization={year_2024.committee.code}&amp;year={today.year - 1}" in html
    assert get(client, department, DASHBOARD, year=2023).context["year"] == 2023


def test_an_as_of_date_outside_the_year_is_refused_at_the_field(client, department, year_2024):
    client.cookies["django_language"] = "en"
    response = get(client, department, DASHBOARD, year=2024, as_of="01/03/2025")
    assert "as_of" in response.context["form"].errors
    assert "The as-of date must fall in 2024: from 01/01/2024 to 31/12/2024." in response.content.decode()
    assert response.context["report"].end == datetime.date(2024, 12, 31)


def test_a_year_without_targets_says_so_and_links_to_the_grid(client, department, year_2024, sub_committees):
    client.cookies["django_language"] = "en"
    html = get(client, department, DASHBOARD, year=2025).content.decode()
    assert 'id="no-targets"' in html and "No targets are assigned for 2025" in html
    assert "Assign the targets for 2025" in html
    assert 'id="no-targets"' not in get(client, department, DASHBOARD, year=2024).content.decode()


def test_the_fulfilment_table_scrolls_inside_its_card_with_a_sticky_first_column(client, department, year_2024):
    html = get(client, department, DASHBOARD, year=2024).content.decode()
    assert 'data-scroll-cue="fulfilment-scroll-cue"' in html and "sticky-first" in html


def test_navbar_offers_the_dashboard_and_targets_only_to_those_who_may_open_them(client, secretary_a, department):
    secretary_page = get(client, secretary_a, reverse("branches:member_list")).content.decode()
    assert f'href="{DASHBOARD}"' in secretary_page and TARGETS not in secretary_page
    department_page = get(client, department, reverse("branches:member_list")).content.decode()
    assert DASHBOARD in department_page and TARGETS in department_page


@pytest.mark.django_db
def test_a_target_is_named_by_its_metric_in_the_interface_language(tree):
    """The admin's lists and history name a target by its metric's label, not by its code."""
    from django.utils import translation

    target = Target.objects.create(committee=tree.committee, year=2024, metric=Metric.MEMBERS_ADMITTED, value=7)
    with translation.override("vi"):
        assert str(target) == f"DIST 2024 {Metric.MEMBERS_ADMITTED.label} = 7"
        assert "members_admitted" not in str(target)
