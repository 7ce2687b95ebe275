"""Organisation pages (read-only: the tree is changed in the admin), the tree page and a secretary's home."""

import datetime

from django.urls import reverse

from branches.choices import OrganizationKind, ProspectStage
from core.dates import today
from tests.factories import MassOrganizationFactory, MembershipReturnFactory, OrganizationFactory, ProspectFactory
from tests.scoped_views import ScopedReadViewsContract, login, make_member


class TestOrganizationViews(ScopedReadViewsContract):
    list_url_name = "branches:organization_list"
    detail_url_name = "branches:organization_detail"

    def make_object(self, tree):
        return OrganizationFactory(
            kind=OrganizationKind.SUBORDINATE_BRANCH, parent=tree.branch_a, locality=tree.commune, name="Tổ Đảng"
        )

    def list_marker(self, obj):
        return obj.code


class TestOrganizationHomeViews(ScopedReadViewsContract):
    """The home page behaves like a detail page for the personas."""

    list_url_name = "branches:organization_tree"
    detail_url_name = "home:organization"

    def make_object(self, tree):
        return OrganizationFactory(
            kind=OrganizationKind.SUBORDINATE_BRANCH, parent=tree.branch_a, locality=tree.commune, name="Tổ Đảng"
        )

    def list_marker(self, obj):
        return obj.code


def test_organisation_pages_offer_no_write_to_secretary(client, tree, secretary_a):
    content = login(client, secretary_a).get(reverse("branches:organization_detail", args=[tree.branch_a.pk]))
    assert "/admin/" not in content.content.decode().split('id="content"')[1]


def test_tree_page_links_administrators_to_the_admin(client, tree, administrator):
    content = login(client, administrator).get(reverse("branches:organization_tree")).content.decode()
    assert reverse("admin:index") in content
    for organization in (tree.city, tree.committee, tree.branch_a, tree.branch_b):
        assert organization.name in content
    assert "tree-depth-3" in content  # branches are indented two levels below the city


def test_home_shows_members_due_prospects_and_mass_organisations(client, tree, secretary_a):
    on = today()
    due_soon = make_member(
        tree.branch_a,
        full_name="Sắp Chính Thức",
        admitted_on=on.replace(year=on.year - 1) + datetime.timedelta(days=30),
    )
    make_member(tree.branch_a, full_name="Còn Lâu", admitted_on=on - datetime.timedelta(days=30))
    make_member(tree.branch_a, full_name="Đã Chính Thức", official_on=datetime.date(2021, 3, 1))
    ProspectFactory(organization=tree.branch_a, is_business_owner=False, stage=ProspectStage.COURSE_DONE)
    mass_organization = MassOrganizationFactory(enterprise=tree.enterprise_a, name="Công đoàn An Phát")
    MembershipReturnFactory(mass_organization=mass_organization, members_total=87, members_admitted=87)

    response = login(client, secretary_a).get(reverse("home:organization", args=[tree.branch_a.pk]))
    context = response.context
    assert context["active_members"] == 3
    assert [m.full_name for m in context["due"]] == [due_soon.full_name]
    assert dict((stage.value, n) for stage, n in context["prospect_stages"])[ProspectStage.COURSE_DONE] == 1
    assert [(m.name, m.latest_total) for m in context["mass_organizations"]] == [("Công đoàn An Phát", 87)]
    content = response.content.decode()
    assert tree.enterprise_a.tax_code in content
    assert reverse("branches:member_recognize", args=[due_soon.pk]) in content


def test_home_for_department_offers_no_write_buttons(client, tree, department):
    content = login(client, department).get(reverse("home:organization", args=[tree.branch_a.pk]))
    assert reverse("branches:member_admit") not in content.content.decode()
