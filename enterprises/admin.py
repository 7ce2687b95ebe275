"""Django admin for localities, enterprises, mass organisations and their membership returns.

Permissions, service forms and actions come from ``branches.admin`` (one place for the rules).
"""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from branches.admin import DecisionForm
from core.admin import (
    ActiveFilter,
    AdministratorOnlyMixin,
    PartyModelAdmin,
    ReadOnlyInline,
    ServiceForm,
    ServiceInlineFormSet,
    TreeLevelFilter,
    VersionedServiceForm,
    date_field,
    indented,
    run_action,
    run_tree_action,
)
from core.widgets import use_picker
from enterprises import services
from enterprises.forms import locality_picker
from enterprises.models import Enterprise, Locality, LocalityVersion, MassOrganization, MembershipReturn

# Localities -------------------------------------------------------------------------------


class LocalityAddForm(ServiceForm):
    parent = forms.ModelChoiceField(
        label=_("parent"), queryset=Locality.objects.none(), required=False, help_text=_("Empty for a province.")
    )

    class Meta:
        model = Locality
        fields = ["code", "name", "kind", "parent"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = Locality.objects.all()
        use_picker(self.fields["parent"], locality_picker("admin"))

    def apply(self, data):
        return services.create_locality(
            self.acting_user, code=data["code"], name=data["name"], kind=data["kind"], parent=data.get("parent")
        )


class LocalityChangeForm(ServiceForm):
    class Meta:
        model = Locality
        fields = ["code", "name", "kind"]

    def apply(self, data):
        return services.update_locality(self.acting_user, self.instance, **self.changes(data, ["code", "name", "kind"]))


class MoveLocalityForm(DecisionForm):
    new_parent = forms.ModelChoiceField(label=_("new parent"), queryset=Locality.objects.none())
    service_fields = {"parent": "new_parent"}
    field_order = ["new_parent", "on", "decision_number", "decision_date"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_parent"].queryset = Locality.objects.current()
        use_picker(self.fields["new_parent"], locality_picker("admin"))


class RenameLocalityForm(DecisionForm):
    name = forms.CharField(label=_("new name"), max_length=200)
    field_order = ["name", "on", "decision_number", "decision_date"]


class MergeLocalitiesForm(DecisionForm):
    into = forms.ModelChoiceField(
        label=_("merged into"),
        queryset=Locality.objects.none(),
        help_text=_("The successor, of the same level; add it first when it is new."),
    )
    service_fields = {"sources": None}
    field_order = ["into", "on", "decision_number", "decision_date"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["into"].queryset = Locality.objects.current()
        use_picker(self.fields["into"], locality_picker("admin"))


class AbolishLocalityForm(DecisionForm):
    service_fields = {"locality": None}


class LocalityVersionInline(ReadOnlyInline):
    """A locality's dated states: they change only through the restructuring actions."""

    model = LocalityVersion
    fk_name = "locality"
    fields = ["valid_from", "valid_to", "parent", "name", "change", "decision_number", "decision_date", "end_change"]
    readonly_fields = fields
    ordering = ["valid_from"]
    verbose_name_plural = _("parents and names over time")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("parent")


@admin.register(Locality)
class LocalityAdmin(PartyModelAdmin):
    form = LocalityChangeForm
    add_form = LocalityAddForm
    list_display = ["tree_name", "code", "kind", "ended_on"]
    list_filter = ["kind", TreeLevelFilter]
    search_fields = ["code", "search_name"]
    ordering = ["path"]
    actions = ["move_localities", "rename_locality", "merge_localities", "abolish_districts"]
    inlines = [LocalityVersionInline]

    def get_inline_instances(self, request, obj=None):
        return super().get_inline_instances(request, obj) if obj is not None else []

    @admin.display(description=_("name"), ordering="path")
    def tree_name(self, obj):
        return indented(obj, obj.name)

    @admin.display(description=_("parent"))
    def parent_locality(self, obj):
        return type(obj).objects.get_parent(obj) or "—"

    def get_readonly_fields(self, request, obj=None):
        return ["parent_locality", "ended_on"] if obj is not None else []

    @admin.action(description=_("Move under another locality, from a date"), permissions=["change"])
    def move_localities(self, request, queryset):
        return run_locality_restructuring(
            self,
            request,
            queryset,
            form_class=MoveLocalityForm,
            title=_("Move under another locality, from a date"),
            apply=lambda user, localities, form: [
                services.move_locality(user, locality, form.cleaned_data["new_parent"], **form.decision())
                for locality in localities
            ],
            done_message=lambda n: ngettext("%(n)d locality moved.", "%(n)d localities moved.", n) % {"n": n},
        )

    @admin.action(description=_("Rename, from a date"), permissions=["change"])
    def rename_locality(self, request, queryset):
        return run_locality_restructuring(
            self,
            request,
            queryset,
            form_class=RenameLocalityForm,
            title=_("Rename, from a date"),
            apply=lambda user, localities, form: [
                services.rename_locality(user, locality, name=form.cleaned_data["name"], **form.decision())
                for locality in localities
            ],
            done_message=lambda n: ngettext("%(n)d locality renamed.", "%(n)d localities renamed.", n) % {"n": n},
            exactly_one=True,
        )

    @admin.action(description=_("Merge into another locality"), permissions=["change"])
    def merge_localities(self, request, queryset):
        return run_locality_restructuring(
            self,
            request,
            queryset,
            form_class=MergeLocalitiesForm,
            title=_("Merge into another locality"),
            apply=lambda user, localities, form: services.merge_localities(
                user, list(localities), form.cleaned_data["into"], **form.decision()
            ),
            done_message=lambda n: ngettext("%(n)d locality merged.", "%(n)d localities merged.", n) % {"n": n},
        )

    @admin.action(description=_("Abolish the district (its communes move up)"), permissions=["change"])
    def abolish_districts(self, request, queryset):
        return run_locality_restructuring(
            self,
            request,
            queryset,
            form_class=AbolishLocalityForm,
            title=_("Abolish the district (its communes move up)"),
            apply=lambda user, localities, form: [
                services.abolish_locality(user, locality, **form.decision()) for locality in localities
            ],
            done_message=lambda n: ngettext("%(n)d district abolished.", "%(n)d districts abolished.", n) % {"n": n},
        )


def locality_affected_by(localities):
    """What a restructuring of ``localities`` reaches: for each, the localities in force directly
    below it and the enterprises located in it (two queries per locality: an administrator
    selects a handful)."""
    return [
        (
            locality,
            Locality.objects.current().filter(path__startswith=locality.path, depth=locality.depth + 1).count(),
            Enterprise.objects.filter(locality=locality).count(),
        )
        for locality in localities
    ]


def run_locality_restructuring(
    modeladmin, request, queryset, *, form_class, title, apply, done_message, exactly_one=False
):
    """An admin action over the locality tree (``core.admin.run_tree_action``), previewing the
    localities below and the enterprises located in each selected locality."""
    return run_tree_action(
        modeladmin,
        request,
        queryset,
        form_class=form_class,
        title=title,
        apply=apply,
        done_message=done_message,
        preview=lambda localities: {"locality_affected": locality_affected_by(localities)},
        only_one=_("Choose exactly one locality for this action.") if exactly_one else None,
    )


# Enterprises ------------------------------------------------------------------------------


class EnterpriseForm(VersionedServiceForm):
    """``create_enterprise`` / ``update_enterprise``: tax code, managing committee rules."""

    class Meta:
        model = Enterprise
        fields = list(services.ENTERPRISE_FIELDS)

    def apply(self, data):
        if self.instance.pk is None:
            return services.create_enterprise(
                self.acting_user, **{field: data.get(field) for field in services.ENTERPRISE_FIELDS}
            )
        return services.update_enterprise(
            self.acting_user,
            self.instance,
            **self.version_kwargs(data),
            **self.changes(data, services.ENTERPRISE_FIELDS),
        )


@admin.register(Enterprise)
class EnterpriseAdmin(PartyModelAdmin):
    form = EnterpriseForm
    list_display = [
        "name",
        "tax_code",
        "ownership",
        "size_class",
        "employees",
        "operating_status",
        "locality",
        "managing_committee",
    ]
    list_select_related = ["locality", "managing_committee"]
    list_filter = ["ownership", "size_class", "operating_status"]
    search_fields = ["search_name", "tax_code", "industrial_park", "address", "managing_committee__code"]
    autocomplete_fields = ["locality", "managing_committee"]
    readonly_fields = ["recorded_by", "version"]


# Mass organisations and returns -----------------------------------------------------------


class MassOrganizationAddForm(ServiceForm):
    """Founding: ``establish_mass_organization`` writes the founding return too."""

    founding_members = forms.IntegerField(label=_("founding members"), min_value=1)

    class Meta:
        model = MassOrganization
        fields = ["enterprise", "kind", "name", "established_on", "founding_members"]

    def apply(self, data):
        return services.establish_mass_organization(
            self.acting_user,
            enterprise=data["enterprise"],
            kind=data["kind"],
            name=data["name"],
            established_on=data["established_on"],
            founding_members=data["founding_members"],
        )


class MassOrganizationChangeForm(VersionedServiceForm):
    class Meta:
        model = MassOrganization
        fields = ["name", "kind"]

    def apply(self, data):
        return services.update_mass_organization(
            self.acting_user, self.instance, **self.version_kwargs(data), **self.changes(data, ["name", "kind"])
        )


class MembershipReturnForm(ServiceForm):
    """A new return: ``record_membership_return``. Recorded returns are not edited."""

    class Meta:
        model = MembershipReturn
        fields = ["mass_organization", "date", "members_total", "members_admitted"]

    def apply(self, data):
        mass_organization = data.get("mass_organization") or MassOrganization.objects.get(
            pk=self.instance.mass_organization_id
        )
        return services.record_membership_return(
            self.acting_user,
            mass_organization,
            date=data["date"],
            members_total=data["members_total"],
            members_admitted=data["members_admitted"],
        )


class MembershipReturnInline(AdministratorOnlyMixin, admin.TabularInline):
    model = MembershipReturn
    form = MembershipReturnForm
    formset = ServiceInlineFormSet
    fields = ["date", "members_total", "members_admitted", "is_founding"]
    readonly_fields = ["is_founding"]
    ordering = ["date"]
    allow_change = False
    extra = 1


class DissolveMassOrganizationForm(forms.Form):
    on = date_field(_("dissolved on"))


@admin.register(MassOrganization)
class MassOrganizationAdmin(PartyModelAdmin):
    form = MassOrganizationChangeForm
    add_form = MassOrganizationAddForm
    list_display = ["name", "kind", "enterprise", "established_on", "dissolved_on"]
    list_select_related = ["enterprise"]
    list_filter = ["kind", ActiveFilter]
    search_fields = ["search_name", "enterprise__search_name", "enterprise__tax_code"]
    date_hierarchy = "established_on"
    autocomplete_fields = ["enterprise"]
    inlines = [MembershipReturnInline]
    actions = ["dissolve"]

    def get_readonly_fields(self, request, obj=None):
        return ["enterprise", "established_on", "dissolved_on", "version"] if obj is not None else []

    @admin.action(description=_("Dissolve"), permissions=["change"])
    def dissolve(self, request, queryset):
        return run_action(
            self,
            request,
            queryset.select_related("enterprise"),
            form_class=DissolveMassOrganizationForm,
            title=_("Dissolve"),
            apply_one=lambda user, mass_org, data: services.dissolve_mass_organization(user, mass_org, on=data["on"]),
            done_message=lambda n: (
                ngettext("%(n)d mass organisation dissolved.", "%(n)d mass organisations dissolved.", n) % {"n": n}
            ),
        )


@admin.register(MembershipReturn)
class MembershipReturnAdmin(PartyModelAdmin):
    form = MembershipReturnForm
    allow_change = False
    list_display = ["mass_organization", "enterprise", "date", "members_total", "members_admitted", "is_founding"]
    list_select_related = ["mass_organization__enterprise"]
    list_filter = ["is_founding", "mass_organization__kind"]
    search_fields = ["mass_organization__search_name", "mass_organization__enterprise__search_name"]
    date_hierarchy = "date"
    autocomplete_fields = ["mass_organization"]

    @admin.display(description=_("enterprise"))
    def enterprise(self, obj):
        return obj.mass_organization.enterprise
