"""The pickers' endpoints and widget (issue 16): by name without marks or by code, scoped, paginated."""

from django.urls import reverse

from branches.forms import MemberAdmitForm, TransferForm
from tests.factories import OrganizationFactory
from tests.scoped_views import login

ORGANIZATIONS = "branches:organization_autocomplete"


def texts(response):
    return [row["text"] for row in response.json()["results"]]


def test_organisations_are_found_without_marks_or_case(client, tree, department):
    response = login(client, department).get(reverse(ORGANIZATIONS), {"q": "chi bo cong ty binh"})
    assert texts(response) == [str(tree.branch_b)]


def test_organisations_are_found_by_part_of_the_code(client, tree, department):
    response = login(client, department).get(reverse(ORGANIZATIONS), {"q": "br-"})
    assert set(texts(response)) == {str(tree.branch_a), str(tree.branch_b)}


def test_a_secretary_is_offered_only_what_they_may_see(client, tree, secretary_a):
    response = login(client, secretary_a).get(reverse(ORGANIZATIONS), {"q": "chi bo"})
    assert texts(response) == [str(tree.branch_a)]


def test_transfer_destinations_cross_subtrees_and_carry_codes(client, tree, secretary_a):
    response = login(client, secretary_a).get(
        reverse(ORGANIZATIONS), {"q": "binh minh", "set": "transfer", "value": "code"}
    )
    assert response.json()["results"] == [{"value": "BR-B", "text": str(tree.branch_b)}]


def test_administrators_choice_sets_are_empty_for_others(client, tree, department):
    response = login(client, department).get(reverse(ORGANIZATIONS), {"set": "parents"})
    assert response.json()["results"] == []


def test_unknown_choice_set_or_value_field_is_not_found(client, tree, department):
    login(client, department)
    assert client.get(reverse(ORGANIZATIONS), {"set": "everything"}).status_code == 404
    assert client.get(reverse(ORGANIZATIONS), {"value": "search_name"}).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, tree):
    assert client.get(reverse(ORGANIZATIONS)).status_code == 302


def test_results_come_page_by_page(client, tree, administrator):
    for number in range(25):
        OrganizationFactory(code=f"PAGE-{number:02}", name=f"Chi bộ trang {number:02}", parent=tree.committee)
    login(client, administrator)
    first = client.get(reverse(ORGANIZATIONS), {"q": "trang"}).json()
    assert len(first["results"]) == 20 and first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 5 and second["next"] is None


def test_enterprises_by_name_and_localities_by_name(client, tree, department):
    login(client, department)
    enterprises = client.get(reverse("enterprises:enterprise_autocomplete"), {"q": "an phat"})
    assert texts(enterprises) == [str(tree.enterprise_a)]
    localities = client.get(reverse("enterprises:locality_autocomplete"), {"q": "cau giay"})
    assert texts(localities) == ["Phường Cầu Giấy"]


def test_the_widget_renders_only_the_chosen_option(tree, secretary_a):
    form = MemberAdmitForm(user=secretary_a, initial={"enterprise": tree.enterprise_a.pk})
    html = str(form["enterprise"])
    assert 'data-autocomplete-url="/enterprises/autocomplete/"' in html
    assert tree.enterprise_a.name in html and tree.enterprise_b.name not in html
    assert "---------" not in html


def test_the_transfer_form_picks_by_name_and_keeps_the_code(tree, secretary_a):
    form = TransferForm(
        user=secretary_a, data={"destination": "organization", "to_organization": "BR-B", "on": "01/06/2024"}
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["to_organization"] == tree.branch_b
    assert "set=transfer" in str(form["to_organization"]) and tree.branch_b.name in str(form["to_organization"])


def test_list_filters_use_the_picker_and_keep_codes_in_the_url(client, tree, department):
    response = login(client, department).get(reverse("branches:member_list"), {"organization": "BR-A"})
    html = response.content.decode()
    assert 'data-autocomplete-url="/organizations/autocomplete/?value=code"' in html
    assert f'<option value="BR-A" selected>{tree.branch_a}</option>' in html


def test_report_pages_pick_the_organisation_by_name_for_administrators(client, tree, administrator):
    html = login(client, administrator).get(reverse("reports:dashboard"), {"organization": "DIST"}).content.decode()
    assert 'data-autocomplete-url="/organizations/autocomplete/?value=code"' in html
    assert f'<option value="DIST" selected>{tree.committee}</option>' in html


def test_malformed_values_and_searches_are_no_server_error(client, tree, department):
    login(client, department)
    assert client.get(reverse("enterprises:enterprise_list"), {"locality": "\x00"}).status_code == 200
    assert client.get(reverse("enterprises:enterprise_list"), {"locality": "abc"}).status_code == 200
    assert client.get(reverse(ORGANIZATIONS), {"q": "\x00", "page": "x"}).status_code == 200
    assert client.get(reverse("enterprises:enterprise_list"), {"locality": "9" * 23}).status_code == 200
    assert client.get(reverse(ORGANIZATIONS), {"page": "9" * 23}).status_code == 200
