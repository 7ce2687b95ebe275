"""Optimistic locking: a save built from a stale version is refused and says what changed since."""

import datetime

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import translation

from branches import services
from branches.models import Member, Organization, Prospect
from enterprises import services as enterprise_services
from enterprises.models import Enterprise, MassOrganization
from tests.factories import MassOrganizationFactory, MemberFactory, ProspectFactory


@pytest.fixture(autouse=True)
def english(settings):
    """Messages are asserted in English (the default language is Vietnamese), in every thread."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def member(tree):
    return MemberFactory(organization=tree.branch_a, full_name="Nguyễn Văn An", is_business_owner=False)


def test_new_records_start_at_version_one(member):
    assert member.version == 1


def test_every_successful_update_raises_the_version(member, secretary_a):
    services.update_member(secretary_a, member, expected_version=1, full_name="Nguyễn Văn Ân")
    services.update_member(secretary_a, member, expected_version=2, position="manager")
    member.refresh_from_db()
    assert member.version == 3
    assert member.full_name == "Nguyễn Văn Ân"
    assert member.position == "manager"


def test_later_save_from_the_same_version_is_refused_and_names_the_changed_field(member, secretary_a):
    services.update_member(secretary_a, member, expected_version=1, full_name="Nguyễn Văn Bình")
    with pytest.raises(ValidationError) as exc:
        services.update_member(secretary_a, member, expected_version=1, position="technical")
    message = " ".join(exc.value.message_dict[NON_FIELD_ERRORS])
    assert "full name" in message
    member.refresh_from_db()
    assert member.position != "technical"
    assert member.full_name == "Nguyễn Văn Bình"
    assert member.version == 2


def test_update_without_expected_version_keeps_working(member, secretary_a):
    services.update_member(secretary_a, member, full_name="Nguyễn Văn Cường")
    member.refresh_from_db()
    assert member.version == 2


def test_garbage_expected_version_is_a_validation_error(member, secretary_a):
    with pytest.raises(ValidationError):
        services.update_member(secretary_a, member, expected_version="abc", full_name="X Y")


def test_lifecycle_steps_raise_the_version_and_refuse_a_stale_copy(member, secretary_a):
    services.recognize_official(secretary_a, member, official_on=datetime.date(2021, 3, 1), expected_version=1)
    with pytest.raises(ValidationError):
        services.transfer_member(secretary_a, member, on=datetime.date(2024, 9, 1), expected_version=1)
    member.refresh_from_db()
    assert member.version == 2
    assert member.status == "active"


def test_stale_prospect_update_is_refused(tree, secretary_a):
    prospect = ProspectFactory(organization=tree.branch_a)
    services.update_prospect(secretary_a, prospect, expected_version=1, notes="first")
    with pytest.raises(ValidationError) as exc:
        services.update_prospect(secretary_a, prospect, expected_version=1, notes="second")
    assert "notes" in " ".join(exc.value.messages)
    assert Prospect.objects.get(pk=prospect.pk).notes == "first"


def test_stale_organization_update_is_refused(tree, administrator):
    services.update_organization(administrator, tree.branch_a, expected_version=1, name="Chi bộ mới")
    with pytest.raises(ValidationError) as exc:
        services.update_organization(administrator, tree.branch_a, expected_version=1, name="Chi bộ khác")
    assert "name" in " ".join(exc.value.messages)
    assert Organization.objects.get(pk=tree.branch_a.pk).name == "Chi bộ mới"


def test_stale_enterprise_update_is_refused(tree, secretary_a):
    enterprise = tree.enterprise_a
    enterprise_services.update_enterprise(secretary_a, enterprise, expected_version=1, employees=120)
    with pytest.raises(ValidationError) as exc:
        enterprise_services.update_enterprise(secretary_a, enterprise, expected_version=1, employees=7)
    assert "employees" in " ".join(exc.value.messages)
    assert Enterprise.objects.get(pk=enterprise.pk).employees == 120


def test_stale_mass_organization_update_is_refused(tree, secretary_a):
    mass = MassOrganizationFactory(enterprise=tree.enterprise_a)
    enterprise_services.update_mass_organization(secretary_a, mass, expected_version=1, name="Công đoàn A")
    with pytest.raises(ValidationError):
        enterprise_services.update_mass_organization(secretary_a, mass, expected_version=1, name="Công đoàn B")
    assert MassOrganization.objects.get(pk=mass.pk).name == "Công đoàn A"


def test_dissolution_raises_member_and_organization_versions(tree, administrator, member):
    services.dissolve_organization(administrator, tree.branch_a, on=datetime.date(2024, 6, 1), expected_version=1)
    assert Member.objects.get(pk=member.pk).version == 2
    assert Organization.objects.get(pk=tree.branch_a.pk).version == 2
