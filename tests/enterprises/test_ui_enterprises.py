"""Enterprise and mass-organisation pages: the persona contract, returns and dissolution."""

import datetime

from django.urls import reverse

from core.validators import tax_code_for
from enterprises.models import Enterprise, MassOrganization, MembershipReturn
from tests.factories import EnterpriseFactory, MassOrganizationFactory, MembershipReturnFactory, OrganizationFactory
from tests.scoped_views import ScopedWriteViewsContract, login


class TestEnterpriseViews(ScopedWriteViewsContract):
    list_url_name = "enterprises:enterprise_list"
    detail_url_name = "enterprises:enterprise_detail"
    add_url_name = "enterprises:enterprise_add"
    edit_url_name = "enterprises:enterprise_edit"
    foreign_field = "managing_committee"

    def make_object(self, tree):
        # An enterprise recorded by branch A's secretary, managed by the committee above.
        return EnterpriseFactory(locality=tree.commune, managing_committee=tree.committee, recorded_by=tree.branch_a)

    def list_marker(self, obj):
        return obj.name

    def create_data(self, tree, committee=None):
        return {
            "tax_code": tax_code_for(7_654_321),
            "name": "Công ty TNHH Mới Ghi",
            "ownership": "private",
            "locality": tree.commune.pk,
            "industrial_park": "",
            "address": "1 Phố Huế",
            "size_class": "small",
            "employees": "40",
            "operating_status": "operating",
            "managing_committee": (committee or tree.committee).pk,
        }

    def foreign_create_data(self, tree):
        # A committee that is neither above nor below branch B.
        other = OrganizationFactory(code="OTHER", name="Đảng ủy khác", parent=tree.city, locality=tree.province)
        return self.create_data(tree, committee=other)

    def created_rows(self, tree):
        return Enterprise.objects.filter(name="Công ty TNHH Mới Ghi")

    def edit_data(self, obj, tree):
        data = self.create_data(tree)
        data.update(tax_code=obj.tax_code, name=obj.name, employees="321")
        return data

    def was_edited(self, obj):
        obj.refresh_from_db()
        return obj.employees == 321


class TestMassOrganizationViews(ScopedWriteViewsContract):
    list_url_name = "enterprises:massorganization_list"
    detail_url_name = "enterprises:massorganization_detail"
    add_url_name = "enterprises:massorganization_add"
    edit_url_name = "enterprises:massorganization_edit"
    foreign_field = "enterprise"

    def make_object(self, tree):
        mass_organization = MassOrganizationFactory(enterprise=tree.enterprise_a)
        MembershipReturnFactory(mass_organization=mass_organization)
        return mass_organization

    def list_marker(self, obj):
        return obj.name

    def create_data(self, tree):
        return {
            "enterprise": tree.enterprise_a.pk,
            "kind": "youth_union",
            "name": "Đoàn TN Mới Lập",
            "established_on": "2024-04-01",
            "founding_members": "12",
        }

    def foreign_create_data(self, tree):
        return self.create_data(tree)

    def created_rows(self, tree):
        return MassOrganization.objects.filter(name="Đoàn TN Mới Lập")

    def edit_data(self, obj, tree):
        return {"name": "Công đoàn Đổi Tên", "kind": obj.kind}

    def was_edited(self, obj):
        obj.refresh_from_db()
        return obj.name == "Công đoàn Đổi Tên"


def test_establishing_writes_the_founding_return(client, tree, secretary_a):
    login(client, secretary_a).post(
        reverse("enterprises:massorganization_add"), TestMassOrganizationViews().create_data(tree)
    )
    founding = MembershipReturn.objects.get(mass_organization__name="Đoàn TN Mới Lập")
    assert founding.is_founding and founding.members_total == founding.members_admitted == 12


def test_mass_organisation_list_shows_latest_return(client, tree, secretary_a):
    mass_organization = MassOrganizationFactory(enterprise=tree.enterprise_a, established_on=datetime.date(2023, 1, 1))
    MembershipReturnFactory(mass_organization=mass_organization, members_total=20, members_admitted=20)
    MembershipReturnFactory(
        mass_organization=mass_organization,
        date=datetime.date(2024, 1, 1),
        members_total=1234,
        members_admitted=5,
        is_founding=False,
    )
    response = login(client, secretary_a).get(reverse("enterprises:massorganization_list"))
    row = response.context["table"].rows[0].record
    assert row.latest_total == 1234 and row.latest_date == datetime.date(2024, 1, 1)


def test_record_a_membership_return(client, tree, secretary_a):
    mass_organization = TestMassOrganizationViews().make_object(tree)
    login(client, secretary_a)
    url = reverse("enterprises:massorganization_return", args=[mass_organization.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"date": "2024-09-30", "members_total": "35", "members_admitted": "15"}, follow=True)
    assert mass_organization.returns.filter(date=datetime.date(2024, 9, 30), members_total=35).exists()
    assert [m.level_tag for m in response.context["messages"]] == ["success"]


def test_return_before_founding_is_a_field_error(client, tree, secretary_a):
    mass_organization = TestMassOrganizationViews().make_object(tree)
    response = login(client, secretary_a).post(
        reverse("enterprises:massorganization_return", args=[mass_organization.pk]),
        {"date": "2020-01-01", "members_total": "35", "members_admitted": "15"},
    )
    assert "date" in response.context["form"].errors
    assert mass_organization.returns.count() == 1


def test_return_and_dissolution_are_403_for_department_and_404_for_outsider(client, tree, department, secretary_b):
    mass_organization = TestMassOrganizationViews().make_object(tree)
    for name, data in [
        ("enterprises:massorganization_return", {"date": "2024-09-30", "members_total": "1", "members_admitted": "1"}),
        ("enterprises:massorganization_dissolve", {"dissolved_on": "2024-09-30"}),
    ]:
        url = reverse(name, args=[mass_organization.pk])
        assert login(client, department).post(url, data).status_code == 403
        assert login(client, secretary_b).post(url, data).status_code == 404
    mass_organization.refresh_from_db()
    assert mass_organization.dissolved_on is None and mass_organization.returns.count() == 1


def test_dissolve_mass_organisation_after_confirmation(client, tree, secretary_a):
    mass_organization = TestMassOrganizationViews().make_object(tree)
    login(client, secretary_a)
    url = reverse("enterprises:massorganization_dissolve", args=[mass_organization.pk])
    assert client.get(url).context["destructive"]
    assert client.post(url, {"dissolved_on": "2024-10-01"}).status_code == 302
    mass_organization.refresh_from_db()
    assert mass_organization.dissolved_on == datetime.date(2024, 10, 1)


def test_enterprise_form_offers_only_assignable_committees(client, tree, secretary_b):
    other = OrganizationFactory(code="OTHER", name="Đảng ủy khác", parent=tree.city, locality=tree.province)
    form = login(client, secretary_b).get(reverse("enterprises:enterprise_add")).context["form"]
    committees = set(form.fields["managing_committee"].queryset)
    assert committees == {tree.city, tree.committee}
    assert other not in committees


def test_mass_organisation_form_offers_only_editable_enterprises(client, tree, secretary_b):
    form = login(client, secretary_b).get(reverse("enterprises:massorganization_add")).context["form"]
    assert list(form.fields["enterprise"].queryset) == [tree.enterprise_b]


def test_counts_use_the_locale_digit_grouping(client, tree, secretary_a):
    mass_organization = MassOrganizationFactory(enterprise=tree.enterprise_a)
    MembershipReturnFactory(mass_organization=mass_organization, members_total=128975, members_admitted=128975)
    login(client, secretary_a)
    url = reverse("enterprises:massorganization_list")
    client.post(reverse("set_language"), {"language": "en", "next": url})
    assert "128,975" in client.get(url).content.decode()
    client.post(reverse("set_language"), {"language": "vi", "next": url})
    assert "128.975" in client.get(url).content.decode()
