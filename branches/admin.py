"""Django admin for the administrator: organisations, members, prospects, roles and users.

Rules of this admin (shared by ``enterprises.admin`` and ``reports.admin``):

* Who may use it follows our roles, in one place (:class:`AdministratorOnlyMixin`): users with
  the ``administrator`` role (and superusers) may use every page without Django model
  permissions; secretaries and department staff may not, even with ``is_staff``.
* Every write goes through the service functions: add and change forms are
  :class:`ServiceForm` subclasses that call the service while the form is validated, so a refused
  change shows its message on the field and nothing is written; lifecycle steps are admin
  actions with a small intermediate form (:func:`run_action`); history cannot be reverted.
* A Party record is never silently deleted: deletion is off unless a service does it.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from branches import services
from branches.choices import GRASSROOTS_KINDS, LEAVING_REASONS, PeriodEndReason, RoleKey
from branches.forms import organization_picker, possible_parents
from branches.models import Member, MembershipPeriod, Organization, OrganizationVersion, Prospect, RoleAssignment
from branches.structure import affected_by
from core.admin import (
    ActiveFilter,
    AdministratorOnlyMixin,
    PartyModelAdmin,
    ReadOnlyInline,
    ServiceForm,
    ServiceInlineFormSet,
    VersionedServiceForm,
    date_field,
    indented,
    run_action,
    run_tree_action,
)
from core.models import UserPreference, display_name
from core.widgets import use_picker
from security.services import require_password_change

admin.site.site_header = _("Party building in non-state enterprises: administration")
admin.site.site_title = _("Party building administration")
admin.site.index_title = _("Localities, organisations, records, users and roles")


def grassroots_organizations():
    return Organization.objects.filter(kind__in=GRASSROOTS_KINDS).select_related(None)


# Organisations ----------------------------------------------------------------------------


ORGANIZATION_ADD_FIELDS = [
    "code",
    "name",
    "kind",
    "parent",
    "locality",
    "enterprise",
    "established_on",
    "coordination_regulation_signed",
]


class OrganizationAddForm(ServiceForm):
    parent = forms.ModelChoiceField(
        label=_("parent"),
        queryset=Organization.objects.none(),
        required=False,
        help_text=_("Empty for a root committee."),
    )
    decision_number = forms.CharField(label=_("decision number"), max_length=60, required=False)
    decision_date = date_field(_("decision date"), required=False)

    class Meta:
        model = Organization
        fields = ORGANIZATION_ADD_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = possible_parents()
        use_picker(self.fields["parent"], organization_picker("parents"))

    def apply(self, data):
        return services.establish_organization(
            self.acting_user,
            **{field: data.get(field) for field in ORGANIZATION_ADD_FIELDS},
            decision_number=data.get("decision_number") or "",
            decision_date=data.get("decision_date"),
        )


class OrganizationChangeForm(VersionedServiceForm):
    class Meta:
        model = Organization
        fields = list(services.ORGANIZATION_EDITABLE_FIELDS)

    def apply(self, data):
        return services.update_organization(
            self.acting_user,
            self.instance,
            **self.version_kwargs(data),
            **self.changes(data, services.ORGANIZATION_EDITABLE_FIELDS),
        )


class DecisionForm(forms.Form):
    """The effective date (today unless changed; never left empty) and the decision of a restructuring; the service's
    refusals go on the fields they name (``field_for_error`` maps the service's names to the form's)."""

    service_fields = {}

    on = date_field(_("takes effect on"))
    decision_number = forms.CharField(label=_("decision number"), max_length=60, required=False)
    decision_date = date_field(_("decision date"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["on"].initial = services.today()

    def field_for_error(self, key):
        return self.service_fields.get(key, key)

    def decision(self):
        data = self.cleaned_data
        return {
            "on": data["on"],
            "decision_number": data["decision_number"],
            "decision_date": data["decision_date"],
        }


class MoveOrganizationForm(DecisionForm):
    new_parent = forms.ModelChoiceField(label=_("new parent"), queryset=Organization.objects.none())
    service_fields = {"parent": "new_parent"}
    field_order = ["new_parent", "on", "decision_number", "decision_date"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_parent"].queryset = possible_parents().filter(dissolved_on__isnull=True)
        use_picker(self.fields["new_parent"], organization_picker("active-parents"))


class RenameOrganizationForm(DecisionForm):
    name = forms.CharField(label=_("new name"), max_length=300)
    field_order = ["name", "on", "decision_number", "decision_date"]


class MergeOrganizationsForm(DecisionForm):
    into = forms.ModelChoiceField(
        label=_("merged into"),
        queryset=Organization.objects.none(),
        help_text=_("The successor; establish it first when it is new."),
    )
    service_fields = {"sources": None}
    field_order = ["into", "on", "decision_number", "decision_date"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["into"].queryset = Organization.objects.filter(dissolved_on__isnull=True)
        use_picker(self.fields["into"], organization_picker("active"))


class DissolveOrganizationForm(DecisionForm):
    service_fields = {"dissolved_on": "on"}
    field_order = ["on", "destination", "decision_number", "decision_date"]
    destination = forms.ModelChoiceField(
        label=_("members go to"),
        queryset=Organization.objects.none(),
        required=False,
        empty_label=_("their places of residence"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["destination"].queryset = grassroots_organizations().filter(dissolved_on__isnull=True)
        use_picker(
            self.fields["destination"],
            organization_picker("active-grassroots", placeholder=self.fields["destination"].empty_label),
        )


class OrganizationVersionInline(ReadOnlyInline):
    """An organisation's dated states: they change only through the restructuring actions."""

    model = OrganizationVersion
    fk_name = "organization"
    fields = [
        "valid_from",
        "valid_to",
        "parent",
        "name",
        "change",
        "decision_number",
        "decision_date",
        "end_change",
        "successor",
    ]
    readonly_fields = fields
    ordering = ["valid_from"]
    verbose_name_plural = _("parents and names over time")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("parent", "successor")


class MembershipPeriodInline(ReadOnlyInline):
    """A member's periods: they change only through the lifecycle services."""

    model = MembershipPeriod
    fields = ["organization", "started_on", "ended_on", "end_reason"]
    readonly_fields = fields
    ordering = ["started_on"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization")


@admin.register(Organization)
class OrganizationAdmin(PartyModelAdmin):
    form = OrganizationChangeForm
    add_form = OrganizationAddForm
    list_display = [
        "tree_name",
        "code",
        "kind",
        "locality",
        "enterprise",
        "established_on",
        "dissolved_on",
        "coordination_regulation_signed",
    ]
    list_select_related = ["locality", "enterprise"]
    list_filter = ["kind", ActiveFilter, "coordination_regulation_signed"]
    search_fields = ["code", "search_name"]
    ordering = ["path"]
    autocomplete_fields = ["locality", "enterprise"]
    actions = ["move_organizations", "rename_organization", "merge_organizations", "dissolve_organizations"]
    inlines = [OrganizationVersionInline]

    def get_inline_instances(self, request, obj=None):
        return super().get_inline_instances(request, obj) if obj is not None else []

    @admin.display(description=_("name"), ordering="path")
    def tree_name(self, obj):
        return indented(obj, obj.name)

    @admin.display(description=_("parent"))
    def parent_organization(self, obj):
        return type(obj).objects.get_parent(obj) or "—"

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["code", "kind", "parent_organization", "dissolved_on", "dissolution_decision_number", "version"]

    @admin.action(description=_("Move under another parent, from a date"), permissions=["change"])
    def move_organizations(self, request, queryset):
        return run_restructuring(
            self,
            request,
            queryset,
            form_class=MoveOrganizationForm,
            title=_("Move under another parent, from a date"),
            apply=lambda user, orgs, form: [
                services.move_organization(user, org, form.cleaned_data["new_parent"], **form.decision())
                for org in orgs
            ],
            done_message=lambda n: ngettext("%(n)d organisation moved.", "%(n)d organisations moved.", n) % {"n": n},
        )

    @admin.action(description=_("Rename, from a date"), permissions=["change"])
    def rename_organization(self, request, queryset):
        return run_restructuring(
            self,
            request,
            queryset,
            form_class=RenameOrganizationForm,
            title=_("Rename, from a date"),
            apply=lambda user, orgs, form: [
                services.rename_organization(user, org, name=form.cleaned_data["name"], **form.decision())
                for org in orgs
            ],
            done_message=lambda n: (
                ngettext("%(n)d organisation renamed.", "%(n)d organisations renamed.", n) % {"n": n}
            ),
            exactly_one=True,
        )

    @admin.action(description=_("Merge into another organisation"), permissions=["change"])
    def merge_organizations(self, request, queryset):
        return run_restructuring(
            self,
            request,
            queryset,
            form_class=MergeOrganizationsForm,
            title=_("Merge into another organisation"),
            apply=lambda user, orgs, form: services.merge_organizations(
                user, list(orgs), form.cleaned_data["into"], **form.decision()
            ),
            done_message=lambda n: ngettext("%(n)d organisation merged.", "%(n)d organisations merged.", n) % {"n": n},
        )

    @admin.action(description=_("Dissolve"), permissions=["change"])
    def dissolve_organizations(self, request, queryset):
        return run_restructuring(
            self,
            request,
            queryset,
            form_class=DissolveOrganizationForm,
            title=_("Dissolve"),
            apply=lambda user, orgs, form: [
                services.dissolve_organization(
                    user, org, destination=form.cleaned_data["destination"], **form.decision()
                )
                for org in orgs
            ],
            done_message=lambda n: (
                ngettext("%(n)d organisation dissolved.", "%(n)d organisations dissolved.", n) % {"n": n}
            ),
        )


def run_restructuring(modeladmin, request, queryset, *, form_class, title, apply, done_message, exactly_one=False):
    """An admin action over the organisation tree (``core.admin.run_tree_action``), previewing the
    organisations and members each selected organisation reaches."""
    return run_tree_action(
        modeladmin,
        request,
        queryset,
        form_class=form_class,
        title=title,
        apply=apply,
        done_message=done_message,
        preview=lambda organizations: {"affected": affected_by(organizations)},
        only_one=_("Choose exactly one organisation for this action.") if exactly_one else None,
    )


# Members ----------------------------------------------------------------------------------

MEMBER_ADD_FIELDS = list(services.MEMBER_ADMISSION_FIELDS)


class MemberAddForm(ServiceForm):
    """Admission: ``branches.services.admit_member`` (18 years old, grassroots organisation, ...)."""

    class Meta:
        model = Member
        fields = MEMBER_ADD_FIELDS

    def apply(self, data):
        return services.admit_member(self.acting_user, **{field: data.get(field) for field in MEMBER_ADD_FIELDS})


class MemberChangeForm(VersionedServiceForm):
    """Corrections of personal and workplace facts: ``branches.services.update_member``."""

    class Meta:
        model = Member
        fields = list(services.MEMBER_EDITABLE_FIELDS)

    def apply(self, data):
        return services.update_member(
            self.acting_user,
            self.instance,
            **self.version_kwargs(data),
            **self.changes(data, services.MEMBER_EDITABLE_FIELDS),
        )


class MemberDecisionForm(forms.Form):
    decision_number = forms.CharField(label=_("number of the decision"), max_length=50, required=False)
    decided_on = date_field(_("date of the decision"), required=False)


class RecognizeOfficialForm(MemberDecisionForm):
    """Dated at the end of the 12 months of probation (empty: that date; the service refuses another)."""

    official_on = date_field(_("official on"), required=False)


class TransferForm(MemberDecisionForm):
    on = date_field(_("date of transfer"))
    to_organization = forms.ModelChoiceField(
        label=_("to"),
        queryset=Organization.objects.none(),
        required=False,
        empty_label=_("the place of residence"),
    )
    # Empty: the transfer stays in transit until the receiving organisation confirms it.
    presented_on = date_field(_("letter presented on"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_organization"].queryset = grassroots_organizations().filter(dissolved_on__isnull=True)
        use_picker(
            self.fields["to_organization"],
            organization_picker("active-grassroots", placeholder=self.fields["to_organization"].empty_label),
        )


class LeavingForm(MemberDecisionForm):
    on = date_field(_("date"))
    reason = forms.ChoiceField(
        label=_("reason"),
        choices=[(reason.value, reason.label) for reason in PeriodEndReason if reason in LEAVING_REASONS],
    )


@admin.register(Member)
class MemberAdmin(PartyModelAdmin):
    form = MemberChangeForm
    add_form = MemberAddForm
    list_display = [
        "full_name",
        "masked_citizen_id",
        "party_card_number",
        "organization",
        "status",
        "admitted_on",
        "official_on",
        "is_business_owner",
    ]
    list_select_related = ["organization"]
    list_filter = [
        "status",
        "sex",
        "position",
        "is_business_owner",
        "owner_at_admission",
        ("official_on", admin.EmptyFieldListFilter),
    ]
    search_fields = ["search_name", "=citizen_id", "party_card_number", "organization__code"]
    date_hierarchy = "admitted_on"
    autocomplete_fields = ["organization", "enterprise"]
    inlines = [MembershipPeriodInline]
    actions = ["recognize_official", "transfer", "record_leaving"]

    @admin.display(description=_("citizen ID"))
    def masked_citizen_id(self, obj):
        return obj.masked_citizen_id

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "organization",
            "status",
            "admitted_on",
            "admitted_by",
            "owner_at_admission",
            "dossier_reviewed_on",
            "over_age_approved",
            "over_age_approval_reference",
            "ceremony_on",
            "official_on",
            "recognition_decision_number",
            "recognition_decided_on",
            "version",
        ]

    @admin.action(description=_("Recognise as official"), permissions=["change"])
    def recognize_official(self, request, queryset):
        return run_action(
            self,
            request,
            queryset,
            form_class=RecognizeOfficialForm,
            title=_("Recognise as official"),
            apply_one=lambda user, member, data: services.recognize_official(
                user,
                member,
                official_on=data["official_on"],
                decision_number=data["decision_number"],
                decided_on=data["decided_on"],
            ),
            done_message=lambda n: (
                ngettext("%(n)d member recognised as official.", "%(n)d members recognised as official.", n) % {"n": n}
            ),
        )

    @admin.action(description=_("Transfer Party activity"), permissions=["change"])
    def transfer(self, request, queryset):
        return run_action(
            self,
            request,
            queryset,
            form_class=TransferForm,
            title=_("Transfer Party activity"),
            apply_one=lambda user, member, data: services.transfer_member(
                user,
                member,
                on=data["on"],
                to_organization=data["to_organization"],
                decision_number=data["decision_number"],
                decided_on=data["decided_on"],
                presented_on=data["presented_on"] if data["to_organization"] is not None else None,
            ),
            done_message=lambda n: ngettext("%(n)d member transferred.", "%(n)d members transferred.", n) % {"n": n},
        )

    @admin.action(description=_("Record leaving the Party"), permissions=["change"])
    def record_leaving(self, request, queryset):
        return run_action(
            self,
            request,
            queryset,
            form_class=LeavingForm,
            title=_("Record leaving the Party"),
            apply_one=lambda user, member, data: services.record_leaving(
                user,
                member,
                on=data["on"],
                reason=data["reason"],
                decision_number=data["decision_number"],
                decided_on=data["decided_on"],
            ),
            done_message=lambda n: (
                ngettext("%(n)d member recorded as left.", "%(n)d members recorded as left.", n) % {"n": n}
            ),
        )


@admin.register(MembershipPeriod)
class MembershipPeriodAdmin(PartyModelAdmin):
    """Read-only: periods are opened and closed by admission, transfer, leaving and dissolution."""

    allow_add = False
    allow_change = False
    list_display = ["member", "organization", "started_on", "ended_on", "end_reason", "end_decision_number"]
    list_select_related = ["member", "organization"]
    list_filter = ["end_reason"]
    search_fields = ["member__search_name", "organization__code", "organization__search_name"]
    date_hierarchy = "started_on"


# Prospects --------------------------------------------------------------------------------


class ProspectForm(VersionedServiceForm):
    class Meta:
        model = Prospect
        fields = list(services.PROSPECT_FIELDS)

    def apply(self, data):
        if self.instance.pk is None:
            return services.create_prospect(self.acting_user, **{f: data.get(f) for f in services.PROSPECT_FIELDS})
        return services.update_prospect(
            self.acting_user,
            self.instance,
            **self.version_kwargs(data),
            **self.changes(data, services.PROSPECT_FIELDS),
        )


class AdmitProspectForm(forms.Form):
    admitted_on = date_field(_("date of the admission decision"))
    party_card_number = forms.CharField(label=_("Party card number"), required=False, max_length=20)
    official_on = date_field(_("official on"), required=False)
    dossier_reviewed_on = date_field(_("dossier reviewed on"), required=False)
    admission_decision_number = forms.CharField(
        label=_("number of the admission decision"), max_length=50, required=False
    )
    admission_decided_by = forms.CharField(
        label=_("committee that decided the admission"), max_length=200, required=False
    )
    ceremony_on = date_field(_("admission ceremony on"), required=False)


class WithdrawProspectForm(forms.Form):
    on = date_field(_("withdrawn on"))


@admin.register(Prospect)
class ProspectAdmin(PartyModelAdmin):
    form = ProspectForm
    list_display = ["full_name", "organization", "stage", "identified_on", "dossier_completed_on", "closed_on"]
    list_select_related = ["organization"]
    list_filter = ["stage", "sex", "position", "is_business_owner"]
    search_fields = ["search_name", "=citizen_id", "organization__code"]
    autocomplete_fields = ["organization", "enterprise"]
    readonly_fields = ["stage", "closed_on", "member", "version"]
    actions = ["admit", "withdraw"]

    @admin.action(description=_("Admit to the Party"), permissions=["change"])
    def admit(self, request, queryset):
        return run_action(
            self,
            request,
            queryset,
            form_class=AdmitProspectForm,
            title=_("Admit to the Party"),
            apply_one=lambda user, prospect, data: services.admit_prospect(
                user,
                prospect,
                admitted_on=data["admitted_on"],
                party_card_number=data["party_card_number"],
                official_on=data["official_on"],
                dossier_reviewed_on=data["dossier_reviewed_on"],
                admission_decision_number=data["admission_decision_number"],
                admission_decided_by=data["admission_decided_by"],
                ceremony_on=data["ceremony_on"],
            ),
            done_message=lambda n: ngettext("%(n)d prospect admitted.", "%(n)d prospects admitted.", n) % {"n": n},
        )

    @admin.action(description=_("Withdraw"), permissions=["change"])
    def withdraw(self, request, queryset):
        return run_action(
            self,
            request,
            queryset,
            form_class=WithdrawProspectForm,
            title=_("Withdraw"),
            apply_one=lambda user, prospect, data: services.withdraw_prospect(user, prospect, on=data["on"]),
            done_message=lambda n: ngettext("%(n)d prospect withdrawn.", "%(n)d prospects withdrawn.", n) % {"n": n},
        )


# Roles and users --------------------------------------------------------------------------


class RoleAssignmentForm(ServiceForm):
    """Granting a role: ``branches.services.grant_role``. Roles are revoked, never edited."""

    class Meta:
        model = RoleAssignment
        fields = ["user", "role", "organization"]

    def apply(self, data):
        user = data.get("user") or get_user_model().objects.get(pk=self.instance.user_id)
        return services.grant_role(
            self.acting_user, user=user, role=data.get("role"), organization=data.get("organization")
        )


def remind_staff_status(modeladmin, request, user):
    """Administrators also need Django's staff status to use this admin: say so when it is missing."""
    if not user.is_staff and user.role_assignments.filter(role=RoleKey.ADMINISTRATOR).exists():
        modeladmin.message_user(
            request,
            _("%(user)s holds the administrator role but has no staff status: tick “Staff status” for the admin.")
            % {"user": user},
            messages.WARNING,
        )


class RoleAssignmentFormSet(ServiceInlineFormSet):
    def delete_with_service(self, obj):
        services.revoke_role(self.acting_user, obj)


class RoleAssignmentInline(AdministratorOnlyMixin, admin.TabularInline):
    model = RoleAssignment
    form = RoleAssignmentForm
    formset = RoleAssignmentFormSet
    fk_name = "user"
    fields = ["role", "organization"]
    autocomplete_fields = ["organization"]
    allow_change = False
    allow_delete = True
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization")


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(PartyModelAdmin):
    form = RoleAssignmentForm
    allow_change = False
    allow_delete = True
    list_display = ["user", "role", "organization"]
    list_select_related = ["user", "organization"]
    list_filter = ["role"]
    search_fields = ["user__username", "organization__code", "organization__search_name"]
    autocomplete_fields = ["user", "organization"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        remind_staff_status(self, request, form.result.user)

    def delete_model(self, request, obj):
        services.revoke_role(request.user, obj)

    def delete_queryset(self, request, queryset):
        for assignment in queryset:
            services.revoke_role(request.user, assignment)


User = get_user_model()

if admin.site.is_registered(User):
    admin.site.unregister(User)
if admin.site.is_registered(Group):
    admin.site.unregister(Group)  # roles, not groups, say what a user may do


class AdministratorSetPasswordForm(AdminPasswordChangeForm):
    """Django's form for an administrator setting a password; its owner must then change it."""

    def save(self, commit=True):
        user = super().save(commit=commit)
        if commit:
            require_password_change(user)
        return user


class UserProfileInline(admin.StackedInline):
    model = UserPreference
    fields = ["full_name", "email_digest", "password_change_required", "language"]
    can_delete = False
    extra = 1
    max_num = 1
    verbose_name_plural = _("user profile")


@admin.register(User)
class PartyUserAdmin(AdministratorOnlyMixin, UserAdmin):
    """Users with their profile and role assignments; a password an administrator sets (on creation
    or with Django's form) must be changed by its owner at their next sign-in."""

    inlines = [UserProfileInline, RoleAssignmentInline]
    change_password_form = AdministratorSetPasswordForm
    list_display = ["username", "full_name", "email", "is_active", "is_staff", "roles"]
    list_select_related = ["preference"]
    list_filter = ["is_active", "is_staff", "is_superuser", "role_assignments__role"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("Personal info"), {"fields": ["first_name", "last_name", "email"]}),
        (_("Access"), {"fields": ["is_active", "is_staff", "is_superuser"]}),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("role_assignments__organization")

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        remind_staff_status(self, request, form.instance)
        if not change and form.instance.has_usable_password():
            require_password_change(form.instance)

    def get_inline_instances(self, request, obj=None):
        # The creation form asks only for the username and password; the rest comes after.
        return super().get_inline_instances(request, obj) if obj is not None else []

    @admin.display(description=_("full name"), ordering="preference__full_name")
    def full_name(self, obj):
        return display_name(obj)

    def get_readonly_fields(self, request, obj=None):
        readonly = ["last_login", "date_joined"]
        if not request.user.is_superuser:
            readonly.append("is_superuser")  # an administrator cannot make anyone a superuser
        return readonly

    @admin.display(description=_("roles"))
    def roles(self, obj):
        return ", ".join(str(assignment) for assignment in obj.role_assignments.all())
