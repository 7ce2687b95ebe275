"""The dashboard's gap lists (reports_ui.gap_enterprise_items / gap_organization_items): links,
counts in words in both languages, dates in the locale's short format, escaping."""

import datetime
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import translation

from reports.templatetags.reports_ui import gap_enterprise_items, gap_organization_items
from tests.factories import EnterpriseFactory, MemberFactory

D = datetime.date


def enterprise(pk, name, tax_code, **counts):
    return SimpleNamespace(pk=pk, name=name, tax_code=tax_code, **counts)


@pytest.mark.parametrize(
    "language, one, three",
    [("en", "1 official member", "3 official members"), ("vi", "1 đảng viên chính thức", "3 đảng viên chính thức")],
)
def test_enterprise_items_link_each_enterprise_and_count_in_words(language, one, three):
    items = [
        enterprise(7, "An <Phát> & Co", "0101234567", official_members=1),
        enterprise(8, "Bình", "02", official_members=3),
    ]
    with translation.override(language):
        html = gap_enterprise_items(items, "official_members")
    assert html == (
        f'<li><a href="{reverse("enterprises:enterprise_detail", args=[7])}">An &lt;Phát&gt; &amp; Co</a> '
        f'<span class="text-body-secondary">0101234567 · {one}</span></li>'
        f'<li><a href="{reverse("enterprises:enterprise_detail", args=[8])}">Bình</a> '
        f'<span class="text-body-secondary">02 · {three}</span></li>'
    )


def test_enterprise_items_count_members_for_the_small_enterprises():
    with translation.override("en"):
        html = gap_enterprise_items([enterprise(1, "A", "1", active_members=2)], "active_members")
    assert "1 · 2 members</span>" in html


def test_no_enterprise_writes_no_item():
    assert gap_enterprise_items([], "official_members") == ""


def test_organization_items_say_when_each_admitted_last():
    organizations = [
        SimpleNamespace(pk=3, name="Chi bộ <A>", code="BR-A", last_admitted_on=D(2020, 5, 4)),
        SimpleNamespace(pk=4, name="Chi bộ B", code="BR-B", last_admitted_on=None),
    ]
    with translation.override("en"):
        english = gap_organization_items(organizations)
    with translation.override("vi"):
        vietnamese = gap_organization_items(organizations)
    link = reverse("branches:organization_detail", args=[3])
    assert english.startswith(f'<li><a href="{link}">Chi bộ &lt;A&gt;</a> <span class="text-body-secondary">BR-A · ')
    # day/month/year in English too (issue 16)
    assert "last admission 04/05/2020" in english and "no admission recorded" in english
    assert "lần kết nạp gần nhất 04/05/2020" in vietnamese and "chưa ghi nhận lần kết nạp nào" in vietnamese


def test_the_dashboard_lists_the_gaps_it_counts(client, department, tree):
    small = EnterpriseFactory(managing_committee=tree.committee, locality=tree.commune, name="Công ty Nhỏ")
    MemberFactory(organization=tree.branch_a, enterprise=small, admitted_on=D(2024, 3, 1))
    client.force_login(department)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("reports:dashboard"), {"year": 2024}).content.decode()
    start = page.index('id="small-enterprises"')
    section = page[start : page.index("</details>", start)]
    assert f'<a href="{reverse("enterprises:enterprise_detail", args=[small.pk])}">Công ty Nhỏ</a>' in section
    assert "1 member</span>" in section
    start = page.index('id="eligible-enterprises"')
    assert "None." in page[start : page.index("</details>", start)]
