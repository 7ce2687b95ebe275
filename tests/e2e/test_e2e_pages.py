"""Every main page in a real browser, in Vietnamese and in English: renders with no console error
(a script blocked by the Content-Security-Policy would show up as one), with screenshots to look at."""

import datetime

import pytest
from django.urls import reverse

from tests.e2e.conftest import sign_in
from tests.factories import MassOrganizationFactory, MembershipReturnFactory, ProspectFactory
from tests.scoped_views import make_member

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def records(tree):
    member = make_member(tree.branch_a, enterprise=tree.enterprise_a, full_name="Nguyễn Thị Mẫu", official_on=None)
    make_member(tree.branch_a, full_name="Trần Văn Chính Thức", official_on=datetime.date(2021, 3, 1))
    ProspectFactory(organization=tree.branch_a, enterprise=tree.enterprise_a, is_business_owner=False)
    mass_organization = MassOrganizationFactory(enterprise=tree.enterprise_a, name="Công đoàn cơ sở An Phát")
    MembershipReturnFactory(mass_organization=mass_organization, members_total=1234, members_admitted=1234)
    return member, mass_organization


@pytest.mark.parametrize("language", ["vi", "en"])
def test_main_pages_render_without_errors(live_server, new_page, screenshot, tree, secretary_a, records, language):
    member, mass_organization = records
    page = new_page()
    sign_in(page, live_server, "secretary_a")
    if language == "en":
        with page.expect_navigation():  # static/js/app.js submits the form on change
            page.select_option("#language-select", "en")
    assert page.get_attribute("html", "lang") == language
    pages = [
        ("home", reverse("home:organization", args=[tree.branch_a.pk])),
        ("members", reverse("branches:member_list")),
        ("member", reverse("branches:member_detail", args=[member.pk])),
        ("transfer", reverse("branches:member_transfer", args=[member.pk])),
        ("prospects", reverse("branches:prospect_list")),
        ("enterprise", reverse("enterprises:enterprise_detail", args=[tree.enterprise_a.pk])),
        ("massorganizations", reverse("enterprises:massorganization_list")),
        ("massorganization-add", reverse("enterprises:massorganization_add")),
        ("tree", reverse("branches:organization_tree")),
    ]
    for name, url in pages:
        page.goto(f"{live_server.url}{url}")
        assert page.locator("main#content h1").count() >= 1, name
        screenshot(page, f"page-{language}-{name}")
    assert page.errors == []


def test_navbar_collapses_on_a_phone(live_server, new_page, screenshot, tree, secretary_a):
    page = new_page(width=390, height=844)
    sign_in(page, live_server, "secretary_a")
    assert not page.locator("#main-nav").is_visible()
    page.click(".navbar-toggler")
    page.locator("#main-nav.show:not(.collapsing)").wait_for(state="visible")
    screenshot(page, "phone-navbar-open")
    assert page.errors == []
