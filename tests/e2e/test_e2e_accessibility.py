"""Accessibility of the main pages (issue 16): axe-core, served from the project's static files
(static/vendor/axe/), finds no serious or critical violation, on a desktop and on a phone."""

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.e2e.conftest import ARTIFACTS, LANGUAGES, VIEWPORTS, sign_in
from tests.scoped_views import make_member

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Path(settings.BASE_DIR) / "static" / "vendor" / "axe" / "axe.min.js"
SERIOUS = ("serious", "critical")
# The page's own Content-Security-Policy forbids the inline script add_script_tag(path=) writes:
# the audit's context bypasses it (the other browser tests keep it and fail on any blocked script).
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ")),
  }));
}"""


def audit(browser, live_server, username, pages, *, viewport, language):
    width, height = VIEWPORTS[viewport]
    context = browser.new_context(locale="vi-VN", viewport={"width": width, "height": height}, bypass_csp=True)
    try:
        page = context.new_page()
        sign_in(page, live_server, username)
        if language == "en":
            page.goto(f"{live_server.url}{reverse('branches:member_list')}")
            with page.expect_navigation():  # the navbar is folded on a phone: submit its form directly
                page.evaluate(
                    "() => { const s = document.getElementById('language-select'); s.value = 'en'; s.form.submit(); }"
                )
            assert page.get_attribute("html", "lang") == "en"
        found = {}
        for name, url in pages:
            page.goto(f"{live_server.url}{url}")
            page.add_script_tag(path=str(AXE))
            violations = [v for v in page.evaluate(RUN_AXE) if v["impact"] in SERIOUS]
            if violations:
                found[name] = violations
        return found
    finally:
        context.close()


def report(found, name):
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(found, ensure_ascii=False, indent=2))
    return found


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("language", LANGUAGES)
def test_secretary_pages_have_no_serious_accessibility_violation(
    browser, live_server, tree, secretary_a, language, viewport
):
    member = make_member(tree.branch_a, full_name="Nguyễn Thị Hằng", enterprise=tree.enterprise_a)
    pages = [
        ("home", reverse("home:organization", args=[tree.branch_a.pk])),
        ("members", reverse("branches:member_list")),
        ("member", reverse("branches:member_detail", args=[member.pk])),
        ("transfer", reverse("branches:member_transfer", args=[member.pk])),
        ("admit", reverse("branches:member_admit")),
        ("prospects", reverse("branches:prospect_list")),
        ("enterprises", reverse("enterprises:enterprise_list")),
    ]
    found = audit(browser, live_server, "secretary_a", pages, viewport=viewport, language=language)
    assert report(found, f"secretary-{language}-{viewport}") == {}


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("language", LANGUAGES)
def test_department_pages_have_no_serious_accessibility_violation(
    browser, live_server, tree, department, language, viewport
):
    pages = [
        ("dashboard", reverse("reports:dashboard")),
        ("targets", reverse("reports:targets")),
        ("tree", reverse("branches:organization_tree")),
        ("organisations", reverse("branches:organization_list")),
        ("gaps", reverse("reports:gap_list", args=["small-enterprises"])),
    ]
    found = audit(browser, live_server, "department", pages, viewport=viewport, language=language)
    assert report(found, f"department-{language}-{viewport}") == {}


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("language", LANGUAGES)
def test_administrator_pages_have_no_serious_accessibility_violation(
    browser, live_server, tree, administrator, language, viewport
):
    administrator.is_staff = True
    administrator.save()
    pages = [
        ("tree", reverse("branches:organization_tree")),
        ("organisation", reverse("branches:organization_detail", args=[tree.committee.pk])),
        # The admin's list and change page (its autocomplete boxes, its inline table of dated states).
        ("admin-organisations", reverse("admin:branches_organization_changelist")),
        ("admin-organisation", reverse("admin:branches_organization_change", args=[tree.committee.pk])),
    ]
    found = audit(browser, live_server, "administrator", pages, viewport=viewport, language=language)
    assert report(found, f"administrator-{language}-{viewport}") == {}
