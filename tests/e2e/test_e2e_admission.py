"""End to end in a real browser: a secretary admits a prospect; the committee above sees it counted."""

import pytest
from django.urls import reverse

from branches.models import Member
from core.dates import today
from reports import engine
from reports.metrics import Metric
from tests.e2e.conftest import sign_in
from tests.factories import ProspectFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_secretary_admits_prospect_and_department_sees_it_counted(
    live_server, new_page, screenshot, tree, secretary_a, department
):
    prospect = ProspectFactory(
        organization=tree.branch_a,
        enterprise=tree.enterprise_a,
        full_name="Lý Thị Kết Nạp",
        is_business_owner=False,
        ready=True,  # dossier complete: the rules allow the admission
    )
    year = today().year

    # The secretary signs in and lands on the branch's home page.
    page = new_page()
    sign_in(page, live_server, "secretary_a")
    assert page.url.endswith(reverse("home:organization", args=[tree.branch_a.pk]))
    assert tree.branch_a.name in page.inner_text("#active-organization")
    screenshot(page, "01-secretary-home")

    # Prospects → the prospect → admit.
    with page.expect_navigation():
        page.click(f"nav a[href='{reverse('branches:prospect_list')}']")
    with page.expect_navigation():
        page.click(f"#content a[href='{reverse('branches:prospect_detail', args=[prospect.pk])}']")
    with page.expect_navigation():
        page.click(f"a[href='{reverse('branches:prospect_admit', args=[prospect.pk])}']")
    page.fill("#id_admitted_on", today().isoformat())
    page.fill("#id_party_card_number", "E2E-0001")
    screenshot(page, "02-admit-form")
    with page.expect_navigation():
        page.click("#content form button[type=submit]")
    member = Member.objects.get(full_name="Lý Thị Kết Nạp")
    assert page.url.endswith(reverse("branches:member_detail", args=[member.pk]))
    assert page.locator(".alert-success").count() == 1
    screenshot(page, "03-member-detail")

    # The new member is in the list.
    with page.expect_navigation():
        page.click(f"nav a[href='{reverse('branches:member_list')}']")
    assert page.locator("#content table").get_by_text("Lý Thị Kết Nạp").count() == 1
    screenshot(page, "04-member-list")
    assert page.errors == []

    # Department staff of the committee above see the admission counted.
    staff = new_page()
    sign_in(staff, live_server, "department")
    # Department staff land on the dashboard; its total row counts the admission.
    assert staff.url.split("?")[0].endswith(reverse("reports:dashboard"))
    column = list(engine.METRICS).index(Metric.MEMBERS_ADMITTED) + 1
    total = staff.locator(f"#fulfilment-total td:nth-of-type({column})").inner_text()
    assert total.strip().split("/")[0] == "1"
    screenshot(staff, "05-department-dashboard")
    staff.goto(
        f"{live_server.url}{reverse('branches:member_list')}?admitted_year={year}&organization={tree.committee.code}"
    )
    table = staff.locator("#content table")
    assert table.get_by_text("Lý Thị Kết Nạp").count() == 1
    assert staff.locator("#content table tbody tr").count() == 1
    # Read-only: no admit button for department staff.
    assert staff.locator(f"a[href='{reverse('branches:member_admit')}']").count() == 0
    screenshot(staff, "06-department-member-list")
    assert staff.errors == []
