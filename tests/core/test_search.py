"""Search without diacritics and case (issue 16, deliverable 2): the lists' ``q``, the API, the
admin's search and its autocomplete pickers, on SQLite and PostgreSQL alike.

Most people type without marks: "nguyen van a" must find "Nguyễn Văn A", and "đ" and "d" match.
"""

import unicodedata
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse

from branches.models import Member, Organization, Prospect
from branches.services import update_member
from core.events import publish
from core.migration_ops import fill_derived
from core.text import search_key
from dataio.imports import import_members
from enterprises.events import EnterprisesRecorded
from enterprises.models import Enterprise, MassOrganization
from tests.api_conftest import *  # noqa: F403
from tests.api_conftest import API
from tests.dataio.test_io_members_import import csv_bytes, member_row
from tests.factories import EnterpriseFactory, MassOrganizationFactory, OrganizationFactory, ProspectFactory
from tests.scoped_views import login, make_member


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Nguyễn Văn A", "nguyen van a"),
        ("NGUYỄN Thị Hằng", "nguyen thi hang"),
        ("Đặng Đức Đạt", "dang duc dat"),
        (unicodedata.normalize("NFD", "Phạm Thị Ngọc Ánh"), "pham thi ngoc anh"),  # decomposed input
        ("  Lê   Quý  Đôn ", "le quy don"),
        ("Công ty TNHH Hồng Hà", "cong ty tnhh hong ha"),
        ("", ""),
    ],
)
def test_search_key_drops_marks_case_and_extra_spaces(text, key):
    assert search_key(text) == key


@pytest.fixture
def people(tree):
    return SimpleNamespace(
        a=make_member(tree.branch_a, full_name="Nguyễn Văn A"),
        hang=make_member(tree.branch_a, full_name="Nguyễn Thị Hằng"),
        duc=make_member(tree.branch_a, full_name="Trần Đức Minh"),
        other=make_member(tree.branch_a, full_name="Lê Hoàng Long"),
    )


def names(response):
    return {row.full_name for row in response.context["table"].data}


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("nguyen van a", {"Nguyễn Văn A"}),
        ("NGUYỄN", {"Nguyễn Văn A", "Nguyễn Thị Hằng"}),
        ("nguyễn", {"Nguyễn Văn A", "Nguyễn Thị Hằng"}),
        ("hang", {"Nguyễn Thị Hằng"}),
        ("nguyen hang", {"Nguyễn Thị Hằng"}),  # every word, in any place
        ("duc", {"Trần Đức Minh"}),
        ("đức", {"Trần Đức Minh"}),
        ("ĐUC", {"Trần Đức Minh"}),
        ("xyz", set()),
    ],
)
def test_member_list_finds_names_typed_without_marks(client, secretary_a, people, typed, found):
    login(client, secretary_a)
    response = client.get(reverse("branches:member_list"), {"q": typed})
    assert response.status_code == 200
    assert names(response) == found


def test_member_search_still_finds_a_card_number(client, secretary_a, tree):
    make_member(tree.branch_a, full_name="Võ Thị Sáu", party_card_number="PC-778899")
    login(client, secretary_a)
    assert names(client.get(reverse("branches:member_list"), {"q": "PC-778899"})) == {"Võ Thị Sáu"}


def test_search_stays_within_the_scope(client, secretary_a, tree):
    make_member(tree.branch_b, full_name="Nguyễn Văn Ngoài")
    login(client, secretary_a)
    assert names(client.get(reverse("branches:member_list"), {"q": "nguyen van ngoai"})) == set()


def test_organisation_list_by_name_without_marks_or_by_code_in_any_case(client, department, tree):
    OrganizationFactory(code="HN-CG", name="Đảng bộ phường Cầu Giấy", locality=tree.province, parent=tree.committee)
    login(client, department)
    url = reverse("branches:organization_list")
    for typed in ("dang bo phuong cau giay", "cau giay", "hn-cg", "HN-CG"):
        found = {row.code for row in client.get(url, {"q": typed}).context["table"].data}
        assert found == {"HN-CG"}, typed


def test_enterprise_mass_organisation_and_prospect_lists(client, department, tree):
    EnterpriseFactory(name="Công ty TNHH Đông Á", locality=tree.commune, managing_committee=tree.committee)
    MassOrganizationFactory(name="Công đoàn cơ sở Đông Á", enterprise=tree.enterprise_a)
    ProspectFactory(organization=tree.branch_a, full_name="Đỗ Thị Quỳnh")
    login(client, department)
    enterprises = client.get(reverse("enterprises:enterprise_list"), {"q": "dong a"}).context["table"].data
    assert {row.name for row in enterprises} == {"Công ty TNHH Đông Á"}
    unions = client.get(reverse("enterprises:massorganization_list"), {"q": "cong doan dong a"}).context["table"].data
    assert {row.name for row in unions} == {"Công đoàn cơ sở Đông Á"}
    prospects = client.get(reverse("branches:prospect_list"), {"q": "do thi quynh"}).context["table"].data
    assert {row.full_name for row in prospects} == {"Đỗ Thị Quỳnh"}


def test_api_search_ignores_marks_and_case(api, people):
    response = api.secretary_a.get(f"{API}members/", {"q": "nguyen van a"})
    assert response.status_code == 200
    assert [row["full_name"] for row in response.json()["results"]] == ["Nguyễn Văn A"]
    localities = api.administrator.get(f"{API}localities/", {"q": "cau giay"}).json()["results"]
    assert [row["name"] for row in localities] == ["Phường Cầu Giấy"]


@pytest.fixture
def admin_client(client, administrator, settings):
    settings.OTP_REQUIRED_ROLES = ()
    administrator.is_staff = True
    administrator.save()
    client.force_login(administrator)
    return client


def test_admin_search_and_autocomplete_ignore_marks(admin_client, people, tree):
    changelist = admin_client.get(reverse("admin:branches_member_changelist"), {"q": "nguyen thi hang"})
    assert [m.full_name for m in changelist.context["cl"].result_list] == ["Nguyễn Thị Hằng"]
    # Marks typed still work, and an address keeps matching as typed.
    marked = admin_client.get(reverse("admin:branches_member_changelist"), {"q": "Hằng"})
    assert [m.full_name for m in marked.context["cl"].result_list] == ["Nguyễn Thị Hằng"]
    picker = admin_client.get(
        reverse("admin:autocomplete"),
        {"term": "cau giay", "app_label": "branches", "model_name": "organization", "field_name": "locality"},
    )
    assert picker.status_code == 200
    assert [item["text"] for item in picker.json()["results"]] == [str(tree.commune)]


def test_the_key_follows_every_write(tree, secretary_a):
    member = make_member(tree.branch_a, full_name="Nguyễn Văn A")
    assert Member.objects.get(pk=member.pk).search_name == "nguyen van a"
    update_member(secretary_a, Member.objects.get(pk=member.pk), full_name="Đinh Công Tráng", reason="typo")
    assert Member.objects.get(pk=member.pk).search_name == "dinh cong trang"
    # bulk_create and bulk_update (the demo loader) skip save(): they fill it too
    [created] = Enterprise.objects.bulk_create(
        [
            Enterprise(
                tax_code="0109999999",
                name="Công ty Ánh Dương",
                locality=tree.commune,
                managing_committee=tree.committee,
            )
        ]
    )
    publish(EnterprisesRecorded((created.pk,)))  # a bulk writer announces what it wrote
    assert Enterprise.objects.get(pk=created.pk).search_name == "cong ty anh duong"
    created.name = "Công ty Đại Việt"
    Enterprise.objects.bulk_update([created], ["name"])
    assert Enterprise.objects.get(pk=created.pk).search_name == "cong ty dai viet"


def test_imported_members_are_found_without_marks(tree, secretary_a):
    content = csv_bytes([member_row(1, **{"full name*": "Phùng Thị Ánh"})])
    result = import_members(content, organization=tree.branch_a, acting_user=secretary_a)
    assert not result.has_errors
    assert Member.objects.get(full_name="Phùng Thị Ánh").search_name == "phung thi anh"


def test_the_migration_fills_existing_rows(tree):
    member = make_member(tree.branch_a, full_name="Nguyễn Thị Hằng")
    union = MassOrganizationFactory(name="Công đoàn Đông Á", enterprise=tree.enterprise_a)
    Member.objects.filter(pk=member.pk).update(search_name="")
    MassOrganization.objects.filter(pk=union.pk).update(search_name="")
    Organization.objects.update(search_name="")
    Prospect.objects.update(search_name="")
    forwards = fill_derived(
        [
            ("branches", "Member", "search_name", "full_name", search_key),
            ("branches", "Organization", "search_name", "name", search_key),
            ("enterprises", "MassOrganization", "search_name", "name", search_key),
        ]
    )
    forwards(apps, SimpleNamespace(connection=connection))
    assert Member.objects.get(pk=member.pk).search_name == "nguyen thi hang"
    assert MassOrganization.objects.get(pk=union.pk).search_name == "cong doan dong a"
    assert Organization.objects.get(pk=tree.committee.pk).search_name == search_key(tree.committee.name)


def test_the_keys_are_not_shown_as_changes_in_the_history(client, tree, secretary_a):
    from core.views import history_entries

    member = make_member(tree.branch_a, full_name="Nguyễn Văn A")
    update_member(secretary_a, Member.objects.get(pk=member.pk), full_name="Nguyễn Văn B", reason="typo")
    entries = history_entries(Member.objects.get(pk=member.pk), user=secretary_a)
    changed = [str(change["field"]) for entry in entries for change in entry["changes"]]
    keys = {"search key", "sort key", "khóa tìm kiếm", "khóa sắp xếp"}
    assert changed and not keys & set(changed)
