"""The lock of an approved period on every write path that would change a report of the subtree:
the services of organisations, members, enterprises, mass organisations, returns and targets, and
through a page, the API, the admin and the imports, each refused with the lock's message."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from branches import approvals, services
from branches.choices import OrganizationKind, RoleKey
from dataio.enterprise_imports import import_enterprises, import_returns
from enterprises import services as enterprise_services
from enterprises.choices import Ownership
from enterprises.models import MembershipReturn
from reports.metrics import Metric
from reports.models import Target
from reports.services import set_targets
from tests.api_conftest import *  # noqa: F403
from tests.api_conftest import API
from tests.dataio.test_io_enterprises_import import ENTERPRISE_HEADERS, RETURN_HEADERS, enterprise_row
from tests.dataio.test_io_members_import import csv_bytes
from tests.factories import (
    EnterpriseFactory,
    MassOrganizationFactory,
    MemberFactory,
    MembershipReturnFactory,
    OrganizationFactory,
    RoleAssignmentFactory,
    TargetFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def city_department(tree):
    user = UserFactory(username="city_department")
    RoleAssignmentFactory(user=user, role=RoleKey.DEPARTMENT, organization=tree.city)
    return user


@pytest.fixture
def locked(tree, secretary_a, secretary_b, department, city_department):
    """2024 approved for BR-A, BR-B and DIST (by the city's department), with a member admitted by
    BR-A in 2024 and a trade union of BR-A's enterprise founded in 2024."""
    tree.member = MemberFactory(organization=tree.branch_a, enterprise=tree.enterprise_a, admitted_on=D(2024, 4, 1))
    tree.union = MassOrganizationFactory(enterprise=tree.enterprise_a, established_on=D(2024, 3, 1))
    MembershipReturnFactory(mass_organization=tree.union)
    for secretary, branch in ((secretary_a, tree.branch_a), (secretary_b, tree.branch_b)):
        approvals.submit(secretary, branch, year=2024)
        approvals.approve(department, branch, year=2024)
    approvals.submit(department, tree.committee, year=2024)
    approvals.approve(city_department, tree.committee, year=2024)
    return tree


def assert_locked(caught, field):
    """The refusal is the lock's message, at ``field``."""
    messages = caught.value.message_dict[field]
    assert any("approved on" in m and "city_department" in m and "Thành ủy" in m for m in messages), messages


def refused(call, field):
    with pytest.raises(ValidationError) as caught:
        call()
    assert_locked(caught, field)


# Services ---------------------------------------------------------------------------------


def test_correcting_a_reported_fact_of_a_member_admitted_in_the_period_is_refused(locked, secretary_a):
    refused(lambda: services.update_member(secretary_a, locked.member, ethnicity="02"), "ethnicity")
    refused(lambda: services.update_member(secretary_a, locked.member, enterprise=locked.enterprise_b), "enterprise")
    # Facts no report reads stay editable, and members admitted outside the period too.
    assert services.update_member(secretary_a, locked.member, full_name="Nguyễn Văn Sửa", hometown="Hà Tĩnh").pk
    earlier = MemberFactory(organization=locked.branch_a, admitted_on=D(2023, 4, 1))
    assert services.update_member(secretary_a, earlier, ethnicity="02").ethnicity == "02"


def test_correcting_the_date_of_establishment_into_or_out_of_the_period_is_refused(locked, administrator):
    refused(
        lambda: services.update_organization(administrator, locked.branch_a, established_on=D(2024, 2, 1)),
        "established_on",
    )
    recent = OrganizationFactory(
        code="BR-C", kind=OrganizationKind.GRASSROOTS_BRANCH, parent=locked.committee, established_on=D(2024, 5, 1)
    )
    refused(lambda: services.update_organization(administrator, recent, established_on=D(2025, 2, 1)), "established_on")
    assert services.update_organization(administrator, locked.branch_a, name="Chi bộ An Phát").pk


def test_moving_merging_or_dissolving_into_a_locked_subtree_is_refused(locked, administrator):
    outside = OrganizationFactory(code="OUT", parent=locked.city, established_on=D(2010, 1, 1))
    stray = OrganizationFactory(
        code="BR-X", kind=OrganizationKind.GRASSROOTS_BRANCH, parent=outside, established_on=D(2010, 1, 1)
    )
    refused(lambda: services.move_organization(administrator, stray, locked.committee, on=D(2024, 6, 1)), "on")
    refused(lambda: services.merge_organizations(administrator, [stray], locked.branch_a, on=D(2024, 6, 1)), "into")
    refused(
        lambda: services.dissolve_organization(administrator, stray, on=D(2024, 6, 1), destination=locked.branch_a),
        "destination",
    )
    assert services.move_organization(administrator, stray, locked.committee, on=D(2025, 1, 2)).pk


def test_establishing_an_organisation_in_the_period_is_refused(locked, administrator):
    refused(
        lambda: services.establish_organization(
            administrator, code="BR-N", name="Chi bộ mới", kind=OrganizationKind.GRASSROOTS_BRANCH,
            locality=locked.commune, established_on=D(2024, 9, 1), parent=locked.committee,
        ),
        "established_on",
    )  # fmt: skip


def test_mass_organisation_writes_dated_in_the_period_are_refused(locked, secretary_a):
    refused(
        lambda: enterprise_services.establish_mass_organization(
            secretary_a, enterprise=locked.enterprise_a, kind="youth_union", name="Đoàn TN",
            established_on=D(2024, 5, 1), founding_members=12,
        ),
        "established_on",
    )  # fmt: skip
    refused(
        lambda: enterprise_services.record_membership_return(
            secretary_a, locked.union, date=D(2024, 6, 30), members_total=30, members_admitted=10
        ),
        "date",
    )
    refused(lambda: enterprise_services.update_mass_organization(secretary_a, locked.union, kind="youth_union"), "kind")
    refused(
        lambda: enterprise_services.dissolve_mass_organization(secretary_a, locked.union, on=D(2024, 8, 1)),
        "dissolved_on",
    )
    assert enterprise_services.record_membership_return(
        secretary_a, locked.union, date=D(2025, 1, 15), members_total=30, members_admitted=10
    ).pk
    assert enterprise_services.update_mass_organization(secretary_a, locked.union, name="Công đoàn An Phát").pk
    # Another mass organisation of the same enterprise with nothing dated in 2024 changes kind freely.
    older = MassOrganizationFactory(enterprise=locked.enterprise_a, kind="womens_union", established_on=D(2023, 3, 1))
    assert enterprise_services.update_mass_organization(secretary_a, older, kind="veterans_association").pk


def test_changing_an_enterprise_s_ownership_or_managing_committee_is_refused(locked, administrator):
    refused(
        lambda: enterprise_services.update_enterprise(
            administrator, locked.enterprise_a, ownership=Ownership.FOREIGN_INVESTED
        ),
        "ownership",
    )
    other = OrganizationFactory(code="OTHER", parent=locked.city)
    refused(
        lambda: enterprise_services.update_enterprise(administrator, locked.enterprise_a, managing_committee=other),
        "managing_committee",
    )
    # An enterprise with nothing dated in the period changes freely.
    quiet = EnterpriseFactory(managing_committee=locked.committee, locality=locked.commune)
    assert enterprise_services.update_enterprise(
        administrator, quiet, ownership=Ownership.FOREIGN_INVESTED, managing_committee=other
    )


def test_targets_of_an_approved_year_are_locked(locked, city_department):
    TargetFactory(committee=locked.committee, year=2024, metric=Metric.MEMBERS_ADMITTED, value=10)
    with pytest.raises(ValidationError) as caught:
        set_targets(city_department, year=2024, values={(locked.committee, Metric.MEMBERS_ADMITTED): 12})
    assert_locked(caught, f"DIST:{Metric.MEMBERS_ADMITTED}")
    # The same value is no change; another year is open.
    assert set_targets(city_department, year=2024, values={(locked.committee, Metric.MEMBERS_ADMITTED): 10}) == []
    assert set_targets(city_department, year=2025, values={(locked.committee, Metric.MEMBERS_ADMITTED): 12})


def test_reopening_unlocks_the_writes(locked, secretary_a, department):
    approvals.reopen(department, locked.branch_a, year=2024, reason="Sửa dân tộc")
    assert services.update_member(secretary_a, locked.member, ethnicity="02").ethnicity == "02"


# Through a page, the API, the admin and the imports ---------------------------------------


def test_the_member_page_shows_the_lock_at_the_field(client, locked, secretary_a):
    from tests.branches.test_ui_members import TestMemberViews

    client.force_login(secretary_a)
    data = TestMemberViews().edit_data(locked.member, locked)
    data["sex"] = "female"
    response = client.post(reverse("branches:member_edit", args=[locked.member.pk]), data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    errors = response.context["form"].errors["sex"]
    assert any("city_department" in error and "(CITY)" in error for error in errors), errors
    locked.member.refresh_from_db()
    assert locked.member.sex == "male"


def test_the_api_refuses_a_return_dated_in_the_period_with_400(api, locked):
    url = f"{API}mass-organizations/{locked.union.pk}/returns/"
    response = api.secretary_a.post(
        url, {"date": "2024-06-30", "members_total": 30, "members_admitted": 10}, format="json"
    )
    assert response.status_code == 400 and "date" in response.json(), response.content
    assert MembershipReturn.objects.count() == 1


def test_the_admin_refuses_a_target_of_the_approved_year(client, locked, administrator):
    administrator.is_staff = True
    administrator.save()
    client.force_login(administrator)
    data = {"committee": locked.committee.pk, "year": "2024", "metric": Metric.MEMBERS_ADMITTED, "value": "25"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.conf.settings.OTP_REQUIRED_ROLES", (), raising=False)
        response = client.post(reverse("admin:reports_target_add"), data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "city_department" in response.content.decode()
    assert not Target.objects.exists()


def test_the_enterprise_import_refuses_an_ownership_change_touching_the_period(locked, secretary_a):
    row = enterprise_row(1, **{"tax code": locked.enterprise_a.tax_code, "ownership": "foreign-invested"})
    result = import_enterprises(
        csv_bytes([row], ENTERPRISE_HEADERS), organization=locked.branch_a, acting_user=secretary_a
    )
    assert result.has_errors and not result.committed
    messages = [error.message for r in result.rows for error in r.errors]
    assert any("approved on" in m and "city_department" in m for m in messages), messages
    locked.enterprise_a.refresh_from_db()
    assert locked.enterprise_a.ownership == Ownership.PRIVATE


def test_the_returns_import_refuses_returns_dated_in_the_period(locked, secretary_a):
    rows = [
        {RETURN_HEADERS[0]: locked.enterprise_a.tax_code, "kind": "trade union", "date": "30/06/2024",
         RETURN_HEADERS[3]: "35", RETURN_HEADERS[4]: "15"},
        {RETURN_HEADERS[0]: locked.enterprise_a.tax_code, "kind": "trade union", "date": "15/01/2025",
         RETURN_HEADERS[3]: "35", RETURN_HEADERS[4]: "15"},
    ]  # fmt: skip
    result = import_returns(csv_bytes(rows, RETURN_HEADERS), organization=locked.branch_a, acting_user=secretary_a)
    assert [r.action for r in result.rows] == ["error", "create"]
    assert "city_department" in result.rows[0].errors[0].message
    assert MembershipReturn.objects.count() == 1


def test_the_members_import_refuses_correcting_a_reported_fact(locked, secretary_a):
    from dataio.imports import import_members
    from tests.dataio.test_io_members_import import member_row

    row = member_row(1, **{"citizen ID*": locked.member.citizen_id})
    result = import_members(csv_bytes([row]), organization=locked.branch_a, acting_user=secretary_a)
    messages = [error.message for r in result.rows for error in r.errors]
    assert result.has_errors and any("city_department" in m for m in messages), result.preview_lines()
