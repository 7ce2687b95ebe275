"""The administrator's main work in a real browser, in both languages, on a desktop and on a 390 × 844
phone (issue 16): the tree of a past date typed as dd/mm/yyyy, an organisation's timeline, a
restructuring in the Django admin that says what it will do and keeps its form on an error, and the
admin's organisation picker found without marks; screenshots in test-artifacts/."""

import datetime

import pytest
from django import forms
from django.urls import reverse
from django.utils import translation

from branches import services
from branches.choices import MemberStatus, OrganizationKind, RoleKey
from branches.models import Member, MembershipPeriod
from core.dates import today
from tests.e2e.conftest import LANGUAGES, VIEWPORTS, open_as, page_width
from tests.factories import OrganizationFactory, RoleAssignmentFactory, UserFactory
from tests.scoped_views import make_member

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RENAMED_ON = datetime.date(2024, 1, 1)


@pytest.fixture
def staff_administrator(db):
    user = UserFactory(username="admin_e2e", is_staff=True)
    RoleAssignmentFactory(user=user, role=RoleKey.ADMINISTRATOR, organization=None)
    return user


@pytest.fixture
def restructured(tree, staff_administrator):
    """A committee renamed on 1 January 2024 (two dated states) with a branch of its own, and two
    members in branch B (the branch the walk dissolves)."""
    committee = OrganizationFactory(
        code="HONGHA", name="Đảng ủy Công ty Hồng Hà", locality=tree.province, parent=tree.committee
    )
    OrganizationFactory(
        code="HONGHA-CB1",
        name="Chi bộ Xí nghiệp Một",
        kind=OrganizationKind.GRASSROOTS_BRANCH,
        locality=tree.commune,
        parent=committee,
    )
    services.rename_organization(staff_administrator, committee, name="Đảng ủy Tổng công ty Hồng Hà", on=RENAMED_ON)
    committee.refresh_from_db()
    members = [
        make_member(tree.branch_b, full_name=name, enterprise=tree.enterprise_b)
        for name in ("Lê Văn Đức", "Phạm Thị Lan")
    ]
    return committee, members


def in_language(language, text):
    with translation.override(language):
        return str(text)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("language", LANGUAGES)
def test_administrator_reads_the_tree_of_a_date_then_moves_and_dissolves_in_the_admin(
    live_server, new_page, screenshot, tree, staff_administrator, restructured, language, viewport
):
    committee, members = restructured
    page = open_as(new_page, live_server, "admin_e2e", language, viewport)
    name = f"administrator-{language}-{viewport}"

    def fits():
        """The page never scrolls sideways: on a phone, nor on a desktop with an administrator's long menu."""
        assert page_width(page) <= VIEWPORTS[viewport][0], page.url

    # The tree as it stood on a date typed as Vietnam writes it: the committee's former name.
    page.goto(f"{live_server.url}{reverse('branches:organization_tree')}")
    page.fill("#id_as_of", "01/06/2023")
    with page.expect_navigation():
        page.click("#content form[role=search] button[type=submit]")
    assert "01/06/2023" in page.inner_text("#content")
    names = page.locator("#content table tbody tr td:first-child a").all_inner_texts()
    assert "Đảng ủy Công ty Hồng Hà" in names and committee.name not in names
    screenshot(page, f"{name}-tree-2023")
    fits()

    # Today's tree: the new name, and the organisation's page with its timeline.
    with page.expect_navigation():
        page.click(f"#content a[href='{reverse('branches:organization_tree')}']")
    with page.expect_navigation():
        page.click(f"#content a[href='{reverse('branches:organization_detail', args=[committee.pk])}']")
    timeline = page.locator("#content .card", has=page.locator(".list-group")).filter(has_text="Hồng Hà")
    states = timeline.locator(".list-group-item").all_inner_texts()
    assert len(states) == 2
    assert "Đảng ủy Công ty Hồng Hà" in states[0] and "31/12/2023" in states[0]
    assert committee.name in states[1] and "01/01/2024" in states[1]
    assert all(tree.committee.name in state for state in states)
    screenshot(page, f"{name}-organisation")
    fits()

    # Its page in the admin: the parent is read only there (it changes through the dated actions).
    with page.expect_navigation():
        page.click(f"#content a[href='{reverse('admin:branches_organization_change', args=[committee.pk])}']")
    assert tree.committee.name in page.inner_text(".field-parent_organization")
    states = page.inner_text("#versions-group")
    assert "01/01/2010 – 31/12/2023" in states and "2010-01-01" not in states
    screenshot(page, f"{name}-admin-organisation")
    fits()

    # Moving it: the form says what goes along; the new parent is picked by part of its name without
    # marks; a date before its rename is refused at the field, the date written as the pages write it.
    page.goto(f"{live_server.url}{reverse('admin:branches_organization_changelist')}")
    fits()
    page.check(f"input.action-select[value='{committee.pk}']")
    page.select_option("select[name=action]", "move_organizations")
    with page.expect_navigation():
        page.click("button[name=index]")
    cells = page.locator("table.party-affected tbody tr").first.locator("td").all_inner_texts()
    assert cells == [str(committee), "1", "0"]  # its branch goes along
    # The date first, checked before sending: twice under CI's load the move went through with the
    # date box still at today's date (the failure's screenshot), as if the typing had gone to the
    # picker's box, which takes the focus back a moment after a choice.
    page.fill("#id_on", "01/06/2023")
    page.click("#id_new_parent-ts-control")
    page.fill("#id_new_parent-ts-control", "thanh uy")
    option = page.locator(".ts-dropdown .option", has_text=tree.city.name)
    option.wait_for()
    option.click()
    page.locator(".ts-dropdown").first.wait_for(state="hidden")
    assert page.input_value("#id_on") == "01/06/2023"
    with page.expect_navigation():
        page.click(".submit-row input[type=submit]")
    refused = "%(org)s already changed on %(date)s; a change takes effect on that day or later."
    with translation.override(language):
        expected = translation.gettext(refused) % {"org": committee, "date": "01/01/2024"}
    assert page.locator(".form-row.errors .errorlist").inner_text().strip() == expected
    assert page.input_value("select#id_new_parent") == str(tree.city.pk)  # the choice is kept
    screenshot(page, f"{name}-move-refused")
    fits()
    committee.refresh_from_db()
    assert type(committee).objects.get_parent(committee) == tree.committee

    # Dissolving branch B: the form says how many members it sends on.
    page.goto(f"{live_server.url}{reverse('admin:branches_organization_changelist')}")
    page.check(f"input.action-select[value='{tree.branch_b.pk}']")
    page.select_option("select[name=action]", "dissolve_organizations")
    with page.expect_navigation():
        page.click("button[name=index]")
    affected = page.locator("table.party-affected tbody tr")
    assert affected.count() == 1
    cells = affected.first.locator("td").all_inner_texts()
    assert cells == [str(tree.branch_b), "0", str(len(members))]
    screenshot(page, f"{name}-dissolve-preview")
    fits()

    # No date: the form comes back with the selection and its error, in the user's language.
    page.fill("#id_on", "")
    with page.expect_navigation():
        page.click(".submit-row input[type=submit]")
    required = in_language(language, forms.Field.default_error_messages["required"])
    assert language == "en" or required != in_language("en", forms.Field.default_error_messages["required"])
    assert page.locator(".form-row.errors .errorlist").inner_text().strip() == required
    assert page.locator("table.party-affected tbody tr").first.locator("td").first.inner_text() == str(tree.branch_b)
    screenshot(page, f"{name}-dissolve-error")
    fits()

    # The members go to branch A, picked by part of its name without marks; the date as dd/mm/yyyy.
    page.click("#id_destination-ts-control")
    page.fill("#id_destination-ts-control", "an phat")
    option = page.locator(".ts-dropdown .option", has_text=tree.branch_a.name)
    option.wait_for()
    option.click()
    on = today()
    page.fill("#id_on", on.strftime("%d/%m/%Y"))
    page.fill("#id_decision_number", "15-QĐ/ĐU")
    with page.expect_navigation():
        page.click(".submit-row input[type=submit]")
    assert page.url.endswith(reverse("admin:branches_organization_changelist"))
    assert page.locator(".messagelist .success").count() == 1
    screenshot(page, f"{name}-dissolved")
    tree.branch_b.refresh_from_db()
    assert tree.branch_b.dissolved_on == on
    for member in members:
        member.refresh_from_db()
        assert (member.organization, member.status) == (tree.branch_a, MemberStatus.ACTIVE)
        assert MembershipPeriod.objects.get(member=member, ended_on__isnull=True).organization == tree.branch_a
    assert Member.objects.filter(organization=tree.branch_b, status=MemberStatus.ACTIVE).count() == 0

    # Establishing an organisation: its parent is a picker that finds "Khối doanh nghiệp" without marks.
    page.goto(f"{live_server.url}{reverse('admin:branches_organization_add')}")
    assert page.locator("select#id_parent[data-autocomplete-url]").count() == 1
    page.click("#id_parent-ts-control")
    page.fill("#id_parent-ts-control", "khoi doanh nghiep")
    option = page.locator(".ts-dropdown .option", has_text=tree.committee.name)
    option.wait_for()
    option.click()
    assert page.input_value("select#id_parent") == str(tree.committee.pk)
    screenshot(page, f"{name}-add-parent-picker")
    fits()
    assert page.errors == []
