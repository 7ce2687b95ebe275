"""Lists that go on (issue 16, deliverable 5): the organisation tree pages and reaches every
committee; the dashboard's gap lists have "see all" pages and exports."""

import csv
import datetime
import io
import re

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from branches import views as branch_views
from branches.choices import OrganizationKind
from reports import views as report_views
from tests.factories import EnterpriseFactory, MemberFactory, OrganizationFactory
from tests.scoped_views import login

D = datetime.date
TREE = reverse("branches:organization_tree")


@pytest.fixture
def committees(tree):
    """Five committees below the department's committee, each with a branch: more rows than a page."""
    made = []
    for n in range(1, 6):
        committee = OrganizationFactory(
            code=f"HN-{n}", name=f"Đảng ủy phường {n}", locality=tree.province, parent=tree.committee
        )
        OrganizationFactory(
            code=f"HN-{n}-B",
            name=f"Chi bộ {n}",
            kind=OrganizationKind.GRASSROOTS_BRANCH,
            locality=tree.commune,
            parent=committee,
        )
        made.append(committee)
    return made


def codes(response):
    return [organization.code for organization in response.context["organizations"]]


def test_the_tree_pages_on_until_every_organisation_is_shown(client, department, committees, monkeypatch):
    monkeypatch.setattr(branch_views.OrganizationTreeView, "paginate_by", 4)
    login(client, department)
    first = client.get(TREE)
    html = first.content.decode()
    assert first.context["page_obj"].paginator.num_pages > 1
    assert 'rel="next"' in html and "?page=2" in html
    seen = []
    for number in range(1, first.context["page_obj"].paginator.num_pages + 1):
        seen += codes(client.get(TREE, {"page": number}))
    assert {f"HN-{n}" for n in range(1, 6)} <= set(seen)
    assert len(seen) == len(set(seen))  # no row twice


def test_every_committee_is_one_click_away(client, department, committees, monkeypatch):
    monkeypatch.setattr(branch_views.OrganizationTreeView, "paginate_by", 4)
    login(client, department)
    response = client.get(TREE)
    shortcuts = [organization.code for organization in response.context["shortcuts"]]
    assert {f"HN-{n}" for n in range(1, 6)} <= set(shortcuts)
    last = committees[-1]
    assert f'href="?within={last.pk}"' in response.content.decode()
    subtree = client.get(TREE, {"within": last.pk})
    assert codes(subtree) == ["HN-5", "HN-5-B"]
    assert "Đảng ủy Khối doanh nghiệp" in subtree.content.decode()  # the way back up


@pytest.mark.parametrize("within", ["abc", "99999999", "-1", "1" * 40])
def test_a_wrong_within_shows_the_whole_tree(client, department, committees, within):
    login(client, department)
    response = client.get(TREE, {"within": within})
    assert response.status_code == 200 and response.context["within"] is None


def test_a_secretary_cannot_open_another_subtree(client, secretary_a, tree):
    login(client, secretary_a)
    response = client.get(TREE, {"within": tree.branch_b.pk})
    assert response.context["within"] is None
    assert "BR-B" not in codes(response)


@pytest.fixture
def small_enterprises(tree):
    """Seven enterprises without a Party organisation, one member each (the "one or two" gap)."""
    made = []
    for n in range(7):
        enterprise = EnterpriseFactory(
            managing_committee=tree.committee, locality=tree.commune, name=f"Công ty Nhỏ {n}"
        )
        MemberFactory(organization=tree.branch_a, enterprise=enterprise, admitted_on=D(2024, 3, 1))
        made.append(enterprise)
    return made


def gap_url(kind):
    return reverse("reports:gap_list", args=[kind])


def test_the_dashboard_links_each_gap_list_in_full(client, department, small_enterprises):
    client.force_login(department)
    html = client.get(reverse("reports:dashboard"), {"year": 2024}).content.decode()
    for kind in ("eligible-enterprises", "small-enterprises", "stagnant-organizations"):
        assert re.search(rf'href="{gap_url(kind)}\?organization=DIST&amp;year=2024"', html), kind
        assert f'href="{gap_url(kind)}?format=xlsx&amp;organization=DIST' in html


def test_see_all_pages_through_every_row(client, department, small_enterprises, monkeypatch):
    monkeypatch.setattr(report_views, "GAP_LIST_PAGE", 3)
    client.force_login(department)
    names = []
    first = client.get(gap_url("small-enterprises"), {"year": 2024})
    assert first.status_code == 200
    pages = first.context["page_obj"].paginator.num_pages
    assert pages == 3
    for number in range(1, pages + 1):
        names += [
            row.name for row in client.get(gap_url("small-enterprises"), {"year": 2024, "page": number}).context["rows"]
        ]
    assert sorted(names) == sorted(enterprise.name for enterprise in small_enterprises)


def test_gap_list_exports_every_row(client, department, small_enterprises):
    client.force_login(department)
    response = client.get(gap_url("small-enterprises"), {"year": 2024, "format": "xlsx"})
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + len(small_enterprises)
    assert {row[0] for row in rows[1:]} == {enterprise.name for enterprise in small_enterprises}
    assert all(row[3] == 1 for row in rows[1:])
    text = client.get(gap_url("stagnant-organizations"), {"year": 2024, "format": "csv"}).content.decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text)))[0][:2] == ["tên", "mã"]


def test_gap_lists_refuse_what_they_do_not_know(client, department, secretary_a, tree):
    client.force_login(department)
    assert client.get(gap_url("everything")).status_code == 404
    assert client.get(gap_url("small-enterprises"), {"format": "pdf"}).status_code == 400
    # Secretaries read their own subtree's reports, never another branch's.
    client.force_login(secretary_a)
    assert client.get(gap_url("small-enterprises"), {"organization": "BR-B"}).status_code in (403, 404)
    assert client.get(gap_url("small-enterprises"), {"organization": "BR-A"}).status_code == 200
