"""The member profile of form 2-HSĐV: optional on existing records, set through the services, the
API, the import and the export, and a completeness figure per organisation."""

import datetime

import pytest
from django.core.exceptions import ValidationError as ServiceValidationError
from django.utils import translation

from branches import services
from branches.choices import ETHNIC_GROUP_NAMES, Ethnicity, PoliticalTheory, ProfessionalQualification, Religion
from branches.models import Member
from dataio.exports import MEMBER_EXPORT
from dataio.imports import import_members
from reports.statistics import data_completeness
from tests.api_conftest import *  # noqa: F403
from tests.api_conftest import API
from tests.dataio.test_io_members_import import csv_bytes, member_row
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

PROFILE = {
    "ethnicity": "02",
    "religion": Religion.BUDDHISM,
    "general_education": "12/12",
    "professional_qualification": ProfessionalQualification.UNIVERSITY,
    "political_theory": PoliticalTheory.ELEMENTARY,
    "youth_union_member_at_admission": True,
    "hometown": "Cao Bằng",
}


def test_the_official_list_has_54_ethnic_groups_and_foreign_origin():
    assert len(ETHNIC_GROUP_NAMES) == 54
    assert Ethnicity.values[:2] == ["01", "02"] and Ethnicity.values[53] == "54"
    assert Ethnicity.values[-1] == "foreign" and len(Ethnicity.values) == 55


def test_existing_records_stay_valid_without_a_profile(tree):
    member = MemberFactory(organization=tree.branch_a)
    member.full_clean()
    assert member.ethnicity == "" and member.youth_union_member_at_admission is None


def test_admission_and_correction_record_the_profile(tree, secretary_a):
    member = services.admit_member(
        secretary_a,
        organization=tree.branch_a,
        admitted_on=datetime.date(2024, 3, 1),
        full_name="Hoàng Thị Mai",
        sex="female",
        date_of_birth=datetime.date(1995, 1, 1),
        citizen_id="004195000001",
        **PROFILE,
    )
    member.refresh_from_db()
    assert {name: getattr(member, name) for name in PROFILE} == PROFILE
    services.update_member(secretary_a, member, political_theory=PoliticalTheory.INTERMEDIATE, hometown=" Lạng Sơn ")
    member.refresh_from_db()
    assert member.political_theory == PoliticalTheory.INTERMEDIATE and member.hometown == "Lạng Sơn"


@pytest.mark.parametrize("value", ["13/12", "12", "abc", "0/12", "11/10"])
def test_general_education_is_grades_of_the_system(tree, secretary_a, value):
    member = MemberFactory(organization=tree.branch_a)
    with pytest.raises(ServiceValidationError) as caught:
        services.update_member(secretary_a, member, general_education=value)
    assert "general_education" in caught.value.message_dict


def test_api_reads_and_writes_the_profile(api, tree):
    member = MemberFactory(organization=tree.branch_a)
    response = api.secretary_a.patch(
        f"{API}members/{member.pk}/", {"ethnicity": "foreign", "religion": "none", "version": 1}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ethnicity"] == "foreign" and body["religion"] == "none"
    assert body["youth_union_member_at_admission"] is None
    bad = api.secretary_a.patch(f"{API}members/{member.pk}/", {"ethnicity": "99"}, format="json")
    assert bad.status_code == 400 and "ethnicity" in bad.json()


def test_import_reads_the_profile_columns_by_name_or_code(tree, secretary_a):
    headers = ["citizen ID*", "full name*", "sex*", "date of birth*", "admitted on*", "Party card number",
               "ethnicity", "religion", "general education", "professional qualification", "political theory",
               "Youth Union member at admission", "hometown"]  # fmt: skip
    row = member_row(
        1,
        ethnicity="Tày",
        religion="Công giáo",
        **{
            "general education": "9/12",
            "professional qualification": "cao đẳng",
            "political theory": "sơ cấp",
            "Youth Union member at admission": "có",
            "hometown": "Thái Nguyên",
        },
    )
    result = import_members(
        csv_bytes([row, member_row(2, ethnicity="5")], headers=headers),
        organization=tree.branch_a,
        acting_user=secretary_a,
    )
    assert result.committed, [r.errors for r in result.rows]
    first = Member.objects.get(citizen_id="001190000001")
    assert (first.ethnicity, first.religion, first.general_education) == ("02", Religion.CATHOLICISM, "9/12")
    assert first.professional_qualification == ProfessionalQualification.COLLEGE
    assert first.political_theory == PoliticalTheory.ELEMENTARY
    assert first.youth_union_member_at_admission is True and first.hometown == "Thái Nguyên"
    second = Member.objects.get(citizen_id="001190000002")
    assert second.ethnicity == "05" and second.youth_union_member_at_admission is None


def test_import_refuses_an_unknown_ethnicity(tree, secretary_a):
    headers = ["citizen ID*", "full name*", "sex*", "date of birth*", "admitted on*", "Party card number", "ethnicity"]
    result = import_members(
        csv_bytes([member_row(1, ethnicity="Atlantis")], headers=headers),
        organization=tree.branch_a,
        acting_user=secretary_a,
    )
    assert result.has_errors and not Member.objects.exists()


def test_export_has_the_profile_columns(tree, department):
    member = MemberFactory(organization=tree.branch_a, **PROFILE)
    with translation.override("en"):  # headers in English, whatever an earlier test left active
        headers = [str(column.header) for column in MEMBER_EXPORT.out_columns()]
        rows = list(MEMBER_EXPORT.rows(Member.objects.filter(pk=member.pk)))
    assert "ethnicity" in headers and "hometown" in headers
    row = dict(zip(headers, rows[0], strict=True))
    assert row["ethnicity"] == "Tày" and row["general education"] == "12/12" and row["hometown"] == "Cao Bằng"


def test_data_completeness_counts_active_members_with_every_field(tree):
    MemberFactory(organization=tree.branch_a, **PROFILE)
    MemberFactory(organization=tree.branch_a, **(PROFILE | {"hometown": ""}))
    MemberFactory(organization=tree.branch_b, **(PROFILE | {"youth_union_member_at_admission": None}))
    MemberFactory(organization=tree.branch_b, status="left", **PROFILE)  # not an active member
    report = data_completeness(tree.committee)
    assert (report.total.members, report.total.complete) == (3, 1)
    assert report.total.missing["hometown"] == 1 and report.total.missing["youth_union_member_at_admission"] == 1
    by_code = {row.organization.code: row for row in report.children}
    assert (by_code["BR-A"].members, by_code["BR-A"].complete, str(by_code["BR-A"].percent)) == (2, 1, "50.0")
    assert (by_code["BR-B"].members, by_code["BR-B"].complete) == (1, 0)
    assert data_completeness(tree.city).total.complete == 1


def test_member_page_shows_the_profile_and_the_edit_form_asks_for_it(client, tree, secretary_a):
    member = MemberFactory(organization=tree.branch_a, **PROFILE)
    client.force_login(secretary_a)
    page = client.get(member.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert "Cao Bằng" in page.content.decode() and "Tày" in page.content.decode()
    from branches.forms import MemberEditForm

    assert set(PROFILE) <= set(MemberEditForm.base_fields)
