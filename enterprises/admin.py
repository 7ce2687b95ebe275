"""Django admin for localities, enterprises, mass organisations and their membership returns.

Permissions, service forms and actions come from ``branches.admin`` (one place for the rules).
"""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import (
    ActiveFilter,
    AdministratorOnlyMixin,
    PartyModelAdmin,
    ServiceForm,
    ServiceInlineFormSet,
    TreeLevelFilter,
    VersionedServiceForm,
    date_field,
    indented,
    run_action,
)
from core.widgets import use_picker
from enterprises import services
from enterprises.forms import locality_picker
from enterprises.models import Enterprise, Locality, MassOrganization, MembershipReturn

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


class MoveLocalityForm(forms.Form):
    new_parent = forms.ModelChoiceField(label=_("new parent"), queryset=Locality.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_parent"].queryset = Locality.objects.all()
        use_picker(self.fields["new_parent"], locality_picker("admin"))


@admin.register(Locality)
class LocalityAdmin(PartyModelAdmin):
    form = LocalityChangeForm
    add_form = LocalityAddForm
    list_display = ["tree_name", "code", "kind"]
    list_filter = ["kind", TreeLevelFilter]
    search_fields = ["code", "search_name"]
    ordering = ["path"]
    actions = ["move_localities"]

    @admin.display(description=_("name"), ordering="path")
    def tree_name(self, obj):
        return indented(obj, obj.name)

    @admin.display(description=_("parent"))
    def parent_locality(self, obj):
        return type(obj).objects.get_parent(obj) or "—"

    def get_readonly_fields(self, request, obj=None):
        return ["parent_locality"] if obj is not None else []

    @admin.action(description=_("Move under another locality"), permissions=["change"])
    def move_localities(self, request, queryset):
        return run_action(
            self,
            request,
            queryset,
            form_class=MoveLocalityForm,
            title=_("Move under another locality"),
            apply_one=lambda user, locality, data: services.move_locality(user, locality, data["new_parent"]),
            done_message=lambda n: ngettext("%(n)d locality moved.", "%(n)d localities moved.", n) % {"n": n},
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
