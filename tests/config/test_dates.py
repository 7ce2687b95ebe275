"""Dates as Vietnam writes them (issue 16, deliverable 1): dd/mm/yyyy read and shown in both languages.

Django's Vietnamese locale has no input formats, so "01/12/2026" was read the US way (12 January)
and "15/11/2026" refused; config/formats puts day-month-year first, ISO stays accepted.
"""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import formats, translation

from branches.choices import MemberStatus
from branches.models import Member
from branches.services import today
from core.forms import date_field
from reports.metrics import Metric
from tests.api_conftest import *  # noqa: F403
from tests.api_conftest import API
from tests.factories import MemberFactory, TargetFactory
from tests.scoped_views import login, make_member

D = datetime.date


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("01/12/2026", D(2026, 12, 1)),
        ("15/11/2026", D(2026, 11, 15)),
        ("15-11-2026", D(2026, 11, 15)),
        ("2026-11-15", D(2026, 11, 15)),
    ],
)
def test_a_date_field_reads_day_month_year_and_iso_in_both_languages(language, text, meant):
    with translation.override(language):
        field = date_field("on")
        assert field.clean(text) == meant


@pytest.mark.parametrize("language", ["vi", "en"])
def test_dates_are_shown_day_month_year_in_both_languages(language):
    with translation.override(language):
        assert formats.date_format(D(2026, 12, 1), "SHORT_DATE_FORMAT") == "01/12/2026"
        assert date_field("on").widget.format_value(D(2026, 12, 1)) == "01/12/2026"


@pytest.mark.parametrize("language", ["vi", "en"])
def test_admin_reads_01_12_as_the_first_of_december(tree, client, administrator, settings, language):
    settings.LANGUAGE_CODE = language
    settings.OTP_REQUIRED_ROLES = ()
    administrator.is_staff = True
    administrator.save()
    client.force_login(administrator)
    client.cookies["django_language"] = language
    data = {
        "full_name": "Nguyễn Văn Ngày",
        "sex": "male",
        "date_of_birth": "15/11/1990",  # refused before: there is no 15th month
        "citizen_id": "001090012399",
        "party_card_number": "",
        "enterprise": "",
        "position": "worker",
        "organization": tree.branch_a.pk,
        "admitted_on": "01/12/2024",
        "official_on": "",
    }
    response = client.post(reverse("admin:branches_member_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    member = Member.objects.get(citizen_id="001090012399")
    assert member.date_of_birth == D(1990, 11, 15)
    assert member.periods.get().started_on == D(2024, 12, 1)


def test_page_form_takes_and_shows_dd_mm_yyyy(client, tree, secretary_a):
    member = make_member(tree.branch_a, admitted_on=D(2020, 3, 1))
    login(client, secretary_a)
    url = reverse("branches:member_leave", args=[member.pk])
    page = client.get(url).content.decode()
    field = re.search(r'<input[^>]*name="on"[^>]*>', page).group(0)
    assert 'type="text"' in field and 'placeholder="nn/tt/nnnn"' in field
    assert f'value="{formats.date_format(today(), "SHORT_DATE_FORMAT")}"' in field
    response = client.post(url, {"reason": "resigned", "on": "01/02/2021"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.status == MemberStatus.LEFT
    assert member.periods.get().ended_on == D(2021, 2, 1)


def test_error_messages_show_dates_as_the_pages_do(client, tree, secretary_a):
    member = make_member(tree.branch_a, admitted_on=D(2017, 9, 27))
    login(client, secretary_a)
    client.cookies["django_language"] = "en"
    url = reverse("branches:member_leave", args=[member.pk])
    response = client.post(url, {"reason": "resigned", "on": "01/01/2017"})
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors["on"])
    assert "27/09/2017" in errors and "2017-09-27" not in errors
    # the value typed is shown back as typed, in the same order
    assert 'value="01/01/2017"' in response.content.decode()


def test_dashboard_filter_takes_dd_mm_yyyy(client, department, tree):
    MemberFactory(organization=tree.branch_a, admitted_on=D(2024, 2, 1), is_business_owner=False)
    MemberFactory(organization=tree.branch_a, admitted_on=D(2024, 5, 1), is_business_owner=False)
    TargetFactory(committee=tree.branch_a, metric=Metric.MEMBERS_ADMITTED, value=3)
    client.force_login(department)
    response = client.get(reverse("reports:dashboard"), {"year": 2024, "as_of": "31/03/2024"})
    assert response.status_code == 200
    assert response.context["structure"].date == D(2024, 3, 31)
    assert response.context["report"].row(Metric.MEMBERS_ADMITTED).actual == 1
    assert 'value="31/03/2024"' in response.content.decode()


def test_api_takes_iso_dates_and_words_its_errors_with_display_dates(api, tree):
    member = MemberFactory(organization=tree.branch_a, admitted_on=D(2023, 3, 1), official_on=None)
    url = f"{API}members/{member.pk}/recognize/"
    response = api.secretary_a.post(url, {"official_on": "2024-03-01"}, format="json")
    assert response.status_code == 200 and response.json()["official_on"] == "2024-03-01"
    again = api.secretary_a.post(url, {"official_on": "2024-04-01"}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 400
    assert "01/03/2024" in str(again.json()["official_on"])


@pytest.mark.parametrize("language", ["vi", "en"])
def test_admin_calendar_writes_the_day_first(client, administrator, settings, language):
    # The admin's date picker (DateTimeShortcuts.js) writes dates in DATE_INPUT_FORMATS[0].
    settings.OTP_REQUIRED_ROLES = ()
    administrator.is_staff = True
    administrator.save()
    client.force_login(administrator)
    client.cookies["django_language"] = language
    catalog = client.get(reverse("admin:jsi18n")).content.decode()
    assert re.search(r'"DATE_INPUT_FORMATS": \[\s*"%d/%m/%Y"', catalog)
    assert re.search(r'"SHORT_DATE_FORMAT": "d/m/Y"', catalog)
