"""Sign-in, each role's home, the role switch, the language switch, the header and the CSP rules."""

import re

import pytest
from django.urls import NoReverseMatch, reverse

from branches.choices import RoleKey
from core.middleware import ACTIVE_ROLE_SESSION_KEY
from tests.factories import RoleAssignmentFactory, UserFactory
from tests.scoped_views import login, make_member


def test_login_page_renders_labelled_fields(client, db):
    content = client.get(reverse("login")).content.decode()
    assert 'for="id_username"' in content and 'for="id_password"' in content


def test_secretary_lands_on_own_organisation_home(client, tree, secretary_a):
    response = client.post(reverse("login"), {"username": "secretary_a", "password": "correct-horse-battery"})
    assert response.status_code == 302
    response = client.get(response["Location"])
    assert response["Location"] == reverse("home:organization", args=[tree.branch_a.pk])


def test_department_lands_on_dashboard_or_member_list(client, tree, department):
    response = login(client, department).get(reverse("home"))
    try:
        expected = reverse("reports:dashboard")
    except NoReverseMatch:
        expected = reverse("branches:member_list")
    assert response["Location"] == expected


def test_administrator_lands_on_organisation_tree(client, tree, administrator):
    assert login(client, administrator).get(reverse("home"))["Location"] == reverse("branches:organization_tree")


def test_home_requires_sign_in(client, db):
    assert reverse("login") in client.get(reverse("home"))["Location"]


def test_logout_is_a_post_and_returns_to_login(client, tree, secretary_a):
    login(client, secretary_a)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert reverse("login") in client.get(reverse("home"))["Location"]


def test_password_change_page(client, tree, secretary_a):
    login(client, secretary_a)
    assert client.get(reverse("password_change")).status_code == 200
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "correct-horse-battery",
            "new_password1": "Lua-chin-vang-2026",
            "new_password2": "Lua-chin-vang-2026",
        },
    )
    assert response["Location"] == reverse("password_change_done")
    secretary_a.refresh_from_db()
    assert secretary_a.check_password("Lua-chin-vang-2026")


@pytest.fixture
def two_hats(tree):
    user = UserFactory(username="two_hats")
    secretary = RoleAssignmentFactory(user=user, role=RoleKey.SECRETARY, organization=tree.branch_a)
    staff = RoleAssignmentFactory(user=user, role=RoleKey.DEPARTMENT, organization=tree.committee)
    return user, secretary, staff


def test_user_with_several_roles_switches_from_the_navbar(client, tree, two_hats):
    user, secretary, staff = two_hats
    login(client, user)
    page = client.get(reverse("branches:member_list")).content.decode()
    assert reverse("branches:role_switch") in page and str(staff) in page
    assert client.get(reverse("home"))["Location"] == reverse("home:organization", args=[tree.branch_a.pk])

    response = client.post(reverse("branches:role_switch"), {"assignment": staff.pk})
    assert response["Location"] == reverse("home")
    assert client.session[ACTIVE_ROLE_SESSION_KEY] == staff.pk
    assert client.get(reverse("home"))["Location"] != reverse("home:organization", args=[tree.branch_a.pk])
    assert tree.committee.name in client.get(reverse("branches:member_list")).content.decode()


def test_a_page_reads_the_role_assignments_once_for_the_active_role_and_the_switcher(client, tree, two_hats):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user, secretary, staff = two_hats
    login(client, user)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("branches:member_list")).content.decode()
    assert str(secretary) in page and str(staff) in page  # the switcher lists both
    assert tree.branch_a.name in page  # the active role (the first) in the context bar
    with_organizations = [
        q["sql"]
        for q in queries
        if 'FROM "branches_roleassignment"' in q["sql"] and '"branches_organization"."name"' in q["sql"]
    ]
    assert len(with_organizations) == 1


def test_switching_to_someone_elses_role_is_404(client, tree, two_hats, secretary_b):
    _user, _secretary, staff = two_hats
    login(client, secretary_b)
    assert client.post(reverse("branches:role_switch"), {"assignment": staff.pk}).status_code == 404
    assert ACTIVE_ROLE_SESSION_KEY not in client.session


def test_header_shows_active_organisation_and_period(client, tree, secretary_a):
    content = login(client, secretary_a).get(reverse("branches:member_list")).content.decode()
    header = content.split('id="content"')[0]
    assert tree.branch_a.name in header
    assert 'id="active-period"' in header


def test_language_switch_renders_english(client, tree, secretary_a):
    login(client, secretary_a)
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("branches:member_list")})
    assert response.status_code == 302
    page = client.get(reverse("branches:member_list"))
    assert '<html lang="en">' in page.content.decode()


def test_default_language_is_vietnamese(client, tree, secretary_a):
    assert '<html lang="vi">' in login(client, secretary_a).get(reverse("branches:member_list")).content.decode()


PAGES = [
    ("branches:member_list", False),
    ("branches:member_admit", False),
    ("branches:member_detail", True),
    ("branches:member_transfer", True),
    ("branches:prospect_list", False),
    ("branches:organization_tree", False),
    ("enterprises:enterprise_list", False),
    ("enterprises:massorganization_add", False),
]


@pytest.mark.parametrize(("name", "needs_member"), PAGES)
def test_pages_have_no_inline_scripts_or_handlers(client, tree, secretary_a, name, needs_member):
    member = make_member(tree.branch_a)
    url = reverse(name, args=[member.pk]) if needs_member else reverse(name)
    content = login(client, secretary_a).get(url).content.decode()
    for script in re.findall(r"<script\b[^>]*>(.*?)</script>", content, flags=re.S):
        assert script.strip() == "" or 'type="application/json"' in script
    assert all("src=" in tag for tag in re.findall(r"<script\b[^>]*>", content))
    assert not re.search(r"\son[a-z]+\s*=", content)
    assert "javascript:" not in content
    # Every asset from this site: no src/href to another host (a CDN).
    assert not re.search(r'\s(?:src|href)="(?:https?:)?//(?!testserver)', content)


def test_sign_in_and_sign_out_leave_a_message(client, tree, secretary_a):
    response = client.post(
        reverse("login"), {"username": "secretary_a", "password": "correct-horse-battery"}, follow=True
    )
    assert [m.level_tag for m in response.context["messages"]] == ["success"]
    response = client.post(reverse("logout"), follow=True)
    assert [m.level_tag for m in response.context["messages"]] == ["info"]


def test_cancel_link_never_points_to_another_site(client, tree, secretary_a):
    response = login(client, secretary_a).get(reverse("branches:member_admit"), HTTP_REFERER="https://evil.example/")
    assert response.context["cancel_url"] == reverse("home")
    response = client.get(reverse("branches:member_admit"), HTTP_REFERER="http://testserver/members/")
    assert response.context["cancel_url"] == "http://testserver/members/"
