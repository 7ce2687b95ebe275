"""The Django admin: every page loads for an administrator, nobody else gets in, writes go through services."""

import datetime

import pytest
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from branches.choices import MemberStatus, OrganizationKind, PeriodEndReason, ProspectStage, RoleKey
from branches.models import Member, MembershipPeriod, Organization, Prospect, RoleAssignment
from enterprises.models import Enterprise, Locality, MassOrganization, MembershipReturn
from reports.metrics import Metric
from reports.models import Target
from security.access import issue_token
from security.models import AccessLog, ApiToken
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

OUR_APPS = {"branches", "enterprises", "reports", "security", "auth"}


@pytest.fixture(autouse=True)
def _no_second_factor(settings):
    # Two-factor authentication is tested elsewhere; here the administrator is already verified.
    settings.OTP_REQUIRED_ROLES = ()


@pytest.fixture(autouse=True)
def _english(settings):
    """The admin pages in English (the default is Vietnamese), so assertions read the English messages."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def staff_administrator(administrator):
    administrator.is_staff = True
    administrator.save()
    return administrator


@pytest.fixture
def admin_web(client, staff_administrator):
    client.force_login(staff_administrator)
    return client


def url(model, action, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def one_of_each(tree, administrator):
    """One saved object per registered model of our apps."""
    member = MemberFactory(organization=tree.branch_a, enterprise=tree.enterprise_a)
    mass_organization = MassOrganizationFactory(enterprise=tree.enterprise_a)
    return {
        Locality: tree.commune,
        Organization: tree.branch_a,
        Enterprise: tree.enterprise_a,
        MassOrganization: mass_organization,
        MembershipReturn: MembershipReturnFactory(mass_organization=mass_organization),
        Member: member,
        MembershipPeriod: member.periods.get(),
        Prospect: ProspectFactory(organization=tree.branch_a),
        RoleAssignment: administrator.role_assignments.get(),
        Target: TargetFactory(committee=tree.committee),
        get_user_model(): administrator,
        AccessLog: AccessLog.objects.create(user=administrator, username="administrator", action="viewed"),
        ApiToken: issue_token(administrator, second_factor=True)[0],
    }


def our_registry():
    return {
        model: model_admin for model, model_admin in admin.site._registry.items() if model._meta.app_label in OUR_APPS
    }


def test_administrators_revoke_tokens_in_the_admin(tree, admin_web, staff_administrator, secretary_a):
    token = issue_token(secretary_a, second_factor=False)[0]
    response = admin_web.post(url(ApiToken, "changelist"), {"action": "revoke", "_selected_action": [token.pk]})
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_every_model_of_our_apps_is_registered():
    registered = set(our_registry())
    for model in (Locality, Organization, Enterprise, MassOrganization, MembershipReturn, Member):
        assert model in registered
    for model in (MembershipPeriod, Prospect, RoleAssignment, Target, get_user_model(), AccessLog):
        assert model in registered


def test_every_admin_page_loads_for_an_administrator(tree, admin_web, staff_administrator, rf):
    objects = one_of_each(tree, staff_administrator)
    request = rf.get("/")
    request.user = staff_administrator
    assert admin_web.get(reverse("admin:index")).status_code == 200
    for model, model_admin in our_registry().items():
        obj = objects[model]
        assert admin_web.get(url(model, "changelist")).status_code == 200, model
        assert admin_web.get(url(model, "changelist"), {"q": "a"}).status_code == 200, model
        assert admin_web.get(url(model, "change", obj.pk)).status_code == 200, model
        if hasattr(model, "history"):
            assert admin_web.get(url(model, "history", obj.pk)).status_code == 200, model
        if model_admin.has_add_permission(request):
            assert admin_web.get(url(model, "add")).status_code == 200, model


def test_administrator_without_django_permissions_sees_our_apps(admin_web, staff_administrator):
    assert not staff_administrator.user_permissions.exists()
    page = admin_web.get(reverse("admin:index")).content.decode()
    assert url(Member, "changelist") in page
    assert url(Organization, "changelist") in page


def test_secretary_is_refused_the_admin(client, secretary_a):
    client.force_login(secretary_a)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert client.get(url(Member, "changelist")).status_code == 302


@pytest.mark.parametrize("persona", ["secretary_a", "department"])
def test_staff_flag_does_not_open_the_admin_without_the_administrator_role(client, persona, request):
    user = request.getfixturevalue(persona)
    user.is_staff = True
    user.save()
    client.force_login(user)
    index = client.get(reverse("admin:index")).content.decode()
    assert url(Member, "changelist") not in index
    assert client.get(url(Member, "changelist")).status_code == 403
    assert client.get(url(Organization, "add")).status_code == 403


def member_post(organization, **overrides):
    data = {
        "full_name": "Phạm Văn Đức",
        "sex": "male",
        "date_of_birth": "1990-04-02",
        "citizen_id": "001090012345",
        "party_card_number": "",
        "enterprise": "",
        "position": "worker",
        "organization": organization.pk,
        "admitted_on": "2024-03-01",
        "official_on": "",
    }
    data.update(overrides)
    return data


def test_admin_member_add_admits_through_the_service(tree, admin_web, staff_administrator):
    response = admin_web.post(url(Member, "add"), member_post(tree.branch_a))
    assert response.status_code == 302
    member = Member.objects.get(citizen_id="001090012345")
    assert member.admitted_by == tree.branch_a
    assert member.periods.get().started_on == datetime.date(2024, 3, 1)
    assert member.history.get().history_user == staff_administrator


def test_admin_member_add_under_18_shows_the_error_and_writes_nothing(tree, admin_web):
    response = admin_web.post(url(Member, "add"), member_post(tree.branch_a, date_of_birth="2008-01-01"))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "date_of_birth" in form.errors
    assert "18" in form.errors["date_of_birth"][0]
    assert not Member.objects.exists()
    assert not MembershipPeriod.objects.exists()


def test_admin_member_add_into_a_committee_is_refused_on_the_organisation(tree, admin_web):
    response = admin_web.post(url(Member, "add"), member_post(tree.committee))
    assert "organization" in response.context["adminform"].form.errors
    assert not Member.objects.exists()


def test_admin_member_change_goes_through_update_member(tree, admin_web, staff_administrator):
    member = MemberFactory(organization=tree.branch_a, full_name="Old Name")
    other = MemberFactory(organization=tree.branch_a)
    page = admin_web.get(url(Member, "change", member.pk))
    form = page.context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data.update({"full_name": "New Name", "citizen_id": other.citizen_id})
    data.update(inline_management(page))
    refused = admin_web.post(url(Member, "change", member.pk), data)
    assert "citizen_id" in refused.context["adminform"].form.errors
    member.refresh_from_db()
    assert member.full_name == "Old Name"

    data["citizen_id"] = member.citizen_id
    assert admin_web.post(url(Member, "change", member.pk), data).status_code == 302
    member.refresh_from_db()
    assert member.full_name == "New Name"
    assert member.history.first().history_user == staff_administrator


def test_admin_member_change_from_a_stale_page_is_refused(tree, admin_web):
    member = MemberFactory(organization=tree.branch_a, full_name="Old Name")
    page = admin_web.get(url(Member, "change", member.pk))
    form = page.context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(inline_management(page))
    Member.objects.filter(pk=member.pk).update(version=member.version + 1)  # someone saved meanwhile
    data["full_name"] = "Mine"
    response = admin_web.post(url(Member, "change", member.pk), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors()
    member.refresh_from_db()
    assert member.full_name == "Old Name"


def inline_management(page):
    """The management form data of every inline formset on a change page."""
    data = {}
    for formset in page.context.get("inline_admin_formsets", []):
        management = formset.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management[name].value()
        for form in formset.formset.initial_forms:
            for name in form.fields:
                value = form[name].value()
                if value is not None and name != "DELETE":
                    data[form.add_prefix(name)] = value.pk if hasattr(value, "pk") else value
    return data


def test_members_cannot_be_deleted_in_the_admin(tree, admin_web, staff_administrator, rf):
    member = MemberFactory(organization=tree.branch_a)
    assert admin_web.get(url(Member, "delete", member.pk)).status_code == 403
    assert admin_web.post(url(Member, "delete", member.pk), {"post": "yes"}).status_code == 403
    assert Member.objects.filter(pk=member.pk).exists()
    request = rf.get("/")
    request.user = staff_administrator
    for model in (Organization, Enterprise, MembershipPeriod, Locality, MassOrganization, Prospect, MembershipReturn):
        assert not admin.site._registry[model].has_delete_permission(request)


def test_history_cannot_be_reverted(tree, admin_web):
    member = MemberFactory(organization=tree.branch_a)
    historical = member.history.first()
    history_url = reverse("admin:branches_member_simple_history", args=(member.pk, historical.history_id))
    assert admin_web.get(history_url).status_code == 200
    assert admin_web.post(history_url, {"full_name": "Reverted"}).status_code == 403


def run_action(web, model, action, objects, **fields):
    data = {
        "action": action,
        helpers.ACTION_CHECKBOX_NAME: [obj.pk for obj in objects],
        "apply": "yes",
        **fields,
    }
    return web.post(url(model, "changelist"), data, follow=True)


def test_action_form_is_shown_before_anything_changes(tree, admin_web):
    member = MemberFactory(organization=tree.branch_a, admitted_on=datetime.date(2023, 1, 5))
    response = admin_web.post(
        url(Member, "changelist"),
        {"action": "recognize_official", helpers.ACTION_CHECKBOX_NAME: [member.pk]},
    )
    assert response.status_code == 200
    assert "official_on" in response.content.decode()
    member.refresh_from_db()
    assert member.official_on is None


def test_action_recognise_official(tree, admin_web):
    member = MemberFactory(organization=tree.branch_a, admitted_on=datetime.date(2023, 1, 5))
    run_action(admin_web, Member, "recognize_official", [member], official_on="2024-01-05")
    member.refresh_from_db()
    assert member.official_on == datetime.date(2024, 1, 5)


def test_action_recognise_official_twice_reports_the_refusal(tree, admin_web):
    member = MemberFactory(
        organization=tree.branch_a, admitted_on=datetime.date(2023, 1, 5), official_on=datetime.date(2024, 1, 5)
    )
    response = run_action(admin_web, Member, "recognize_official", [member], official_on="2024-02-05")
    assert "already an official member" in response.content.decode()
    member.refresh_from_db()
    assert member.official_on == datetime.date(2024, 1, 5)


def test_action_transfer_to_another_organisation_and_to_residence(tree, admin_web):
    moving, going_home = MemberFactory.create_batch(2, organization=tree.branch_a)
    run_action(
        admin_web,
        Member,
        "transfer",
        [moving],
        on="2024-05-01",
        to_organization=tree.branch_b.pk,
        presented_on="2024-05-06",
    )
    run_action(admin_web, Member, "transfer", [going_home], on="2024-05-01", to_organization="")
    moving.refresh_from_db()
    going_home.refresh_from_db()
    assert moving.organization == tree.branch_b
    assert moving.periods.get(ended_on__isnull=True).organization == tree.branch_b
    assert going_home.status == MemberStatus.TRANSFERRED_TO_RESIDENCE
    assert going_home.periods.get().end_reason == PeriodEndReason.RESIDENCE


def test_action_record_leaving(tree, admin_web):
    member = MemberFactory(organization=tree.branch_a)
    run_action(admin_web, Member, "record_leaving", [member], on="2024-05-01", reason="died")
    member.refresh_from_db()
    assert member.status == MemberStatus.LEFT
    assert member.periods.get().end_reason == PeriodEndReason.DIED


def test_action_dissolve_organisation_sends_members_to_the_destination(tree, admin_web):
    member = MemberFactory(organization=tree.branch_a)
    run_action(
        admin_web,
        Organization,
        "dissolve_organizations",
        [tree.branch_a],
        on="2024-06-01",
        destination=tree.branch_b.pk,
    )
    tree.branch_a.refresh_from_db()
    member.refresh_from_db()
    assert tree.branch_a.dissolved_on == datetime.date(2024, 6, 1)
    assert member.organization == tree.branch_b


def test_action_move_organisation_and_its_refusal(tree, admin_web):
    other_committee = OrganizationFactory(code="OTHER", parent=tree.city)
    run_action(
        admin_web, Organization, "move_organizations", [tree.branch_a], new_parent=other_committee.pk, on="2025-02-01"
    )
    tree.branch_a.refresh_from_db()
    assert Organization.objects.get_parent(tree.branch_a) == other_committee

    response = run_action(
        admin_web, Organization, "move_organizations", [tree.city], new_parent=tree.committee.pk, on="2025-02-01"
    )
    assert "own subtree" in response.content.decode()
    tree.city.refresh_from_db()
    assert tree.city.is_root()


def test_action_admit_prospect(tree, admin_web):
    prospect = ProspectFactory(organization=tree.branch_a, identified_on=datetime.date(2023, 1, 1), ready=True)
    run_action(admin_web, Prospect, "admit", [prospect], admitted_on="2024-03-15", party_card_number="", official_on="")
    prospect.refresh_from_db()
    assert prospect.stage == ProspectStage.ADMITTED
    assert prospect.member.admitted_by == tree.branch_a


def test_action_withdraw_prospect(tree, admin_web):
    prospect = ProspectFactory(organization=tree.branch_a)
    run_action(admin_web, Prospect, "withdraw", [prospect], on="2024-02-01")
    prospect.refresh_from_db()
    assert prospect.stage == ProspectStage.WITHDRAWN


def organization_post(tree, **overrides):
    data = {
        "code": "NEW-1",
        "name": "Chi bộ mới",
        "kind": OrganizationKind.SUBORDINATE_BRANCH,
        "parent": tree.committee.pk,
        "locality": tree.commune.pk,
        "enterprise": "",
        "established_on": "2024-01-01",
    }
    data.update(overrides)
    return data


def test_admin_organisation_add_establishes_through_the_service(tree, admin_web):
    refused = admin_web.post(url(Organization, "add"), organization_post(tree))
    assert "parent" in refused.context["adminform"].form.errors
    assert not Organization.objects.filter(code="NEW-1").exists()

    response = admin_web.post(
        url(Organization, "add"), organization_post(tree, kind=OrganizationKind.GRASSROOTS_BRANCH)
    )
    assert response.status_code == 302
    assert Organization.objects.get_parent(Organization.objects.get(code="NEW-1")) == tree.committee


def test_admin_organisation_list_is_indented_by_depth(tree, admin_web):
    page = admin_web.get(url(Organization, "changelist")).content.decode()
    assert 'padding-left:0.0em">Thành ủy' in page
    assert 'padding-left:3.0em">Chi bộ Công ty An Phát' in page


def test_admin_enterprise_add_refuses_a_mistyped_tax_code(tree, admin_web):
    data = {
        "tax_code": "0100109107",
        "name": "Công ty Mới",
        "ownership": "private",
        "locality": tree.commune.pk,
        "size_class": "small",
        "employees": "10",
        "operating_status": "operating",
        "managing_committee": tree.committee.pk,
    }
    refused = admin_web.post(url(Enterprise, "add"), data)
    assert "tax_code" in refused.context["adminform"].form.errors
    data["tax_code"] = "0100109106"
    assert admin_web.post(url(Enterprise, "add"), data).status_code == 302
    assert Enterprise.objects.get(tax_code="0100109106").managing_committee == tree.committee


def test_admin_mass_organisation_add_records_the_founding_return(tree, admin_web):
    data = {
        "enterprise": tree.enterprise_a.pk,
        "kind": "trade_union",
        "name": "Công đoàn An Phát",
        "established_on": "2024-02-01",
        "founding_members": "35",
    }
    assert admin_web.post(url(MassOrganization, "add"), data).status_code == 302
    founding = MembershipReturn.objects.get(mass_organization__name="Công đoàn An Phát")
    assert (founding.is_founding, founding.members_admitted, founding.members_total) == (True, 35, 35)


def test_admin_return_inline_goes_through_record_membership_return(tree, admin_web):
    mass_organization = MassOrganizationFactory(enterprise=tree.enterprise_a, established_on=datetime.date(2024, 3, 1))
    MembershipReturnFactory(mass_organization=mass_organization)
    page = admin_web.get(url(MassOrganization, "change", mass_organization.pk))
    form = page.context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(inline_management(page))
    prefix = page.context["inline_admin_formsets"][0].formset.prefix
    data.update(
        {f"{prefix}-1-date": "2024-02-01", f"{prefix}-1-members_total": "30", f"{prefix}-1-members_admitted": "10"}
    )
    refused = admin_web.post(url(MassOrganization, "change", mass_organization.pk), data)
    assert refused.status_code == 200
    assert "founding" in str(refused.context["inline_admin_formsets"][0].formset.errors)
    assert mass_organization.returns.count() == 1

    data[f"{prefix}-1-date"] = "2024-06-30"
    assert admin_web.post(url(MassOrganization, "change", mass_organization.pk), data).status_code == 302
    assert mass_organization.returns.count() == 2


def test_admin_target_add_change_and_delete_go_through_set_targets(tree, admin_web, staff_administrator):
    data = {"committee": tree.committee.pk, "year": "2024", "metric": Metric.MEMBERS_ADMITTED, "value": "-1"}
    refused = admin_web.post(url(Target, "add"), data)
    assert refused.status_code == 200
    assert not Target.objects.exists()
    data["value"] = "25"
    assert admin_web.post(url(Target, "add"), data).status_code == 302
    target = Target.objects.get()
    assert target.value == 25
    assert target.history.get().history_user == staff_administrator
    assert admin_web.post(url(Target, "delete", target.pk), {"post": "yes"}).status_code == 302
    assert not Target.objects.exists()


def test_admin_user_roles_are_granted_and_revoked_through_services(tree, admin_web, staff_administrator):
    user = UserFactory(username="new_secretary")
    page = admin_web.get(url(get_user_model(), "change", user.pk))
    form = page.context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields if name != "password"}
    data.update({"is_active": "on", "date_joined_0": "", "date_joined_1": ""})
    data.update(inline_management(page))
    prefix = page.context["inline_admin_formsets"][0].formset.prefix
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-0-role": RoleKey.SECRETARY,
            f"{prefix}-0-organization": tree.branch_a.pk,
        }
    )
    response = admin_web.post(url(get_user_model(), "change", user.pk), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assignment = RoleAssignment.objects.get(user=user)
    assert assignment.organization == tree.branch_a
    assert assignment.history.get().history_user == staff_administrator

    page = admin_web.get(url(get_user_model(), "change", user.pk))
    data = {name: form[name].value() or "" for name in form.fields if name != "password"}
    data.update({"is_active": "on"})
    data.update(inline_management(page))
    data[f"{prefix}-0-DELETE"] = "on"
    assert admin_web.post(url(get_user_model(), "change", user.pk), data).status_code == 302
    assert not RoleAssignment.objects.filter(user=user).exists()


def test_granting_the_administrator_role_reminds_about_staff_status(tree, admin_web):
    user = UserFactory(username="future_admin")
    response = admin_web.post(
        url(RoleAssignment, "add"), {"user": user.pk, "role": RoleKey.ADMINISTRATOR, "organization": ""}, follow=True
    )
    assert RoleAssignment.objects.get(user=user).organization is None
    assert "staff status" in response.content.decode().lower()


def test_admin_role_without_organisation_is_refused(tree, admin_web):
    user = UserFactory(username="no_org")
    response = admin_web.post(url(RoleAssignment, "add"), {"user": user.pk, "role": RoleKey.DEPARTMENT})
    assert "organization" in response.context["adminform"].form.errors
    assert not RoleAssignment.objects.filter(user=user).exists()


def test_administrator_resets_a_password(tree, admin_web, secretary_a):
    response = admin_web.post(
        reverse("admin:auth_user_password_change", args=(secretary_a.pk,)),
        {"password1": "a-new-long-passphrase", "password2": "a-new-long-passphrase", "usable_password": "true"},
    )
    assert response.status_code == 302
    secretary_a.refresh_from_db()
    assert secretary_a.check_password("a-new-long-passphrase")


def test_administrator_cannot_make_a_superuser(admin_web, staff_administrator, rf):
    request = rf.get("/")
    request.user = staff_administrator
    user_admin = admin.site._registry[get_user_model()]
    assert "is_superuser" in user_admin.get_readonly_fields(request, staff_administrator)


@pytest.mark.parametrize(
    "model",
    [
        Member,
        Organization,
        Enterprise,
        MassOrganization,
        MembershipReturn,
        MembershipPeriod,
        Prospect,
        RoleAssignment,
        Target,
        Locality,
        get_user_model(),
    ],
)
def test_changelist_queries_do_not_grow_with_rows(tree, admin_web, django_assert_max_num_queries, model):
    years = iter(range(2000, 2100))

    def add_rows():
        for _ in range(2):
            MemberFactory(organization=tree.branch_a, enterprise=tree.enterprise_a)
            ProspectFactory(organization=tree.branch_a, enterprise=tree.enterprise_a)
            enterprise = EnterpriseFactory(managing_committee=tree.committee, locality=tree.commune)
            MembershipReturnFactory(mass_organization=MassOrganizationFactory(enterprise=enterprise))
            branch = OrganizationFactory(
                kind=OrganizationKind.GRASSROOTS_BRANCH,
                parent=tree.committee,
                locality=tree.commune,
                enterprise=enterprise,
            )
            RoleAssignmentFactory(role=RoleKey.SECRETARY, organization=branch)
            TargetFactory(committee=tree.committee, year=next(years))
            LocalityFactory(parent=tree.province, kind="commune")

    add_rows()
    with CaptureQueriesContext(connection) as few:
        assert admin_web.get(url(model, "changelist")).status_code == 200
    add_rows()
    add_rows()
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert admin_web.get(url(model, "changelist")).status_code == 200


def test_locality_admin_adds_and_moves_through_services(tree, admin_web):
    data = {"code": "99999", "name": "Xã Mới", "kind": "commune", "parent": tree.province.pk}
    assert admin_web.post(url(Locality, "add"), data).status_code == 302
    new = Locality.objects.get(code="99999")
    assert Locality.objects.get_parent(new) == tree.province
    other = LocalityFactory(code="22", name="Quảng Ninh")
    run_action(admin_web, Locality, "move_localities", [new], new_parent=other.pk, on="2025-07-01")
    new.refresh_from_db()
    assert Locality.objects.get_parent(new) == other
    assert new.versions.get(valid_from=datetime.date(2025, 7, 1)).parent == other


# Restructuring through time (issue 13) ------------------------------------------------------


def test_action_move_from_a_date_with_a_decision(tree, admin_web):
    ward = OrganizationFactory(code="WARD", parent=tree.city, established_on=datetime.date(2025, 7, 1))
    run_action(
        admin_web,
        Organization,
        "move_organizations",
        [tree.branch_a, tree.branch_b],
        new_parent=ward.pk,
        on="2025-07-01",
        decision_number="15-QĐ/TU",
        decision_date="2025-06-20",
    )
    for branch in (tree.branch_a, tree.branch_b):
        branch.refresh_from_db()
        assert branch.parent == ward
        assert branch.versions.get(valid_from=datetime.date(2025, 7, 1)).decision_number == "15-QĐ/TU"
    page = admin_web.get(url(Organization, "change", tree.branch_a.pk)).content.decode()
    assert "15-QĐ/TU" in page  # the dated states are listed on the organisation's page


def test_action_refusals_are_shown_at_the_field_and_change_nothing(tree, admin_web):
    ward = OrganizationFactory(code="WARD", parent=tree.city, established_on=datetime.date(2025, 7, 1))
    response = run_action(
        admin_web,
        Organization,
        "move_organizations",
        [tree.branch_a, tree.branch_b],
        new_parent=ward.pk,
        on="2025-06-01",  # before the ward existed
    )
    form = response.context["form"]
    assert "new_parent" in form.errors and "only established" in str(form.errors["new_parent"])
    for branch in (tree.branch_a, tree.branch_b):
        branch.refresh_from_db()
        assert branch.parent == tree.committee
    response = run_action(
        admin_web,
        Organization,
        "rename_organization",
        [tree.branch_a],
        name="Chi bộ mới",
        on="2025-03-01",
        decision_date="2999-01-01",
    )
    assert "decision_date" in response.context["form"].errors
    with translation.override("vi"):
        response = admin_web.post(
            url(Organization, "changelist"),
            {
                "action": "move_organizations",
                helpers.ACTION_CHECKBOX_NAME: [tree.branch_a.pk],
                "apply": "yes",
                "new_parent": ward.pk,
                "on": "2025-06-01",
            },
            HTTP_ACCEPT_LANGUAGE="vi",
        )
    assert response.status_code == 200


def test_action_rename_from_a_date_and_only_one_at_a_time(tree, admin_web):
    run_action(admin_web, Organization, "rename_organization", [tree.branch_a], name="Chi bộ mới", on="2025-03-01")
    tree.branch_a.refresh_from_db()
    assert tree.branch_a.name == "Chi bộ mới"
    assert tree.branch_a.versions.get(valid_from=datetime.date(2025, 3, 1)).change == "renamed"
    response = run_action(
        admin_web, Organization, "rename_organization", [tree.branch_a, tree.branch_b], name="X", on="2025-04-01"
    )
    assert "exactly one" in response.content.decode()
    tree.branch_b.refresh_from_db()
    assert tree.branch_b.name != "X"


def test_action_merge_into_a_successor(tree, admin_web):
    member = MemberFactory(organization=tree.branch_a)
    run_action(
        admin_web,
        Organization,
        "merge_organizations",
        [tree.branch_a],
        into=tree.branch_b.pk,
        on="2025-07-01",
        decision_number="30-QĐ/TU",
    )
    tree.branch_a.refresh_from_db()
    member.refresh_from_db()
    assert tree.branch_a.dissolved_on == datetime.date(2025, 7, 1)
    assert member.organization == tree.branch_b
    assert tree.branch_a.versions.get().successor == tree.branch_b


def test_restructuring_actions_are_for_administrators_only(tree, client, department):
    department.is_staff = True
    department.save()
    client.force_login(department)
    response = client.post(
        url(Organization, "changelist"),
        {
            "action": "merge_organizations",
            helpers.ACTION_CHECKBOX_NAME: [tree.branch_a.pk],
            "apply": "yes",
            "into": tree.branch_b.pk,
            "on": "2025-07-01",
        },
    )
    assert response.status_code in (302, 403)
    tree.branch_a.refresh_from_db()
    assert tree.branch_a.dissolved_on is None


def test_the_dissolve_form_says_what_it_reaches_and_keeps_its_errors(tree, admin_web):
    MemberFactory.create_batch(3, organization=tree.branch_a)
    with translation.override("en"):
        response = admin_web.post(
            url(Organization, "changelist"),
            {"action": "dissolve_organizations", helpers.ACTION_CHECKBOX_NAME: [tree.committee.pk]},
        )
        page = response.content.decode()
        assert "Members whose membership is open there" in page
        affected = {row.organization: row for row in response.context["affected"]}[tree.committee]
        assert (affected.organizations_below, affected.members) == (2, 3)
        # An empty date is refused on the form, which stays (not the list).
        response = run_action(admin_web, Organization, "dissolve_organizations", [tree.branch_a], on="")
        assert response.status_code == 200
        assert "party_action_form" in [t.name.rsplit("/", 1)[-1].removesuffix(".html") for t in response.templates]
        assert "This field is required." in response.content.decode()
        # A refused dissolution (organisations below still in force) keeps the form with the message.
        response = run_action(admin_web, Organization, "dissolve_organizations", [tree.committee], on="2024-06-01")
        assert "affected" in response.context
        assert "Dissolve or move its organisations first" in response.content.decode()
    tree.committee.refresh_from_db()
    assert tree.committee.dissolved_on is None


def test_a_member_action_is_all_or_nothing_and_keeps_its_form(tree, admin_web):
    due = MemberFactory(organization=tree.branch_a, admitted_on=datetime.date(2023, 1, 5))
    early = MemberFactory(organization=tree.branch_a, admitted_on=datetime.date(2023, 9, 5))
    with translation.override("en"):
        response = run_action(admin_web, Member, "recognize_official", [due, early], official_on="2024-01-05")
    assert response.status_code == 200
    assert "form" in response.context and response.context["form"].non_field_errors()
    assert str(early) in " ".join(response.context["form"].non_field_errors())
    due.refresh_from_db()
    early.refresh_from_db()
    assert (due.official_on, early.official_on) == (None, None)
    with translation.override("en"):
        response = run_action(admin_web, Member, "recognize_official", [early], official_on="2024-01-05")
    assert "official_on" in response.context["form"].errors
