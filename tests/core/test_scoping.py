"""The one gate: ``visible_to`` / ``editable_by`` of every model for every persona."""

import datetime
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser

from branches import services
from branches.choices import RoleKey
from branches.models import Member, MembershipPeriod, Organization, Prospect, RoleAssignment, Transfer
from core.scoping import scope_for
from enterprises.models import Enterprise, Locality, MassOrganization, MembershipReturn
from reports.models import Target
from security.models import AccessLog
from tests.factories import (
    EnterpriseFactory,
    LocalityFactory,
    MassOrganizationFactory,
    MemberFactory,
    MembershipReturnFactory,
    OrganizationFactory,
    ProspectFactory,
    RoleAssignmentFactory,
    TargetFactory,
    UserFactory,
)


@pytest.fixture
def world(tree, personas):
    """Records in branch A, in branch B, and under another root committee nobody here keeps."""
    elsewhere = OrganizationFactory(code="QN", name="Tỉnh ủy Quảng Ninh")
    enterprise_elsewhere = EnterpriseFactory(name="Công ty Hạ Long", managing_committee=elsewhere)
    # Recorded by branch A's secretary, managed by the city: branch A's all the same.
    enterprise_recorded = EnterpriseFactory(
        name="Công ty Ghi nhận", managing_committee=tree.city, recorded_by=tree.branch_a
    )
    child_committee = OrganizationFactory(code="CHILD", parent=tree.committee, locality=tree.province)
    objects = SimpleNamespace(
        elsewhere=elsewhere,
        child_committee=child_committee,
        enterprise_elsewhere=enterprise_elsewhere,
        enterprise_recorded=enterprise_recorded,
        member_a=MemberFactory(organization=tree.branch_a, full_name="A member"),
        member_b=MemberFactory(organization=tree.branch_b, full_name="B member"),
        prospect_a=ProspectFactory(organization=tree.branch_a),
        prospect_b=ProspectFactory(organization=tree.branch_b),
        mass_a=MassOrganizationFactory(enterprise=tree.enterprise_a),
        mass_b=MassOrganizationFactory(enterprise=tree.enterprise_b),
        mass_elsewhere=MassOrganizationFactory(enterprise=enterprise_elsewhere),
        target_child=TargetFactory(committee=child_committee),
        target_committee=TargetFactory(committee=tree.committee),
        target_elsewhere=TargetFactory(committee=elsewhere),
    )
    objects.return_a = MembershipReturnFactory(mass_organization=objects.mass_a)
    objects.return_b = MembershipReturnFactory(mass_organization=objects.mass_b)
    objects.return_elsewhere = MembershipReturnFactory(mass_organization=objects.mass_elsewhere)
    objects.log = AccessLog.objects.create(username="x", action="viewed")
    return objects


def visible(model, user):
    return set(model.objects.visible_to(user))


def editable(model, user):
    return set(model.objects.editable_by(user))


# Organisations ----------------------------------------------------------------------------


def test_secretary_sees_and_edits_only_their_organisation(tree, personas, world):
    assert visible(Organization, personas.secretary_a) == {tree.branch_a}
    assert editable(Organization, personas.secretary_a) == {tree.branch_a}
    assert visible(Organization, personas.secretary_b) == {tree.branch_b}


def test_department_sees_the_committee_subtree_and_edits_nothing(tree, personas, world):
    assert visible(Organization, personas.department) == {
        tree.committee,
        tree.branch_a,
        tree.branch_b,
        world.child_committee,
    }
    assert editable(Organization, personas.department) == set()


def test_administrator_sees_and_edits_every_organisation(tree, personas, world):
    assert visible(Organization, personas.administrator) == set(Organization.objects.all())
    assert editable(Organization, personas.administrator) == set(Organization.objects.all())
    assert world.elsewhere in visible(Organization, personas.administrator)


# Members, periods, prospects --------------------------------------------------------------


@pytest.mark.parametrize("model", [Member, MembershipPeriod, Prospect])
def test_people_records_follow_the_organisation(tree, personas, world, model):
    def of(branch):
        if model is Member:
            return {world.member_a if branch == "a" else world.member_b}
        if model is MembershipPeriod:
            return set((world.member_a if branch == "a" else world.member_b).periods.all())
        return {world.prospect_a if branch == "a" else world.prospect_b}

    assert visible(model, personas.secretary_a) == of("a")
    assert editable(model, personas.secretary_a) == of("a")
    assert visible(model, personas.secretary_b) == of("b")
    assert editable(model, personas.secretary_b) == of("b")
    assert visible(model, personas.department) == of("a") | of("b")
    assert editable(model, personas.department) == set()
    assert visible(model, personas.administrator) == of("a") | of("b")
    assert editable(model, personas.administrator) == of("a") | of("b")


def test_transferred_member_moves_to_the_new_secretary(tree, personas, world):
    services.transfer_member(
        personas.secretary_a,
        world.member_a,
        on=datetime.date(2024, 7, 1),
        to_organization=tree.branch_b,
    )
    assert world.member_a not in visible(Member, personas.secretary_b)  # in transit: only the transfer row
    transfer = Transfer.objects.get(member=world.member_a)
    assert transfer in visible(Transfer, personas.secretary_b)
    services.confirm_transfer(personas.secretary_b, transfer, presented_on=datetime.date(2024, 7, 1))
    assert world.member_a not in visible(Member, personas.secretary_a)
    assert world.member_a in editable(Member, personas.secretary_b)
    # The member's whole history of periods goes with their record.
    assert set(world.member_a.periods.all()) <= visible(MembershipPeriod, personas.secretary_b)


# Enterprises, mass organisations, returns -------------------------------------------------


def test_enterprises_by_persona(tree, personas, world):
    assert visible(Enterprise, personas.secretary_a) == {tree.enterprise_a, world.enterprise_recorded}
    assert editable(Enterprise, personas.secretary_a) == {tree.enterprise_a, world.enterprise_recorded}
    assert visible(Enterprise, personas.secretary_b) == {tree.enterprise_b}
    assert visible(Enterprise, personas.department) == {tree.enterprise_a, tree.enterprise_b, world.enterprise_recorded}
    assert editable(Enterprise, personas.department) == set()
    assert visible(Enterprise, personas.administrator) == set(Enterprise.objects.all())
    assert world.enterprise_elsewhere not in visible(Enterprise, personas.department)


def test_mass_organisations_and_returns_follow_their_enterprise(tree, personas, world):
    assert visible(MassOrganization, personas.secretary_a) == {world.mass_a}
    assert editable(MassOrganization, personas.secretary_a) == {world.mass_a}
    assert visible(MassOrganization, personas.department) == {world.mass_a, world.mass_b}
    assert editable(MassOrganization, personas.department) == set()
    assert visible(MassOrganization, personas.administrator) == {world.mass_a, world.mass_b, world.mass_elsewhere}
    assert visible(MembershipReturn, personas.secretary_b) == {world.return_b}
    assert editable(MembershipReturn, personas.secretary_b) == {world.return_b}
    assert visible(MembershipReturn, personas.department) == {world.return_a, world.return_b}
    assert editable(MembershipReturn, personas.department) == set()
    assert world.return_elsewhere in editable(MembershipReturn, personas.administrator)


# Targets ----------------------------------------------------------------------------------


def test_targets_by_persona(tree, personas, world):
    assert visible(Target, personas.secretary_a) == set()
    assert editable(Target, personas.secretary_a) == set()
    assert visible(Target, personas.department) == {world.target_child, world.target_committee}
    # Department staff set the targets of the committees directly below their own, not their own.
    assert editable(Target, personas.department) == {world.target_child}
    assert set(Target.assignable_committees(personas.department)) == {world.child_committee}
    assert set(Target.assignable_committees(personas.secretary_a)) == set()
    assert editable(Target, personas.administrator) == set(Target.objects.all())


# Roles, localities, the access log --------------------------------------------------------


def test_role_assignments_by_persona(tree, personas, world):
    own = set(personas.secretary_a.role_assignments.all())
    assert visible(RoleAssignment, personas.secretary_a) == own
    assert editable(RoleAssignment, personas.secretary_a) == set()
    assert editable(RoleAssignment, personas.department) == set()
    assert visible(RoleAssignment, personas.administrator) == set(RoleAssignment.objects.all())
    assert editable(RoleAssignment, personas.administrator) == set(RoleAssignment.objects.all())


def test_localities_are_read_by_everyone_signed_in_and_edited_by_administrators(tree, personas, world):
    everything = set(Locality.objects.all())
    for persona in (personas.secretary_a, personas.secretary_b, personas.department):
        assert visible(Locality, persona) == everything
        assert editable(Locality, persona) == set()
    assert editable(Locality, personas.administrator) == everything


def test_access_log_is_read_by_administrators_only_and_edited_by_nobody(personas, world):
    assert visible(AccessLog, personas.administrator) == {world.log}
    assert visible(AccessLog, personas.department) == set()
    assert editable(AccessLog, personas.administrator) == set()


# Users without a scope --------------------------------------------------------------------

ALL_MODELS = [
    Organization,
    Member,
    MembershipPeriod,
    Prospect,
    RoleAssignment,
    Enterprise,
    MassOrganization,
    MembershipReturn,
    Target,
    AccessLog,
]


@pytest.mark.parametrize("who", ["anonymous", "no_role", "inactive"])
def test_users_without_a_scope_see_nothing(tree, world, who):
    if who == "anonymous":
        user = AnonymousUser()
    elif who == "no_role":
        user = UserFactory(username="nobody")
    else:
        user = UserFactory(username="gone", is_active=False)
        RoleAssignmentFactory(user=user, role=RoleKey.ADMINISTRATOR, organization=None)
    for model in ALL_MODELS:
        if model is RoleAssignment and who == "inactive":
            # A deactivated user's own assignments stay theirs (they cannot sign in to see them).
            assert set(model.objects.visible_to(user)) == set(user.role_assignments.all())
        else:
            assert not model.objects.visible_to(user).exists(), model
        assert not model.objects.editable_by(user).exists(), model
    assert not Locality.objects.editable_by(user).exists()
    if who == "anonymous":
        assert not Locality.objects.visible_to(user).exists()


def test_superuser_sees_and_edits_everything(tree, world):
    superuser = UserFactory(username="root", is_superuser=True, is_staff=True)
    for model in ALL_MODELS:
        if model is not AccessLog:
            assert model.objects.editable_by(superuser).count() == model.objects.count(), model
        assert model.objects.visible_to(superuser).count() == model.objects.count(), model


def test_several_assignments_add_up(tree, world):
    user = UserFactory(username="both")
    RoleAssignmentFactory(user=user, role=RoleKey.SECRETARY, organization=tree.branch_a)
    RoleAssignmentFactory(user=user, role=RoleKey.DEPARTMENT, organization=world.elsewhere)
    assert visible(Organization, user) == {tree.branch_a, world.elsewhere}
    assert editable(Organization, user) == {tree.branch_a}
    assert visible(Enterprise, user) == {tree.enterprise_a, world.enterprise_recorded, world.enterprise_elsewhere}
    assert editable(Enterprise, user) == {tree.enterprise_a, world.enterprise_recorded}


def test_nested_assignments_are_reduced_to_the_widest_subtree(tree):
    user = UserFactory(username="nested")
    RoleAssignmentFactory(user=user, role=RoleKey.DEPARTMENT, organization=tree.committee)
    RoleAssignmentFactory(user=user, role=RoleKey.DEPARTMENT, organization=tree.branch_a)
    assert scope_for(user).read_paths == (tree.committee.path,)


# Form choices -----------------------------------------------------------------------------


def test_assignable_managing_committees(tree, personas, world):
    mine = set(Organization.objects.assignable_managing_committees(personas.secretary_a))
    assert mine == {tree.city, tree.committee}  # the committees above the secretary's branch
    department = set(Organization.objects.assignable_managing_committees(personas.department))
    assert department == {tree.city, tree.committee, world.child_committee}
    assert world.elsewhere in set(Organization.objects.assignable_managing_committees(personas.administrator))
    assert world.elsewhere not in mine | department


def test_locality_factory_needs_no_scope(db):
    # Localities are public geography: a fresh tree is visible to any signed-in user.
    province = LocalityFactory(code="99", name="Tỉnh mới")
    assert province in visible(Locality, UserFactory(username="reader"))


def test_department_of_the_only_root_reads_every_row_without_a_filter(tree):
    user = UserFactory()
    RoleAssignmentFactory(user=user, role=RoleKey.DEPARTMENT, organization=tree.city)
    member = MemberFactory(organization=tree.branch_b)
    mass_organization = MassOrganizationFactory(enterprise=EnterpriseFactory(managing_committee=tree.committee))
    scope = scope_for(user)
    assert scope.reads_everything is True
    assert scope.write_paths == ()
    assert " WHERE " not in str(Member.objects.visible_to(user).query)
    assert member in Member.objects.visible_to(user)
    assert mass_organization in MassOrganization.objects.visible_to(user)
    assert not Member.objects.editable_by(user).exists()


def test_department_of_one_root_among_two_reads_only_its_own_tree(tree):
    other_root = OrganizationFactory(code="QN", name="Tỉnh ủy Quảng Ninh")
    outside = EnterpriseFactory(managing_committee=other_root)
    outside_mass = MassOrganizationFactory(enterprise=outside)
    outside_member = MemberFactory(organization=OrganizationFactory(parent=other_root, code="QN-01"))
    inside = EnterpriseFactory(managing_committee=tree.committee)
    user = UserFactory()
    RoleAssignmentFactory(user=user, role=RoleKey.DEPARTMENT, organization=tree.city)
    assert scope_for(user).reads_everything is False
    assert inside in Enterprise.objects.visible_to(user)
    assert outside not in Enterprise.objects.visible_to(user)
    assert outside_mass not in MassOrganization.objects.visible_to(user)
    assert outside_member not in Member.objects.visible_to(user)

    both = UserFactory()
    RoleAssignmentFactory(user=both, role=RoleKey.DEPARTMENT, organization=tree.city)
    RoleAssignmentFactory(user=both, role=RoleKey.DEPARTMENT, organization=other_root)
    assert scope_for(both).reads_everything is True
    assert {outside, inside} <= set(Enterprise.objects.visible_to(both))


def test_an_enterprise_is_visible_through_an_organisation_sitting_in_it(tree):
    """Managed and recorded elsewhere, but a branch of the subtree sits in it."""
    other_root = OrganizationFactory(code="QN", name="Tỉnh ủy Quảng Ninh")
    enterprise = EnterpriseFactory(managing_committee=other_root, recorded_by=None)
    user = UserFactory()
    RoleAssignmentFactory(user=user, role=RoleKey.DEPARTMENT, organization=tree.committee)
    assert enterprise not in Enterprise.objects.visible_to(user)
    OrganizationFactory(parent=tree.committee, code="DIST-IN", enterprise=enterprise)
    user = type(user).objects.get(pk=user.pk)  # the scope is cached per user object
    assert enterprise in Enterprise.objects.visible_to(user)
