"""Each role's main work in a real browser, in both languages, on a desktop and on a 390 × 844 phone
(issue 16): search without marks, the pickers, dates typed as dd/mm/yyyy, the tree and the gaps
reached in full, pages that never widen on a phone; screenshots in test-artifacts/."""

import datetime

import pytest
from django.urls import reverse

from branches.choices import MemberStatus, OrganizationKind, TransferStatus
from branches.models import Member, Transfer
from core.dates import today
from tests.e2e.conftest import LANGUAGES, VIEWPORTS, open_as, page_width
from tests.factories import EnterpriseFactory, OrganizationFactory, TargetFactory
from tests.scoped_views import make_member

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def hang(tree):
    make_member(tree.branch_a, full_name="Trần Văn Bình", enterprise=tree.enterprise_a)
    return make_member(
        tree.branch_a, full_name="Nguyễn Thị Hằng", enterprise=tree.enterprise_a, admitted_on=datetime.date(2020, 3, 2)
    )


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("language", LANGUAGES)
def test_secretary_finds_a_member_without_marks_and_transfers_her_by_picking_the_organisation(
    live_server, new_page, screenshot, tree, secretary_a, hang, language, viewport
):
    page = open_as(new_page, live_server, "secretary_a", language, viewport)
    name = f"secretary-{language}-{viewport}"

    # The member list: typed without marks or capitals.
    page.goto(f"{live_server.url}{reverse('branches:member_list')}")
    if viewport == "phone":
        assert page.locator("#filters").get_attribute("open") is None  # folded away
        page.click("#filters > summary")
    page.fill("#id_q", "nguyen thi hang")
    with page.expect_navigation():
        page.click("#filters button[type=submit]")
    rows = page.locator("#content table tbody tr")
    assert rows.count() == 1 and "Nguyễn Thị Hằng" in rows.first.inner_text()
    screenshot(page, f"{name}-member-search")
    if viewport == "phone":
        assert page_width(page) <= 390
        assert rows.first.locator("td").nth(1).get_attribute("data-label")  # a card naming its values

    # The transfer: the receiving organisation picked by part of its name, the date as dd/mm/yyyy.
    page.goto(f"{live_server.url}{reverse('branches:member_transfer', args=[hang.pk])}")
    page.click("#id_to_organization-ts-control")
    page.fill("#id_to_organization-ts-control", "binh minh")
    option = page.locator(".ts-dropdown .option", has_text=tree.branch_b.name)
    option.wait_for()
    option.click()
    on = today()
    page.fill("#id_on", on.strftime("%d/%m/%Y"))
    screenshot(page, f"{name}-transfer")
    if viewport == "phone":
        assert page_width(page) <= 390
    with page.expect_navigation():
        page.click("#content form button[type=submit]")
    # An official transfer is in transit until the receiving branch confirms the letter.
    transfer = Transfer.objects.get(member=hang)
    assert (transfer.to_organization, transfer.status) == (tree.branch_b, TransferStatus.IN_TRANSIT)
    hang.refresh_from_db()
    assert hang.status == MemberStatus.IN_TRANSIT
    assert Member.history.filter(id=hang.pk).exists()
    assert page.errors == []


@pytest.fixture
def committees(tree):
    """Committees below the department's committee, each with a branch, an enterprise without a
    Party organisation (a gap) and targets for this year."""
    made = []
    for index in range(3):
        committee = OrganizationFactory(
            code=f"SUB-{index}", name=f"Đảng ủy phường Số {index}", locality=tree.province, parent=tree.committee
        )
        OrganizationFactory(
            code=f"SUB-{index}-CB",
            name=f"Chi bộ phường Số {index}",
            kind=OrganizationKind.GRASSROOTS_BRANCH,
            locality=tree.commune,
            parent=committee,
        )
        enterprise = EnterpriseFactory(name=f"Công ty Gap {index}", locality=tree.commune, managing_committee=committee)
        make_member(tree.branch_a, enterprise=enterprise, full_name=f"Đảng viên Gap {index}")
        TargetFactory(committee=committee, year=today().year, value=2)
        made.append(committee)
    return made


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("language", LANGUAGES)
def test_department_reaches_every_committee_and_every_gap(
    live_server, new_page, screenshot, tree, department, committees, language, viewport
):
    page = open_as(new_page, live_server, "department", language, viewport)
    name = f"department-{language}-{viewport}"

    # The tree: every committee of the subtree, following the pages.
    page.goto(f"{live_server.url}{reverse('branches:organization_tree')}")
    seen = set()
    while True:
        seen |= set(page.locator("#content table tbody tr td:first-child a").all_inner_texts())
        next_link = page.locator("#content a[rel=next]")
        if not next_link.count():
            break
        with page.expect_navigation():
            next_link.first.click()
    assert {committee.name for committee in committees} | {tree.committee.name} <= seen
    screenshot(page, f"{name}-tree")

    # The dashboard: this year by default, last year one click away, the table scrolling in its card.
    page.goto(f"{live_server.url}{reverse('reports:dashboard')}")
    assert str(today().year) in page.inner_text("#report-period")
    if viewport == "phone":
        assert page_width(page) <= 390
    screenshot(page, f"{name}-dashboard")
    with page.expect_navigation():
        page.click("#year-links a:nth-child(2)")
    assert str(today().year - 1) in page.inner_text("#report-period")
    assert page.locator("#no-targets").is_visible()

    # An as-of date outside the year is refused at the field.
    page.goto(f"{live_server.url}{reverse('reports:dashboard')}?year={today().year}")
    page.fill("#id_as_of", f"01/03/{today().year + 1}")
    with page.expect_navigation():
        page.click(".report-filters button[type=submit]")
    assert page.locator(".report-filters .invalid-feedback").is_visible()

    # Every gap list in full.
    page.goto(f"{live_server.url}{reverse('reports:dashboard')}")
    gap_links = page.locator("a.see-all")
    hrefs = [gap_links.nth(index).get_attribute("href") for index in range(gap_links.count())]
    assert len(hrefs) == 3
    for index, href in enumerate(hrefs):
        page.goto(f"{live_server.url}{href}")
        assert page.locator("main#content h1").count() == 1
        screenshot(page, f"{name}-gap-{index}")
    page.goto(f"{live_server.url}{reverse('reports:gap_list', args=['small-enterprises'])}")
    listed = page.inner_text("main")
    assert all(f"Công ty Gap {index}" in listed for index in range(len(committees)))

    # The target grid scrolls inside its card, never the page.
    page.goto(f"{live_server.url}{reverse('reports:targets')}")
    screenshot(page, f"{name}-targets")
    if viewport == "phone":
        assert page_width(page) <= 390
    assert page.errors == []


def test_a_phone_never_scrolls_the_page_sideways(live_server, new_page, screenshot, tree, department, committees):
    page = open_as(new_page, live_server, "department", "vi", "phone")
    for name, url in [
        ("members", reverse("branches:member_list")),
        ("enterprises", reverse("enterprises:enterprise_list")),
        ("organisations", reverse("branches:organization_list")),
        ("dashboard", reverse("reports:dashboard")),
        ("targets", reverse("reports:targets")),
    ]:
        page.goto(f"{live_server.url}{url}")
        screenshot(page, f"phone-{name}")
        assert page_width(page) <= 390, name
    assert page.errors == []
