"""Each service function's effect, and its refusals with the message on the right field."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from branches import services
from branches.choices import MemberStatus, OrganizationKind, PeriodEndReason, ProspectStage, RoleKey
from branches.events import OrganizationDissolved
from branches.models import Member, MembershipPeriod, Organization, RoleAssignment, Transfer
from core.events import publish
from core.scoping import scope_for
from enterprises import services as enterprise_services
from enterprises.models import Enterprise, Locality, MassOrganization, MembershipReturn
from reports import services as report_services
from reports.metrics import Metric
from reports.models import Target
from tests.factories import (
    EnterpriseFactory,
    LocalityFactory,
    MassOrganizationFactory,
    MemberFactory,
    MembershipReturnFactory,
    OrganizationFactory,
    ProspectFactory,
    TargetFactory,
    UserFactory,
)

D = datetime.date


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def refusal(call, field, contains=None):
    """Run ``call``; it must raise ValidationError with a message on ``field``. Returns the messages."""
    with pytest.raises(ValidationError) as exc:
        call()
    errors = exc.value.message_dict
    assert field in errors, errors
    if contains is not None:
        assert any(contains in message for message in errors[field]), errors[field]
    return errors[field]


def admit(user, organization, **overrides):
    fields = dict(
        organization=organization,
        admitted_on=D(2024, 3, 1),
        full_name="Lê Thị Hồng",
        sex="female",
        date_of_birth=D(1990, 1, 1),
        citizen_id="001190000001",
        party_card_number="",
    )
    fields.update(overrides)
    return services.admit_member(user, **fields)


def grassroots_committee(tree, code="GC"):
    return OrganizationFactory(
        code=code, kind=OrganizationKind.GRASSROOTS_COMMITTEE, parent=tree.committee, locality=tree.commune
    )


# Admission --------------------------------------------------------------------------------


def test_admit_member_creates_the_member_and_opens_the_first_period(tree, secretary_a):
    member = admit(secretary_a, tree.branch_a, is_business_owner=True, position="owner", enterprise=tree.enterprise_a)
    assert member.organization == tree.branch_a
    assert member.admitted_by == tree.branch_a
    assert member.owner_at_admission is True
    assert member.status == MemberStatus.ACTIVE
    period = member.periods.get()
    assert (period.organization, period.started_on, period.ended_on) == (tree.branch_a, D(2024, 3, 1), None)
    assert member.history.get().history_user == secretary_a
    assert period.history.get().history_user == secretary_a


def test_admit_member_on_the_18th_birthday_is_accepted(tree, secretary_a):
    member = admit(secretary_a, tree.branch_a, date_of_birth=D(2006, 3, 1))
    assert member.pk


def test_admit_member_under_18_is_refused(tree, secretary_a):
    refusal(lambda: admit(secretary_a, tree.branch_a, date_of_birth=D(2006, 3, 2)), "date_of_birth", "18")
    assert not Member.objects.exists()


def test_admit_member_with_a_recorded_citizen_id_is_refused(tree, secretary_a):
    existing = MemberFactory(organization=tree.branch_b)
    refusal(
        lambda: admit(secretary_a, tree.branch_a, citizen_id=existing.citizen_id),
        "citizen_id",
        "cannot be recorded here",  # held outside secretary A's scope: said without naming a member
    )


def test_admit_member_with_a_recorded_party_card_is_refused(tree, secretary_a):
    existing = MemberFactory(organization=tree.branch_b, party_card_number="PC-77")
    refusal(
        lambda: admit(secretary_a, tree.branch_a, party_card_number=existing.party_card_number),
        "party_card_number",
        "cannot be recorded here",
    )


def test_admit_member_with_a_malformed_citizen_id_is_refused(tree, secretary_a):
    refusal(lambda: admit(secretary_a, tree.branch_a, citizen_id="12345"), "citizen_id", "12 digits")


def test_admit_member_into_a_committee_is_refused(tree, administrator):
    refusal(lambda: admit(administrator, tree.committee), "organization", "grassroots")


def test_admit_member_into_a_dissolved_organisation_is_refused(tree, secretary_a):
    tree.branch_a.dissolved_on = D(2023, 1, 1)
    tree.branch_a.save()
    publish(OrganizationDissolved(tree.branch_a.pk, D(2023, 1, 1)))
    refusal(lambda: admit(secretary_a, tree.branch_a), "organization", "not active")


def test_admit_member_in_the_future_is_refused(tree, secretary_a):
    future = services.today() + datetime.timedelta(days=1)
    refusal(lambda: admit(secretary_a, tree.branch_a, admitted_on=future), "admitted_on", "future")


def test_admit_member_official_before_admission_is_refused(tree, secretary_a):
    refusal(lambda: admit(secretary_a, tree.branch_a, official_on=D(2024, 2, 1)), "official_on")


def test_admit_member_is_refused_to_outsiders_and_read_only_roles(tree, secretary_b, department):
    with pytest.raises(PermissionDenied):
        admit(secretary_b, tree.branch_a)
    with pytest.raises(PermissionDenied):
        admit(department, tree.branch_a)
    assert not Member.objects.exists()


def test_admit_prospect_creates_the_member_and_closes_the_prospect(tree, secretary_a):
    prospect = ProspectFactory(
        organization=tree.branch_a, enterprise=tree.enterprise_a, is_business_owner=True, position="owner", ready=True
    )
    member = services.admit_prospect(secretary_a, prospect, admitted_on=D(2024, 5, 1), party_card_number="PC-9")
    prospect.refresh_from_db()
    assert prospect.stage == ProspectStage.ADMITTED
    assert prospect.member == member
    assert prospect.closed_on == D(2024, 5, 1)
    assert (member.full_name, member.citizen_id, member.enterprise) == (
        prospect.full_name,
        prospect.citizen_id,
        tree.enterprise_a,
    )
    assert member.owner_at_admission is True
    assert member.periods.get().organization == tree.branch_a


def test_admit_prospect_twice_is_refused(tree, secretary_a):
    prospect = ProspectFactory(organization=tree.branch_a, ready=True)
    services.admit_prospect(secretary_a, prospect, admitted_on=D(2024, 5, 1))
    prospect.refresh_from_db()
    refusal(
        lambda: services.admit_prospect(secretary_a, prospect, admitted_on=D(2024, 5, 2), citizen_id="001199999999"),
        "prospect",
    )


def test_admit_prospect_of_another_branch_is_refused(tree, secretary_b):
    prospect = ProspectFactory(organization=tree.branch_a)
    with pytest.raises(PermissionDenied):
        services.admit_prospect(secretary_b, prospect, admitted_on=D(2024, 5, 1))


def test_update_member_corrects_facts_and_refuses_lifecycle_fields(tree, secretary_a):
    member = MemberFactory(organization=tree.branch_a)
    services.update_member(secretary_a, member, full_name="  Trần Văn Bình ", position="manager")
    member.refresh_from_db()
    assert (member.full_name, member.position) == ("Trần Văn Bình", "manager")
    refusal(lambda: services.update_member(secretary_a, member, status=MemberStatus.LEFT), "status")
    refusal(lambda: services.update_member(secretary_a, member, date_of_birth=D(2010, 1, 1)), "date_of_birth", "18")
    with pytest.raises(PermissionDenied):
        services.update_member(secretary_a, MemberFactory(organization=tree.branch_b), full_name="X")


def test_update_member_that_changes_nothing_writes_nothing(tree, secretary_a):
    member = MemberFactory(organization=tree.branch_a, full_name="Trần Văn Bình")
    services.update_member(secretary_a, member, full_name="Trần Văn Bình ")
    member.refresh_from_db()
    version, history = member.version, member.history.count()
    services.update_member(secretary_a, member, full_name=" Trần Văn Bình", position=member.position)
    member.refresh_from_db()
    assert (member.version, member.history.count()) == (version, history)
    services.update_member(secretary_a, member, full_name="Trần Văn Bính")
    member.refresh_from_db()
    assert (member.version, member.history.count()) == (version + 1, history + 1)
    # a stale version is still refused, changes or not
    with pytest.raises(ValidationError):
        services.update_member(secretary_a, member, expected_version=version, full_name="Trần Văn Bính")


# Recognition ------------------------------------------------------------------------------


def test_recognize_official_sets_the_date(tree, secretary_a):
    member = MemberFactory(organization=tree.branch_a, admitted_on=D(2023, 4, 1))
    services.recognize_official(secretary_a, member, official_on=D(2024, 4, 1))
    member.refresh_from_db()
    assert member.official_on == D(2024, 4, 1)
    assert member.history.first().history_user == secretary_a


def test_recognize_official_twice_is_refused(tree, secretary_a):
    member = MemberFactory(organization=tree.branch_a, admitted_on=D(2023, 4, 1), official_on=D(2024, 4, 1))
    refusal(
        lambda: services.recognize_official(secretary_a, member, official_on=D(2024, 5, 1)), "official_on", "already"
    )


def test_recognize_official_before_admission_is_refused(tree, secretary_a):
    member = MemberFactory(organization=tree.branch_a, admitted_on=D(2023, 4, 1))
    refusal(lambda: services.recognize_official(secretary_a, member, official_on=D(2023, 3, 1)), "official_on")


def test_recognize_official_of_a_member_who_left_is_refused(tree, secretary_a):
    member = MemberFactory(organization=tree.branch_a, status=MemberStatus.LEFT)
    refusal(lambda: services.recognize_official(secretary_a, member, official_on=D(2024, 4, 1)), "status")


# Transfer ---------------------------------------------------------------------------------


def test_transfer_to_another_organisation_closes_and_opens_periods(tree, secretary_a, secretary_b):
    member = MemberFactory(organization=tree.branch_a, admitted_on=D(2020, 3, 1))
    services.transfer_member(secretary_a, member, on=D(2024, 7, 1), to_organization=tree.branch_b)
    member.refresh_from_db()
    assert (member.organization, member.status) == (tree.branch_a, MemberStatus.IN_TRANSIT)
    transfer = Transfer.objects.get(member=member)
    services.confirm_transfer(secretary_b, transfer, presented_on=D(2024, 7, 8))
    member.refresh_from_db()
    assert (member.organization, member.status) == (tree.branch_b, MemberStatus.ACTIVE)
    assert member.admitted_by == tree.branch_a  # the admission still counts where it happened
    closed, opened = member.periods.order_by("started_on")
    assert (closed.organization, closed.ended_on, closed.end_reason) == (
        tree.branch_a,
        D(2024, 7, 1),
        PeriodEndReason.TRANSFER,
    )
    assert (opened.organization, opened.started_on, opened.ended_on) == (tree.branch_b, D(2024, 7, 8), None)
    assert not MembershipPeriod.objects.on(D(2024, 7, 1)).filter(member=member).exists()  # in transit
    assert MembershipPeriod.objects.on(D(2024, 7, 8)).get(member=member) == opened


def test_transfer_to_the_place_of_residence(tree, secretary_a):
    member = MemberFactory(organization=tree.branch_a)
    services.transfer_member(secretary_a, member, on=D(2024, 7, 1))
    member.refresh_from_db()
    assert member.status == MemberStatus.TRANSFERRED_TO_RESIDENCE
    assert member.organization == tree.branch_a
    period = member.periods.get()
    assert (period.ended_on, period.end_reason) == (D(2024, 7, 1), PeriodEndReason.RESIDENCE)


def test_member_who_left_cannot_be_transferred(tree, secretary_a):
    member = MemberFactory(organization=tree.branch_a)
    services.record_leaving(secretary_a, member, on=D(2024, 1, 1), reason=PeriodEndReason.RESIGNED)
    refusal(
        lambda: services.transfer_member(
            secretary_a, member, on=D(2024, 7, 1), to_organization=tree.branch_b, presented_on=D(2024, 7, 1)
        ),
        "status",
    )
    assert member.periods.count() == 1


def test_transfer_before_joining_or_to_the_same_or_a_committee_is_refused(tree, secretary_a):
    member = MemberFactory(organization=tree.branch_a, admitted_on=D(2022, 1, 1))
    refusal(lambda: services.transfer_member(secretary_a, member, on=D(2021, 12, 31)), "on")
    refusal(
        lambda: services.transfer_member(
            secretary_a, member, on=D(2024, 1, 1), to_organization=tree.branch_a, presented_on=D(2024, 1, 1)
        ),
        "to_organization",
    )
    refusal(
        lambda: services.transfer_member(
            secretary_a, member, on=D(2024, 1, 1), to_organization=tree.committee, presented_on=D(2024, 1, 1)
        ),
        "to_organization",
    )
    future = services.today() + datetime.timedelta(days=1)
    refusal(lambda: services.transfer_member(secretary_a, member, on=future), "on", "future")


def test_transfer_of_another_branch_member_is_refused(tree, secretary_b):
    member = MemberFactory(organization=tree.branch_a)
    with pytest.raises(PermissionDenied):
        services.transfer_member(secretary_b, member, on=D(2024, 7, 1))


# Leaving ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reason",
    [PeriodEndReason.RESIGNED, PeriodEndReason.EXPELLED, PeriodEndReason.STRUCK_OFF, PeriodEndReason.DIED],
)
def test_record_leaving_for_each_reason(tree, secretary_a, reason):
    member = MemberFactory(organization=tree.branch_a)
    services.record_leaving(secretary_a, member, on=D(2024, 2, 1), reason=reason)
    member.refresh_from_db()
    assert member.status == MemberStatus.LEFT
    period = member.periods.get()
    assert (period.ended_on, period.end_reason) == (D(2024, 2, 1), reason)


def test_record_leaving_twice_is_refused(tree, secretary_a):
    member = MemberFactory(organization=tree.branch_a)
    services.record_leaving(secretary_a, member, on=D(2024, 2, 1), reason=PeriodEndReason.DIED)
    refusal(
        lambda: services.record_leaving(secretary_a, member, on=D(2024, 3, 1), reason=PeriodEndReason.RESIGNED),
        "status",
    )


def test_record_leaving_with_a_transfer_reason_is_refused(tree, secretary_a):
    member = MemberFactory(organization=tree.branch_a)
    refusal(
        lambda: services.record_leaving(secretary_a, member, on=D(2024, 2, 1), reason=PeriodEndReason.TRANSFER),
        "reason",
    )


# Organisations ----------------------------------------------------------------------------


def establish(user, tree, **overrides):
    fields = dict(
        code="NEW",
        name="Chi bộ mới",
        kind=OrganizationKind.GRASSROOTS_BRANCH,
        locality=tree.commune,
        established_on=D(2024, 1, 15),
        parent=tree.committee,
    )
    fields.update(overrides)
    return services.establish_organization(user, **fields)


def test_establish_organisation_adds_it_to_the_tree(tree, administrator):
    org = establish(administrator, tree, enterprise=tree.enterprise_a)
    assert Organization.objects.get_parent(org) == tree.committee
    assert org in Organization.objects.subtree(tree.city)
    assert org.history.get().history_user == administrator
    root = establish(administrator, tree, code="ROOT", kind=OrganizationKind.COMMITTEE, parent=None)
    assert root.is_root()


def test_establish_subordinate_branch_under_a_committee_is_refused(tree, administrator):
    refusal(lambda: establish(administrator, tree, kind=OrganizationKind.SUBORDINATE_BRANCH), "parent")


def test_establish_subordinate_branch_under_a_grassroots_committee(tree, administrator):
    parent = grassroots_committee(tree)
    org = establish(administrator, tree, kind=OrganizationKind.SUBORDINATE_BRANCH, parent=parent)
    assert Organization.objects.get_parent(org) == parent


def test_establish_grassroots_organisation_under_a_grassroots_committee_is_refused(tree, administrator):
    parent = grassroots_committee(tree)
    refusal(lambda: establish(administrator, tree, parent=parent), "parent")
    refusal(lambda: establish(administrator, tree, kind=OrganizationKind.GRASSROOTS_COMMITTEE, parent=parent), "parent")


def test_establish_grassroots_organisation_without_parent_is_refused(tree, administrator):
    refusal(lambda: establish(administrator, tree, parent=None), "parent")


def test_establish_organisation_with_a_duplicate_code_is_refused(tree, administrator):
    refusal(lambda: establish(administrator, tree, code="BR-A"), "code", "BR-A")


def test_establish_committee_inside_an_enterprise_is_refused(tree, administrator):
    refusal(
        lambda: establish(administrator, tree, kind=OrganizationKind.COMMITTEE, enterprise=tree.enterprise_a),
        "enterprise",
    )


def test_establish_under_a_dissolved_parent_is_refused(tree, administrator):
    Organization.objects.filter(pk=tree.committee.pk).update(dissolved_on=D(2023, 1, 1))
    publish(OrganizationDissolved(tree.committee.pk, D(2023, 1, 1)))
    refusal(lambda: establish(administrator, tree, parent=Organization.objects.get(pk=tree.committee.pk)), "parent")


def test_establish_in_the_future_or_before_the_parent_is_refused(tree, administrator):
    refusal(
        lambda: establish(administrator, tree, established_on=services.today() + datetime.timedelta(days=1)),
        "established_on",
    )
    refusal(lambda: establish(administrator, tree, established_on=D(2009, 12, 31)), "established_on")


def test_move_under_a_dissolved_parent_or_of_a_dissolved_organisation_is_refused(tree, administrator):
    other = OrganizationFactory(code="OTHER", parent=tree.city, locality=tree.province, dissolved_on=D(2023, 1, 1))
    refusal(lambda: services.move_organization(administrator, tree.branch_a, other), "parent", "dissolved")
    Organization.objects.filter(pk=tree.branch_b.pk).update(dissolved_on=D(2023, 1, 1))
    publish(OrganizationDissolved(tree.branch_b.pk, D(2023, 1, 1)))
    live = OrganizationFactory(code="LIVE", parent=tree.city, locality=tree.province)
    refusal(lambda: services.move_organization(administrator, tree.branch_b, live), "parent")


def test_only_administrators_change_the_tree(tree, secretary_a, department):
    for user in (secretary_a, department):
        with pytest.raises(PermissionDenied):
            establish(user, tree)
        with pytest.raises(PermissionDenied):
            services.dissolve_organization(user, tree.branch_a, on=D(2024, 1, 1))
        with pytest.raises(PermissionDenied):
            services.move_organization(user, tree.branch_a, tree.city)


def test_update_organisation_renames_it(tree, administrator):
    services.update_organization(administrator, tree.branch_a, name="Chi bộ An Phát mới")
    tree.branch_a.refresh_from_db()
    assert tree.branch_a.name == "Chi bộ An Phát mới"
    refusal(lambda: services.update_organization(administrator, tree.branch_a, kind="committee"), "kind")


def test_move_organisation_under_another_committee_moves_its_subtree(tree, administrator):
    parent = grassroots_committee(tree)
    child = establish(administrator, tree, code="SUB", kind=OrganizationKind.SUBORDINATE_BRANCH, parent=parent)
    member = MemberFactory(organization=child)
    other = OrganizationFactory(code="OTHER", parent=tree.city, locality=tree.province)
    services.move_organization(administrator, parent, other)
    child.refresh_from_db()
    assert child.path.startswith(other.path)
    assert Member.objects.filter(organization__path__startswith=other.path).get() == member
    parent.refresh_from_db()
    assert parent.history.first().history_user == administrator


def test_move_organisation_under_its_own_subtree_is_refused(tree, administrator):
    refusal(lambda: services.move_organization(administrator, tree.city, tree.committee), "parent", "subtree")
    refusal(lambda: services.move_organization(administrator, tree.committee, tree.committee), "parent")


def test_move_organisation_follows_the_kind_rules(tree, administrator):
    parent = grassroots_committee(tree)
    refusal(lambda: services.move_organization(administrator, tree.branch_a, parent), "parent")
    refusal(lambda: services.move_organization(administrator, tree.committee, tree.branch_b), "parent")


def test_dissolve_organisation_sends_members_to_their_places_of_residence(tree, administrator):
    members = MemberFactory.create_batch(2, organization=tree.branch_a)
    services.dissolve_organization(administrator, tree.branch_a, on=D(2024, 9, 1))
    tree.branch_a.refresh_from_db()
    assert tree.branch_a.dissolved_on == D(2024, 9, 1)
    for member in members:
        member.refresh_from_db()
        assert member.status == MemberStatus.TRANSFERRED_TO_RESIDENCE
        period = member.periods.get()
        assert (period.ended_on, period.end_reason) == (D(2024, 9, 1), PeriodEndReason.DISSOLVED)


def test_dissolve_organisation_moves_members_to_the_destination(tree, administrator):
    member = MemberFactory(organization=tree.branch_a)
    services.dissolve_organization(administrator, tree.branch_a, on=D(2024, 9, 1), destination=tree.branch_b)
    member.refresh_from_db()
    assert member.status == MemberStatus.ACTIVE
    assert member.organization == tree.branch_b
    assert member.periods.get(ended_on__isnull=True).organization == tree.branch_b


def test_dissolve_organisation_with_active_children_is_refused(tree, administrator):
    refusal(lambda: services.dissolve_organization(administrator, tree.committee, on=D(2024, 9, 1)), "dissolved_on")


def test_dissolve_organisation_twice_is_refused(tree, administrator):
    services.dissolve_organization(administrator, tree.branch_a, on=D(2024, 9, 1))
    refusal(
        lambda: services.dissolve_organization(administrator, tree.branch_a, on=D(2024, 10, 1)),
        "dissolved_on",
        "already",
    )


def test_dissolve_organisation_before_it_was_established_or_into_itself_is_refused(tree, administrator):
    refusal(lambda: services.dissolve_organization(administrator, tree.branch_a, on=D(2009, 1, 1)), "dissolved_on")
    refusal(
        lambda: services.dissolve_organization(
            administrator, tree.branch_a, on=D(2024, 9, 1), destination=tree.branch_a
        ),
        "destination",
    )


# Prospects --------------------------------------------------------------------------------


def test_create_prospect_takes_its_stage_from_the_dates(tree, secretary_a):
    prospect = services.create_prospect(
        secretary_a,
        full_name="Đỗ Minh Châu",
        sex="female",
        date_of_birth=D(2000, 1, 1),
        organization=tree.branch_a,
        identified_on=D(2024, 1, 1),
        course_completed_on=D(2024, 3, 1),
    )
    assert prospect.stage == ProspectStage.COURSE_DONE
    services.update_prospect(secretary_a, prospect, dossier_completed_on=D(2024, 4, 1))
    prospect.refresh_from_db()
    assert prospect.stage == ProspectStage.DOSSIER_COMPLETE


def test_create_prospect_refuses_stages_out_of_order_and_foreign_organisations(tree, secretary_a):
    fields = dict(full_name="X", sex="male", date_of_birth=D(2000, 1, 1), identified_on=D(2024, 3, 1))
    refusal(
        lambda: services.create_prospect(
            secretary_a, organization=tree.branch_a, course_completed_on=D(2024, 2, 1), **fields
        ),
        "course_completed_on",
    )
    refusal(lambda: services.create_prospect(secretary_a, organization=tree.branch_b, **fields), "organization")


def test_withdraw_prospect_and_not_twice(tree, secretary_a):
    prospect = ProspectFactory(organization=tree.branch_a, identified_on=D(2024, 1, 10))
    services.withdraw_prospect(secretary_a, prospect, on=D(2024, 2, 1))
    prospect.refresh_from_db()
    assert (prospect.stage, prospect.closed_on) == (ProspectStage.WITHDRAWN, D(2024, 2, 1))
    refusal(lambda: services.withdraw_prospect(secretary_a, prospect, on=D(2024, 3, 1)), "stage")


# Roles ------------------------------------------------------------------------------------


def test_grant_and_revoke_role(tree, administrator):
    user = UserFactory(username="new")
    assert scope_for(user).is_empty
    assignment = services.grant_role(administrator, user=user, role=RoleKey.SECRETARY, organization=tree.branch_a)
    assert scope_for(user).write_paths == (tree.branch_a.path,)
    assert assignment.history.get().history_user == administrator
    assignment_id = assignment.pk
    services.revoke_role(administrator, assignment)
    assert not RoleAssignment.objects.filter(user=user).exists()
    assert scope_for(user).is_empty
    assert RoleAssignment.history.filter(id=assignment_id, history_type="-").get().history_user == administrator


def test_grant_role_refusals(tree, administrator, secretary_a):
    user = UserFactory(username="new")
    refusal(lambda: services.grant_role(administrator, user=user, role=RoleKey.DEPARTMENT), "organization")
    refusal(lambda: services.grant_role(administrator, user=user, role="chairman", organization=tree.city), "role")
    services.grant_role(administrator, user=user, role=RoleKey.DEPARTMENT, organization=tree.city)
    refusal(
        lambda: services.grant_role(administrator, user=user, role=RoleKey.DEPARTMENT, organization=tree.city),
        "role",
        "already",
    )
    with pytest.raises(PermissionDenied):
        services.grant_role(secretary_a, user=user, role=RoleKey.SECRETARY, organization=tree.branch_a)
    with pytest.raises(PermissionDenied):
        services.revoke_role(secretary_a, user.role_assignments.get())


def test_administrator_role_is_global(tree, administrator):
    user = UserFactory(username="admin2")
    assignment = services.grant_role(administrator, user=user, role=RoleKey.ADMINISTRATOR, organization=tree.branch_a)
    assert assignment.organization is None
    assert scope_for(user).everything


# Enterprises ------------------------------------------------------------------------------


def enterprise_fields(tree, **overrides):
    fields = dict(
        tax_code="0100109106",
        name="Công ty Cổ phần Mới",
        ownership="joint_stock",
        locality=tree.commune,
        size_class="small",
        employees=40,
        managing_committee=tree.committee,
    )
    fields.update(overrides)
    return fields


def test_create_enterprise_by_a_secretary_records_their_organisation(tree, secretary_a):
    enterprise = enterprise_services.create_enterprise(secretary_a, **enterprise_fields(tree))
    assert enterprise.recorded_by == tree.branch_a
    assert enterprise.history.get().history_user == secretary_a
    assert Enterprise.objects.editable_by(secretary_a).filter(pk=enterprise.pk).exists()


def test_create_enterprise_with_a_mistyped_check_digit_is_refused(tree, secretary_a):
    refusal(
        lambda: enterprise_services.create_enterprise(secretary_a, **enterprise_fields(tree, tax_code="0100109107")),
        "tax_code",
    )


def test_create_enterprise_with_a_recorded_tax_code_is_refused(tree, secretary_a):
    EnterpriseFactory(tax_code="0100109106", managing_committee=tree.committee)
    refusal(
        lambda: enterprise_services.create_enterprise(secretary_a, **enterprise_fields(tree)), "tax_code", "already"
    )


def test_branch_tax_code_is_accepted(tree, secretary_a):
    enterprise = enterprise_services.create_enterprise(
        secretary_a, **enterprise_fields(tree, tax_code="0100109106-001")
    )
    assert enterprise.tax_code == "0100109106-001"


def test_managing_committee_must_be_a_committee_in_scope(tree, secretary_a):
    refusal(
        lambda: enterprise_services.create_enterprise(
            secretary_a, **enterprise_fields(tree, managing_committee=tree.branch_a)
        ),
        "managing_committee",
        "committee",
    )
    elsewhere = OrganizationFactory(code="QN")
    refusal(
        lambda: enterprise_services.create_enterprise(
            secretary_a, **enterprise_fields(tree, managing_committee=elsewhere)
        ),
        "managing_committee",
        "scope",
    )
    # The committees above the secretary's branch are theirs to name.
    enterprise = enterprise_services.create_enterprise(
        secretary_a, **enterprise_fields(tree, managing_committee=tree.city)
    )
    assert enterprise.managing_committee == tree.city


def test_department_staff_do_not_record_enterprises(tree, department):
    with pytest.raises(PermissionDenied):
        enterprise_services.create_enterprise(department, **enterprise_fields(tree))


def test_update_enterprise(tree, secretary_a, secretary_b):
    enterprise_services.update_enterprise(secretary_a, tree.enterprise_a, employees=120, size_class="medium")
    tree.enterprise_a.refresh_from_db()
    assert (tree.enterprise_a.employees, tree.enterprise_a.size_class) == (120, "medium")
    refusal(
        lambda: enterprise_services.update_enterprise(
            secretary_a, tree.enterprise_a, tax_code=tree.enterprise_b.tax_code
        ),
        "tax_code",
    )
    with pytest.raises(PermissionDenied):
        enterprise_services.update_enterprise(secretary_b, tree.enterprise_a, employees=1)


# Mass organisations and returns -----------------------------------------------------------


def test_establish_mass_organisation_records_the_founding_return(tree, secretary_a):
    mass_org = enterprise_services.establish_mass_organization(
        secretary_a,
        enterprise=tree.enterprise_a,
        kind="youth_union",
        name="Đoàn thanh niên An Phát",
        established_on=D(2024, 3, 26),
        founding_members=18,
    )
    founding = mass_org.returns.get()
    assert (founding.date, founding.members_total, founding.members_admitted, founding.is_founding) == (
        D(2024, 3, 26),
        18,
        18,
        True,
    )
    assert mass_org.history.get().history_user == secretary_a


def test_establish_mass_organisation_refusals(tree, secretary_a, secretary_b):
    fields = dict(enterprise=tree.enterprise_a, kind="trade_union", name="Công đoàn", established_on=D(2024, 3, 1))
    refusal(
        lambda: enterprise_services.establish_mass_organization(secretary_a, founding_members=0, **fields),
        "founding_members",
    )
    future = services.today() + datetime.timedelta(days=1)
    refusal(
        lambda: enterprise_services.establish_mass_organization(
            secretary_a, founding_members=5, **{**fields, "established_on": future}
        ),
        "established_on",
    )
    with pytest.raises(PermissionDenied):
        enterprise_services.establish_mass_organization(secretary_b, founding_members=5, **fields)
    assert not MassOrganization.objects.exists()


@pytest.fixture
def union(tree):
    mass_org = MassOrganizationFactory(enterprise=tree.enterprise_a, established_on=D(2024, 3, 1))
    MembershipReturnFactory(mass_organization=mass_org, members_total=20, members_admitted=20)
    return mass_org


def test_record_membership_return(union, secretary_a):
    enterprise_services.record_membership_return(
        secretary_a, union, date=D(2024, 12, 31), members_total=45, members_admitted=25
    )
    latest = union.returns.order_by("date").last()
    assert (latest.members_total, latest.members_admitted, latest.is_founding) == (45, 25, False)


def test_membership_return_before_or_on_the_founding_date_is_refused(union, secretary_a):
    for day in (D(2024, 2, 1), D(2024, 3, 1)):
        refusal(
            lambda day=day: enterprise_services.record_membership_return(
                secretary_a, union, date=day, members_total=30, members_admitted=10
            ),
            "date",
        )


def test_membership_return_on_a_recorded_date_is_refused(union, secretary_a):
    enterprise_services.record_membership_return(
        secretary_a, union, date=D(2024, 6, 30), members_total=30, members_admitted=10
    )
    refusal(
        lambda: enterprise_services.record_membership_return(
            secretary_a, union, date=D(2024, 6, 30), members_total=31, members_admitted=11
        ),
        "date",
        "already",
    )


def test_membership_return_with_a_negative_count_is_refused(union, secretary_a):
    refusal(
        lambda: enterprise_services.record_membership_return(
            secretary_a, union, date=D(2024, 6, 30), members_total=-1, members_admitted=0
        ),
        "members_total",
    )


def test_membership_return_by_an_outsider_is_refused(union, secretary_b):
    with pytest.raises(PermissionDenied):
        enterprise_services.record_membership_return(
            secretary_b, union, date=D(2024, 6, 30), members_total=30, members_admitted=10
        )
    assert MembershipReturn.objects.count() == 1


def test_dissolve_mass_organisation(union, secretary_a):
    enterprise_services.dissolve_mass_organization(secretary_a, union, on=D(2024, 10, 1))
    union.refresh_from_db()
    assert union.dissolved_on == D(2024, 10, 1)
    refusal(
        lambda: enterprise_services.dissolve_mass_organization(secretary_a, union, on=D(2024, 11, 1)), "dissolved_on"
    )


# Localities -------------------------------------------------------------------------------


def test_localities_are_created_renamed_and_moved_by_administrators(tree, administrator, secretary_a):
    commune = enterprise_services.create_locality(
        administrator, code="22000", name="Phường Hồng Gai", kind="ward", parent=tree.province
    )
    assert Locality.objects.get_parent(commune) == tree.province
    refusal(lambda: enterprise_services.create_locality(administrator, code="22000", name="X", kind="ward"), "code")
    enterprise_services.update_locality(administrator, commune, name="Phường Hạ Long")
    commune.refresh_from_db()
    assert commune.name == "Phường Hạ Long"
    quang_ninh = LocalityFactory(code="22", name="Quảng Ninh")
    enterprise_services.move_locality(administrator, commune, quang_ninh)
    commune.refresh_from_db()
    assert Locality.objects.get_parent(commune) == quang_ninh
    refusal(lambda: enterprise_services.move_locality(administrator, quang_ninh, commune), "parent")
    with pytest.raises(PermissionDenied):
        enterprise_services.create_locality(secretary_a, code="1", name="X", kind="ward")


# Targets ----------------------------------------------------------------------------------


@pytest.fixture
def below(tree):
    """A committee directly below the department's committee, and one below that."""
    child = OrganizationFactory(code="CHILD", parent=tree.committee, locality=tree.province)
    grandchild = OrganizationFactory(code="GRANDCHILD", parent=child, locality=tree.province)
    return child, grandchild


def test_set_targets_writes_changes_and_removes(tree, department, below):
    child, _grandchild = below
    report_services.set_targets(department, year=2024, values={(child, Metric.MEMBERS_ADMITTED): 25})
    target = Target.objects.get()
    assert (target.committee, target.value) == (child, 25)
    assert target.history.get().history_user == department
    assert report_services.set_targets(department, year=2024, values={(child, Metric.MEMBERS_ADMITTED): 25}) == []
    report_services.set_targets(department, year=2024, values={(child, Metric.MEMBERS_ADMITTED): 30})
    assert Target.objects.get().value == 30
    report_services.set_targets(department, year=2024, values={(child, Metric.MEMBERS_ADMITTED): None})
    assert not Target.objects.exists()


def test_set_targets_negative_is_refused_and_nothing_is_written(tree, department, below):
    child, _grandchild = below
    errors = refusal(
        lambda: report_services.set_targets(
            department,
            year=2024,
            values={(child, Metric.MEMBERS_ADMITTED): 10, (child, Metric.OWNERS_ADMITTED): -1},
        ),
        f"CHILD:{Metric.OWNERS_ADMITTED}",
    )
    assert errors
    assert not Target.objects.exists()


def test_set_targets_unknown_metric_and_bad_year_are_refused(tree, department, below):
    child, _grandchild = below
    refusal(lambda: report_services.set_targets(department, year=2024, values={(child, "x"): 1}), "CHILD:x")
    refusal(lambda: report_services.set_targets(department, year=1800, values={}), "year")


def test_set_targets_of_a_committee_not_directly_below_is_refused(tree, department, below):
    _child, grandchild = below
    for committee in (grandchild, tree.committee, tree.city):
        with pytest.raises(PermissionDenied):
            report_services.set_targets(department, year=2024, values={(committee, Metric.MEMBERS_ADMITTED): 5})
    assert not Target.objects.exists()


def test_secretaries_do_not_set_targets(tree, secretary_a, below):
    child, _grandchild = below
    with pytest.raises(PermissionDenied):
        report_services.set_targets(secretary_a, year=2024, values={(child, Metric.MEMBERS_ADMITTED): 5})


def test_administrators_set_any_committee_target(tree, administrator):
    TargetFactory(committee=tree.city, metric=Metric.MEMBERS_ADMITTED, value=1)
    report_services.set_targets(administrator, year=2024, values={(tree.city, Metric.MEMBERS_ADMITTED): 903})
    assert Target.objects.get(committee=tree.city).value == 903
