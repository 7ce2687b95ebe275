"""Filters and selects say what their empty choice means (issue 16, deliverable 4).

Yes/no filters offer "all / yes / no" with "all" first and chosen by default (Django's own said
"Unknown" / "Chưa xác định"); no select shows "---------".
"""

import datetime
import re

import pytest
from django.urls import reverse

from tests.api_conftest import *  # noqa: F403
from tests.api_conftest import API
from tests.scoped_views import login, make_member


def select_options(html, name):
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, name
    return re.findall(r'<option value="([^"]*)"([^>]*)>([^<]*)</option>', select.group(1))


@pytest.fixture
def members(tree):
    return {
        "official": make_member(
            tree.branch_a,
            full_name="Lê Chính Thức",
            admitted_on=datetime.date(2019, 1, 1),
            official_on=datetime.date(2020, 1, 1),
        ),
        "probationary": make_member(
            tree.branch_a, full_name="Lê Dự Bị", admitted_on=datetime.date(2024, 1, 1), official_on=None
        ),
    }


@pytest.mark.parametrize(("language", "all_label"), [("vi", "Tất cả"), ("en", "All")])
def test_yes_no_filter_offers_all_first_and_chosen(client, secretary_a, members, language, all_label):
    login(client, secretary_a)
    client.cookies["django_language"] = language
    html = client.get(reverse("branches:member_list")).content.decode()
    for name in ("official", "is_business_owner"):
        options = select_options(html, name)
        assert [value for value, _attrs, _label in options] == ["", "true", "false"]
        assert options[0][2] == all_label and "selected" in options[0][1]
    assert "---------" not in html and "Chưa xác định" not in html and "Unknown" not in html


def test_yes_no_filter_filters(client, secretary_a, members):
    login(client, secretary_a)
    url = reverse("branches:member_list")

    def names(**params):
        return {row.full_name for row in client.get(url, params).context["table"].data}

    assert names() == names(official="") == {"Lê Chính Thức", "Lê Dự Bị"}
    assert names(official="true") == {"Lê Chính Thức"}
    assert names(official="false") == {"Lê Dự Bị"}
    chosen = select_options(client.get(url, {"official": "false"}).content.decode(), "official")
    assert [value for value, attrs, _label in chosen if "selected" in attrs] == ["false"]


def test_choice_filters_say_all(client, department, tree):
    login(client, department)
    for url_name, field in (
        ("branches:organization_list", "kind"),
        ("branches:organization_list", "active"),
        ("enterprises:enterprise_list", "ownership"),
        ("enterprises:enterprise_list", "has_party_organization"),
        ("enterprises:massorganization_list", "kind"),
    ):
        html = client.get(reverse(url_name)).content.decode()
        options = select_options(html, field)
        assert options[0][0] == "" and options[0][2] == "Tất cả", (url_name, field)
        assert "---------" not in html, url_name


def test_page_forms_name_their_empty_choice(client, secretary_a, tree):
    login(client, secretary_a)
    html = client.get(reverse("branches:member_admit")).content.decode()
    assert "---------" not in html
    assert select_options(html, "enterprise")[0][2] == "— không có —"  # optional
    assert select_options(html, "organization")[0][2] == "— chọn —"  # required


def test_api_still_takes_true_and_false(api, members):
    official = api.secretary_a.get(f"{API}members/", {"official": "true"}).json()["results"]
    assert [row["full_name"] for row in official] == ["Lê Chính Thức"]
    every = api.secretary_a.get(f"{API}members/", {"official": ""}).json()["results"]
    assert len(every) == 2


@pytest.mark.django_db
def test_no_admin_list_or_add_form_shows_djangos_dashes(client, tree, administrator):
    """The admin's action menus and the empty choices of its forms say what they mean."""
    from django.contrib import admin

    administrator.is_staff = True
    administrator.save()
    login(client, administrator)
    shown = []
    for model in admin.site._registry:
        for view in ("changelist", "add"):
            response = client.get(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}"))
            if response.status_code == 200 and "---------" in response.content.decode():
                shown.append(f"{model._meta.label} {view}")
    assert shown == [], shown
