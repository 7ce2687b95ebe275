"""Member pages: the persona contract, the lifecycle actions, the list's filters and masking."""

import datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from branches import services
from branches.choices import MemberStatus, PeriodEndReason
from branches.models import Member
from core.dates import today
from tests.factories import OrganizationFactory
from tests.scoped_views import ScopedWriteViewsContract, login, make_member


class TestMemberViews(ScopedWriteViewsContract):
    list_url_name = "branches:member_list"
    detail_url_name = "branches:member_detail"
    add_url_name = "branches:member_admit"
    edit_url_name = "branches:member_edit"
    foreign_field = "organization"

    def make_object(self, tree):
        return make_member(tree.branch_a, enterprise=tree.enterprise_a)

    def list_marker(self, obj):
        return obj.full_name

    def create_data(self, tree):
        return {
            "organization": tree.branch_a.pk,
            "admitted_on": "2024-05-01",
            "full_name": "Lê Văn Mới",
            "sex": "male",
            "date_of_birth": "1990-01-01",
            "citizen_id": "001090000123",
            "party_card_number": "",
            "enterprise": tree.enterprise_a.pk,
            "position": "worker",
        }

    def foreign_create_data(self, tree):
        return self.create_data(tree)

    def created_rows(self, tree):
        return Member.objects.filter(full_name="Lê Văn Mới")

    def edit_data(self, obj, tree):
        return {
            "full_name": "Nguyễn Đã Sửa",
            "sex": obj.sex,
            "date_of_birth": obj.date_of_birth.isoformat(),
            "citizen_id": obj.citizen_id,
            "party_card_number": obj.party_card_number,
            "enterprise": tree.enterprise_a.pk,
            "position": obj.position,
        }

    def was_edited(self, obj):
        obj.refresh_from_db()
        return obj.full_name == "Nguyễn Đã Sửa"


def test_member_list_masks_citizen_id(client, tree, secretary_a):
    member = make_member(tree.branch_a, citizen_id="001090001234")
    content = login(client, secretary_a).get(reverse("branches:member_list")).content.decode()
    assert member.masked_citizen_id in content
    assert "001090001234" not in content


def test_member_detail_shows_full_citizen_id_only_to_editors(client, tree, secretary_a, department):
    member = make_member(tree.branch_a, citizen_id="001090001234")
    url = reverse("branches:member_detail", args=[member.pk])
    assert "001090001234" in login(client, secretary_a).get(url).content.decode()
    assert "001090001234" not in login(client, department).get(url).content.decode()


def test_member_list_filters_by_status_year_and_search(client, tree, secretary_a):
    make_member(tree.branch_a, full_name="Phạm Thị Hai", admitted_on=datetime.date(2019, 1, 5))
    make_member(tree.branch_a, full_name="Đỗ Văn Ba", party_card_number="PC-777")
    make_member(tree.branch_a, full_name="Hồ Văn Bốn", status=MemberStatus.LEFT)
    login(client, secretary_a)
    url = reverse("branches:member_list")

    content = client.get(url, {"admitted_year": 2019}).content.decode()
    assert "Phạm Thị Hai" in content and "Đỗ Văn Ba" not in content

    content = client.get(url, {"q": "PC-777"}).content.decode()
    assert "Đỗ Văn Ba" in content and "Phạm Thị Hai" not in content

    content = client.get(url, {"status": "active"}).content.decode()
    assert "Hồ Văn Bốn" not in content and "Phạm Thị Hai" in content


def test_member_list_sorts_by_column(client, tree, secretary_a):
    make_member(tree.branch_a, full_name="An")
    make_member(tree.branch_a, full_name="Yến")
    content = login(client, secretary_a).get(reverse("branches:member_list"), {"sort": "-full_name"}).content.decode()
    assert content.index("Yến") < content.index(">An<")


def test_member_detail_shows_periods_and_change_history(client, tree, secretary_a):
    member = make_member(tree.branch_a, full_name="Trước")
    login(client, secretary_a)
    data = TestMemberViews().edit_data(member, tree)
    data["full_name"] = "Sau"
    assert client.post(reverse("branches:member_edit", args=[member.pk]), data).status_code == 302
    content = client.get(reverse("branches:member_detail", args=[member.pk])).content.decode()
    assert "Trước" in content and "Sau" in content
    assert "secretary_a" in content
    assert tree.branch_a.name in content


def test_member_history_names_the_enterprises_it_moved_between_as_the_viewer_may_see_them(
    client, tree, secretary_a, department, administrator
):
    moved = make_member(tree.branch_a, full_name="Đã chuyển", enterprise=tree.enterprise_a)
    services.update_member(administrator, moved, enterprise=tree.enterprise_b)
    staying = make_member(tree.branch_a, full_name="Ở lại", enterprise=tree.enterprise_a)

    def history(user, member):
        login(client, user)
        with CaptureQueriesContext(connection) as captured:
            page = client.get(reverse("branches:member_detail", args=[member.pk])).content.decode()
        looked_up = [
            q["sql"] for q in captured.captured_queries if q["sql"].startswith('SELECT "enterprises_enterprise"')
        ]
        return page[page.index('id="history"') :], looked_up

    page, looked_up = history(department, moved)
    assert tree.enterprise_a.name in page and tree.enterprise_b.name in page and len(looked_up) == 1
    page, _looked_up = history(secretary_a, moved)  # the new enterprise lies outside the branch's subtree
    assert tree.enterprise_a.name in page and f"#{tree.enterprise_b.pk}" in page
    assert tree.enterprise_b.name not in page
    _page, looked_up = history(department, staying)  # never moved: nothing to name, no look-up
    assert looked_up == []


def test_recognize_official_through_the_form(client, tree, secretary_a):
    member = make_member(tree.branch_a, admitted_on=datetime.date(2023, 3, 1), official_on=None)
    login(client, secretary_a)
    url = reverse("branches:member_recognize", args=[member.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"official_on": "2024-03-01"}, follow=True)
    member.refresh_from_db()
    assert member.official_on == datetime.date(2024, 3, 1)
    assert [m.level_tag for m in response.context["messages"]] == ["success"]


def test_recognize_before_admission_shows_field_error(client, tree, secretary_a):
    member = make_member(tree.branch_a, admitted_on=datetime.date(2023, 3, 1), official_on=None)
    response = login(client, secretary_a).post(
        reverse("branches:member_recognize", args=[member.pk]), {"official_on": "2022-01-01"}
    )
    assert response.status_code == 200
    assert "official_on" in response.context["form"].errors
    member.refresh_from_db()
    assert member.official_on is None


def test_transfer_by_code_to_another_organisation(client, tree, secretary_a):
    member = make_member(tree.branch_a)
    login(client, secretary_a)
    response = client.post(
        reverse("branches:member_transfer", args=[member.pk]),
        {"destination": "organization", "to_organization": "br-b", "on": today().isoformat()},
    )
    assert response.status_code == 302
    member.refresh_from_db()
    # In transit until branch B confirms the letter: the record stays with branch A meanwhile.
    assert (member.organization, member.status) == (tree.branch_a, MemberStatus.IN_TRANSIT)
    assert response["Location"] == reverse("branches:member_detail", args=[member.pk])
    page = client.get(response["Location"]).content.decode()
    assert reverse("branches:transfer_cancel", args=[member.transfers.get().pk]) in page


def test_transfer_form_lists_no_foreign_organisations(client, tree, secretary_a):
    member = make_member(tree.branch_a)
    content = login(client, secretary_a).get(reverse("branches:member_transfer", args=[member.pk])).content.decode()
    assert tree.branch_b.name not in content


def test_transfer_to_unknown_code_is_a_field_error(client, tree, secretary_a):
    member = make_member(tree.branch_a)
    response = login(client, secretary_a).post(
        reverse("branches:member_transfer", args=[member.pk]),
        {"destination": "organization", "to_organization": "NOPE", "on": today().isoformat()},
    )
    assert "to_organization" in response.context["form"].errors
    member.refresh_from_db()
    assert member.organization == tree.branch_a


def test_transfer_to_committee_is_refused_by_the_service(client, tree, secretary_a):
    member = make_member(tree.branch_a)
    response = login(client, secretary_a).post(
        reverse("branches:member_transfer", args=[member.pk]),
        {"destination": "organization", "to_organization": "DIST", "on": today().isoformat()},
    )
    assert "to_organization" in response.context["form"].errors


def test_transfer_to_place_of_residence(client, tree, secretary_a):
    member = make_member(tree.branch_a)
    response = login(client, secretary_a).post(
        reverse("branches:member_transfer", args=[member.pk]),
        {"destination": "residence", "on": today().isoformat()},
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.status == MemberStatus.TRANSFERRED_TO_RESIDENCE
    assert member.periods.get().end_reason == PeriodEndReason.RESIDENCE


def test_record_leaving_asks_confirmation_then_ends_membership(client, tree, secretary_a):
    member = make_member(tree.branch_a)
    login(client, secretary_a)
    url = reverse("branches:member_leave", args=[member.pk])
    page = client.get(url)
    assert page.status_code == 200 and page.context["destructive"]
    member.refresh_from_db()
    assert member.status == MemberStatus.ACTIVE
    response = client.post(url, {"reason": "resigned", "on": today().isoformat()})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.status == MemberStatus.LEFT


def test_lifecycle_actions_are_403_for_department_and_404_for_outsider(client, tree, department, secretary_b):
    member = make_member(tree.branch_a, official_on=None)
    for name, data in [
        ("branches:member_recognize", {"official_on": "2021-03-01"}),
        ("branches:member_transfer", {"destination": "residence", "on": today().isoformat()}),
        ("branches:member_leave", {"reason": "died", "on": today().isoformat()}),
    ]:
        url = reverse(name, args=[member.pk])
        assert login(client, department).post(url, data).status_code == 403
        assert login(client, secretary_b).post(url, data).status_code == 404
    member.refresh_from_db()
    assert member.status == MemberStatus.ACTIVE and member.official_on is None


def test_admit_form_offers_only_own_organisations_and_enterprises(client, tree, secretary_a):
    OrganizationFactory(code="ELSEWHERE", name="Chi bộ nơi khác", kind="grassroots_branch", parent=tree.committee)
    form = login(client, secretary_a).get(reverse("branches:member_admit")).context["form"]
    assert list(form.fields["organization"].queryset) == [tree.branch_a]
    assert list(form.fields["enterprise"].queryset) == [tree.enterprise_a]


def test_admit_with_enterprise_of_another_scope_is_refused(client, tree, secretary_a):
    data = TestMemberViews().create_data(tree)
    data["enterprise"] = tree.enterprise_b.pk
    response = login(client, secretary_a).post(reverse("branches:member_admit"), data)
    assert "enterprise" in response.context["form"].errors
    assert not Member.objects.filter(full_name="Lê Văn Mới").exists()


def test_admit_too_young_is_a_field_error_from_the_service(client, tree, secretary_a):
    data = TestMemberViews().create_data(tree)
    data["date_of_birth"] = "2010-01-01"
    response = login(client, secretary_a).post(reverse("branches:member_admit"), data)
    assert "date_of_birth" in response.context["form"].errors
    assert not Member.objects.filter(full_name="Lê Văn Mới").exists()


def test_member_list_filters_by_organisation_code_including_subtree(client, tree, department):
    make_member(tree.branch_a, full_name="Ở Chi Bộ A")
    make_member(tree.branch_b, full_name="Ở Chi Bộ B")
    login(client, department)
    content = client.get(reverse("branches:member_list"), {"organization": "BR-A"}).content.decode()
    assert "Ở Chi Bộ A" in content and "Ở Chi Bộ B" not in content
    content = client.get(reverse("branches:member_list"), {"organization": "DIST"}).content.decode()
    assert "Ở Chi Bộ A" in content and "Ở Chi Bộ B" in content


def test_member_list_filter_by_code_outside_scope_finds_nothing(client, tree, secretary_a):
    make_member(tree.branch_b, full_name="Ở Chi Bộ B")
    response = login(client, secretary_a).get(reverse("branches:member_list"), {"organization": "BR-B"})
    assert response.status_code == 200
    assert "organization" in response.context["filter"].form.errors
    assert "Ở Chi Bộ B" not in response.content.decode()


def test_member_list_does_not_list_every_organisation_as_an_option(client, tree, department):
    content = login(client, department).get(reverse("branches:member_list")).content.decode()
    assert f'<option value="{tree.branch_b.pk}"' not in content


def test_download_links_carry_the_list_filters_as_ids(client, tree, department):
    from django.urls import NoReverseMatch

    response = login(client, department).get(reverse("branches:member_list"), {"organization": "BR-A", "page": "1"})
    links = dict(response.context["export_urls"])
    try:
        reverse("io:export")
    except NoReverseMatch:
        assert links == {}
        return
    assert set(links) == {".xlsx", ".csv"}
    assert f"organization={tree.branch_a.pk}" in links[".xlsx"]
    assert "kind=members" in links[".xlsx"] and "format=xlsx" in links[".xlsx"]
    assert "page=" not in links[".xlsx"]


def test_edit_over_a_newer_change_is_refused_and_names_the_field(client, tree, secretary_a):
    from branches.services import update_member

    member = make_member(tree.branch_a, full_name="Bản Gốc")
    login(client, secretary_a)
    url = reverse("branches:member_edit", args=[member.pk])
    form = client.get(url).context["form"]
    assert form["expected_version"].value() == member.version
    # Someone else saves in between.
    update_member(secretary_a, member, party_card_number="PC-OTHER-1")
    data = TestMemberViews().edit_data(member, tree)
    data.update(full_name="Bản Của Tôi", expected_version=form["expected_version"].value())
    response = client.post(url, data)
    assert response.status_code == 200
    errors = " ".join(response.context["form"].non_field_errors())
    assert errors and str(Member._meta.get_field("party_card_number").verbose_name).lower() in errors.lower()
    member.refresh_from_db()
    assert member.full_name == "Bản Gốc" and member.party_card_number == "PC-OTHER-1"


def test_stale_lifecycle_step_is_refused(client, tree, secretary_a):
    from branches.services import update_member

    member = make_member(tree.branch_a)
    login(client, secretary_a)
    url = reverse("branches:member_leave", args=[member.pk])
    version = client.get(url).context["form"]["expected_version"].value()
    update_member(secretary_a, member, full_name="Đổi Tên")
    response = client.post(url, {"reason": "resigned", "on": today().isoformat(), "expected_version": version})
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    member.refresh_from_db()
    assert member.status == MemberStatus.ACTIVE


def test_a_phone_sorts_the_cards_with_links_since_the_column_headers_are_hidden(client, tree, secretary_a):
    make_member(tree.branch_a, full_name="An")
    client.cookies["django_language"] = "en"
    content = login(client, secretary_a).get(reverse("branches:member_list"), {"sort": "full_name"}).content.decode()
    links = content.split('class="d-md-none')[1].split("</nav>")[0]
    assert 'aria-label="Sort by"' in content
    # the sorted column is marked and its link reverses the order; another column's sorts by it
    assert 'href="?sort=-full_name" aria-current="true"' in links
    assert "?sort=admitted_on" in links
