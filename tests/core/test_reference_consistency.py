"""Consistency checks on reference data and targets: each refusal at the field, translated, nothing written."""

from datetime import date as D

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from branches import services
from branches.choices import OrganizationKind
from enterprises import services as enterprise_services
from enterprises.choices import LocalityKind
from enterprises.models import Locality
from reports import services as report_services
from reports.metrics import Metric
from reports.models import Target
from tests.factories import EnterpriseFactory, LocalityFactory, OrganizationFactory, TargetFactory


def refused(call, field):
    with pytest.raises(ValidationError) as exc:
        call()
    errors = exc.value.message_dict
    assert field in errors, errors
    return errors[field]


def establish(user, tree, **overrides):
    fields = dict(
        code="HN-CG-MOI",
        name="Chi bộ mới",
        kind=OrganizationKind.GRASSROOTS_BRANCH,
        locality=tree.commune,
        established_on=D(2024, 1, 15),
        parent=tree.committee,
    )
    fields.update(overrides)
    return services.establish_organization(user, **fields)


@pytest.mark.parametrize("code", ["HN CG thu 05!", "hn-cg-05", "HN--CG", "-HN", "HN-", "HỒNG-HÀ"])
def test_an_organisation_code_is_upper_case_letters_digits_and_hyphens(tree, administrator, code):
    with translation.override("vi"):
        messages = refused(lambda: establish(administrator, tree, code=code), "code")
    assert "chữ in hoa" in messages[0]
    assert not type(tree.committee).objects.filter(code=code).exists()


def test_a_well_formed_code_is_accepted(tree, administrator):
    assert establish(administrator, tree, code="HN-CG-05").code == "HN-CG-05"


def test_a_branch_cannot_sit_in_an_enterprise_of_another_province(tree, administrator):
    other_province = LocalityFactory(code="22", name="Quảng Ninh")
    ha_long = LocalityFactory(code="22001", name="Phường Hạ Long", kind=LocalityKind.WARD, parent=other_province)
    enterprise = EnterpriseFactory(name="Công ty Than Hạ Long", locality=ha_long, managing_committee=tree.committee)
    with translation.override("en"):
        messages = refused(lambda: establish(administrator, tree, enterprise=enterprise), "enterprise")
    assert "Quảng Ninh" in messages[0] and "Hà Nội" in messages[0]
    organization = establish(administrator, tree, code="HN-CG-06", enterprise=tree.enterprise_a)
    refused(lambda: services.update_organization(administrator, organization, enterprise=enterprise), "enterprise")
    organization.refresh_from_db()
    assert organization.enterprise == tree.enterprise_a


def test_an_enterprise_with_a_branch_cannot_move_to_another_province(tree, administrator):
    other_province = LocalityFactory(code="22", name="Quảng Ninh")
    ha_long = LocalityFactory(code="22001", name="Phường Hạ Long", kind=LocalityKind.WARD, parent=other_province)
    establish(administrator, tree, code="HN-CG-07", enterprise=tree.enterprise_a)
    with translation.override("en"):
        messages = refused(
            lambda: enterprise_services.update_enterprise(administrator, tree.enterprise_a, locality=ha_long),
            "locality",
        )
    assert len(messages) == 2 and "(BR-A)" in messages[0] + messages[1] and "(HN-CG-07)" in messages[0] + messages[1]
    tree.enterprise_a.refresh_from_db()
    assert tree.enterprise_a.locality == tree.commune
    ward = LocalityFactory(code="01999", name="Phường Mới", kind=LocalityKind.WARD, parent=tree.province)
    assert enterprise_services.update_enterprise(administrator, tree.enterprise_a, locality=ward).locality == ward


def test_a_committee_outside_every_province_may_sit_anywhere(tree, administrator):
    country = LocalityFactory(code="VN", name="Việt Nam", kind=LocalityKind.DISTRICT)
    ha_long = LocalityFactory(code="22", name="Quảng Ninh")
    enterprise = EnterpriseFactory(locality=ha_long, managing_committee=tree.committee)
    assert establish(administrator, tree, locality=country, enterprise=enterprise).enterprise == enterprise


def test_a_province_cannot_sit_under_a_ward(tree, administrator):
    with translation.override("en"):
        messages = refused(
            lambda: enterprise_services.create_locality(
                administrator, code="99", name="Tỉnh lạ", kind=LocalityKind.PROVINCE, parent=tree.commune
            ),
            "parent",
        )
    assert "province" in messages[0]
    assert not Locality.objects.filter(code="99").exists()


def test_a_ward_sits_under_a_province_or_a_district_not_at_the_root(tree, administrator):
    district = enterprise_services.create_locality(
        administrator, code="005", name="Quận Cầu Giấy", kind=LocalityKind.DISTRICT, parent=tree.province
    )
    ward = enterprise_services.create_locality(
        administrator, code="00166", name="Phường Nghĩa Đô", kind=LocalityKind.WARD, parent=district
    )
    assert Locality.objects.get_parent(ward) == district
    refused(
        lambda: enterprise_services.create_locality(
            administrator, code="00167", name="Phường mồ côi", kind=LocalityKind.WARD
        ),
        "parent",
    )
    refused(lambda: enterprise_services.move_locality(administrator, district, ward), "parent")
    refused(lambda: enterprise_services.move_locality(administrator, tree.province, tree.commune), "parent")


def test_a_locality_with_wards_below_cannot_become_a_ward(tree, administrator):
    refused(lambda: enterprise_services.update_locality(administrator, tree.province, kind=LocalityKind.WARD), "kind")
    tree.province.refresh_from_db()
    assert tree.province.kind == LocalityKind.PROVINCE


@pytest.fixture
def child(tree):
    return OrganizationFactory(code="CHILD", parent=tree.committee, locality=tree.province)


def test_owners_cannot_exceed_members_admitted(tree, department, child):
    with translation.override("vi"):
        messages = refused(
            lambda: report_services.set_targets(
                department,
                year=2026,
                values={(child, Metric.MEMBERS_ADMITTED): 300, (child, Metric.OWNERS_ADMITTED): 500},
            ),
            f"CHILD:{Metric.OWNERS_ADMITTED}",
        )
    assert "500" in messages[0] and "300" in messages[0]
    assert not Target.objects.exists()


def test_the_parts_are_checked_against_the_targets_already_set(tree, department, child):
    TargetFactory(committee=child, year=2026, metric=Metric.MASS_ORGS_ESTABLISHED, value=20)
    TargetFactory(committee=child, year=2026, metric=Metric.YOUTH_UNIONS_ESTABLISHED, value=5)
    refused(
        lambda: report_services.set_targets(
            department, year=2026, values={(child, Metric.TRADE_UNIONS_ESTABLISHED): 16}
        ),
        f"CHILD:{Metric.TRADE_UNIONS_ESTABLISHED}",
    )
    report_services.set_targets(department, year=2026, values={(child, Metric.TRADE_UNIONS_ESTABLISHED): 15})
    refused(
        lambda: report_services.set_targets(department, year=2026, values={(child, Metric.MASS_ORGS_ESTABLISHED): 19}),
        f"CHILD:{Metric.TRADE_UNIONS_ESTABLISHED}",
    )
    assert Target.objects.get(metric=Metric.MASS_ORGS_ESTABLISHED).value == 20


def test_union_members_cannot_exceed_mass_organisation_members(tree, department, child):
    refused(
        lambda: report_services.set_targets(
            department,
            year=2026,
            values={
                (child, Metric.MASS_ORG_MEMBERS_ADMITTED): 100,
                (child, Metric.TRADE_UNION_MEMBERS_ADMITTED): 80,
                (child, Metric.YOUTH_UNION_MEMBERS_ADMITTED): 30,
            },
        ),
        f"CHILD:{Metric.TRADE_UNION_MEMBERS_ADMITTED}",
    )
    report_services.set_targets(
        department,
        year=2026,
        values={
            (child, Metric.MASS_ORG_MEMBERS_ADMITTED): 110,
            (child, Metric.TRADE_UNION_MEMBERS_ADMITTED): 80,
            (child, Metric.YOUTH_UNION_MEMBERS_ADMITTED): 30,
        },
    )
    assert Target.objects.count() == 3


def test_a_part_without_its_whole_is_free(tree, department, child):
    report_services.set_targets(department, year=2026, values={(child, Metric.OWNERS_ADMITTED): 5})
    assert Target.objects.get().value == 5
