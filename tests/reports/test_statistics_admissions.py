"""New admissions (form 3-BTCTW): of whom, by age, education, qualification, political theory and
ownership of the workplace; per organisation below and in total; CLI, API and page."""

import datetime
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from branches.choices import OrganizationKind
from enterprises.choices import Ownership
from reports.statistics import new_admissions
from reports.statistics_rules import admission_columns, education_level
from tests.api_conftest import *  # noqa: F403
from tests.api_conftest import API
from tests.factories import EnterpriseFactory, MemberFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

D = datetime.date
YEAR = (D(2024, 1, 1), D(2024, 12, 31))


@pytest.fixture
def admitted(tree):
    joint_stock = EnterpriseFactory(ownership=Ownership.JOINT_STOCK, managing_committee=tree.committee)
    MemberFactory(
        organization=tree.branch_a, admitted_on=D(2024, 3, 1), date_of_birth=D(1994, 3, 1), sex="female",
        ethnicity="02", religion="buddhism", youth_union_member_at_admission=True, general_education="12/12",
        professional_qualification="university", political_theory="elementary", enterprise=tree.enterprise_a,
    )  # 30 at admission  # fmt: skip
    MemberFactory(
        organization=tree.branch_a, admitted_on=D(2024, 5, 1), date_of_birth=D(1993, 4, 30), sex="male",
        ethnicity="01", religion="none", is_business_owner=True, general_education="9/12", enterprise=joint_stock,
    )  # 31 at admission  # fmt: skip
    MemberFactory(
        organization=tree.branch_b, admitted_on=D(2024, 12, 31), date_of_birth=D(1970, 1, 1), ethnicity="foreign",
        general_education="7/10",
    )  # 54, foreign origin: not an ethnic minority  # fmt: skip
    MemberFactory(organization=tree.branch_b, admitted_on=D(2023, 12, 31))  # before the period
    member = MemberFactory(organization=tree.branch_b, admitted_on=D(2024, 6, 1))  # admitted by B, now in A
    member.organization = tree.branch_a
    member.save()
    return tree


def test_totals_of_whom_and_by_group(admitted):
    report = new_admissions(admitted.committee, *YEAR)
    total = report.total
    assert total.get("of_whom.total") == 4
    assert (total.get("of_whom.women"), total.get("of_whom.ethnic_minorities"), total.get("of_whom.religious")) == (
        1, 1, 1,
    )  # fmt: skip
    assert (total.get("of_whom.youth_union"), total.get("of_whom.business_owners")) == (1, 1)
    assert [total.get(f"age.{key}") for key in ("age_18_30", "age_31_40", "age_41_50", "age_over_50")] == [1, 2, 0, 1]
    assert total.get("education.upper_secondary") == 1 and total.get("education.lower_secondary") == 2
    assert total.get("education.not_recorded") == 1
    assert total.get("qualification.university") == 1 and total.get("qualification.not_recorded") == 3
    assert total.get("political_theory.elementary") == 1
    assert total.get("ownership.private") == 1 and total.get("ownership.joint_stock") == 1
    assert total.get("ownership.not_recorded") == 2


def test_each_group_adds_up_to_the_total_and_admissions_count_where_they_happened(admitted):
    report = new_admissions(admitted.committee, *YEAR)
    rows = {row.organization.code: row for row in report.children}
    assert rows["BR-A"].get("of_whom.total") == 2 and rows["BR-B"].get("of_whom.total") == 2
    for row in (report.total, *report.children):
        for group in ("age", "education", "qualification", "political_theory", "ownership"):
            in_group = sum(row.get(key) for key, _label in admission_columns() if key.startswith(f"{group}."))
            assert in_group == row.get("of_whom.total"), (group, row)


@pytest.mark.parametrize(
    ("value", "level"),
    [("5/12", "primary"), ("6/12", "lower_secondary"), ("12/12", "upper_secondary"), ("7/10", "lower_secondary"),
     ("10/10", "upper_secondary"), ("", "not_recorded"), ("x", "not_recorded")],
)  # fmt: skip
def test_education_levels(value, level):
    assert education_level(value) == level


def test_cli_api_and_page_agree(admitted, api, client, department):
    out = io.StringIO()
    call_command("report", "admissions", "--org", "DIST", "--year", "2024", "--format", "json", "--language", "en",
                 stdout=out)  # fmt: skip
    data = json.loads(out.getvalue())
    assert data["total"]["counts"]["of_whom.total"] == 4
    response = api.department.get(f"{API}reports/admissions/", {"organization": "DIST", "year": 2024},
                                  HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
    assert response.status_code == 200 and response.json() == data
    client.force_login(department)
    page = client.get(reverse("reports:admissions"), {"year": 2024}, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and "3-BTCTW" in page.content.decode()
    xlsx = client.get(reverse("reports:admissions"), {"year": 2024, "format": "xlsx"})
    assert xlsx.status_code == 200 and "admissions-DIST" in xlsx["Content-Disposition"]
    text = io.StringIO()
    call_command("report", "admissions", "--org", "DIST", "--year", "2024", stdout=text)
    assert "BR-A" in text.getvalue()


def test_a_branch_dissolved_before_the_period_is_left_out(tree):
    OrganizationFactory(
        code="OLD", kind=OrganizationKind.GRASSROOTS_BRANCH, parent=tree.committee, locality=tree.province,
        established_on=D(2010, 1, 1), dissolved_on=D(2015, 1, 1),
    )  # fmt: skip
    assert "OLD" not in {row.organization.code for row in new_admissions(tree.committee, *YEAR).children}
