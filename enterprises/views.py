"""Pages of enterprises, mass organisations and their membership returns (the generic scoped views)."""

from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext_lazy
from django.views.generic import DetailView, TemplateView

from branches.forms import AsOfForm
from branches.models import Organization
from core.dates import today
from core.scoping import scope_for
from core.views import (
    AutocompleteView,
    ObjectActionView,
    ObjectCreateView,
    ObjectDetailView,
    ObjectListView,
    ScopedViewMixin,
    history_entries,
    reverse_or_none,
)
from enterprises import services
from enterprises.filtersets import EnterpriseFilterSet, MassOrganizationFilterSet
from enterprises.forms import (
    ENTERPRISE_CHOICE_SETS,
    LOCALITY_CHOICE_SETS,
    EnterpriseForm,
    MassOrganizationCreateForm,
    MassOrganizationDissolveForm,
    MassOrganizationEditForm,
    MembershipReturnCorrectForm,
    MembershipReturnForm,
)
from enterprises.models import Enterprise, Locality, MassOrganization, MembershipReturn
from enterprises.structure import locality_timeline, locality_tree_as_of
from enterprises.tables import EnterpriseTable, MassOrganizationTable

# Enterprises ------------------------------------------------------------------------------


def with_latest_return(queryset):
    """Mass organisations with the figures of their latest membership return."""
    latest = MembershipReturn.objects.filter(mass_organization=OuterRef("pk")).order_by("-date")
    return queryset.annotate(
        latest_total=Subquery(latest.values("members_total")[:1]),
        latest_admitted=Subquery(latest.values("members_admitted")[:1]),
        latest_date=Subquery(latest.values("date")[:1]),
    )


class EnterpriseListView(ObjectListView):
    export_kind = "enterprises"
    model = Enterprise
    related = ("locality", "managing_committee")
    only = (
        *("name", "tax_code", "ownership", "size_class", "employees", "operating_status"),
        *("locality__name", "managing_committee__name", "managing_committee__code"),
    )
    table_class = EnterpriseTable
    filterset_class = EnterpriseFilterSet
    add_url_name = "enterprises:enterprise_add"


class EnterpriseDetailView(ObjectDetailView):
    model = Enterprise
    related = ("locality", "managing_committee", "recorded_by")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        enterprise = self.object
        context["organizations"] = Organization.objects.visible_to(user).filter(enterprise=enterprise)
        context["mass_organizations"] = with_latest_return(
            MassOrganization.objects.visible_to(user).filter(enterprise=enterprise)
        )
        context["members_here"] = enterprise.members.filter(pk__in=_visible_member_ids(user)).count()
        context["committee_periods"] = list(enterprise.committee_periods.select_related("committee").order_by("id"))
        context["locality_periods"] = list(enterprise.locality_periods.select_related("locality").order_by("id"))
        history = enterprise.history.all()
        committees = {
            o.pk: str(o)
            for o in Organization.objects.visible_to(user).filter(
                pk__in=[pk for row in history.values_list("managing_committee_id", "recorded_by_id") for pk in row]
            )
        }
        localities = {
            loc.pk: str(loc)
            for loc in Locality.objects.visible_to(user).filter(pk__in=history.values_list("locality_id", flat=True))
        }
        context["history"] = history_entries(
            enterprise,
            {"managing_committee": committees, "recorded_by": committees, "locality": localities},
            user=user,
        )
        return context


def _visible_member_ids(user):
    from branches.models import Member

    return Member.objects.visible_to(user).active().values("pk")


class EnterpriseActionMixin:
    model = Enterprise


class EnterpriseCreateView(ObjectCreateView):
    form_class = EnterpriseForm
    title = gettext_lazy("Record an enterprise")
    success_message = gettext_lazy("%(object)s was recorded.")

    def perform(self, form):
        return services.create_enterprise(self.request.user, **form.values())


class EnterpriseEditView(EnterpriseActionMixin, ObjectActionView):
    form_class = EnterpriseForm
    model_form = True
    title = gettext_lazy("Edit enterprise")
    success_message = gettext_lazy("%(object)s was saved.")

    def perform(self, form):
        return services.update_enterprise(self.request.user, self.object, **form.values())


# Localities -------------------------------------------------------------------------------


class LocalityTreeView(ScopedViewMixin, TemplateView):
    """The localities, indented, in pages, as they stand today or as of ``?as_of=`` (names and
    parents of that date: the provinces and communes merged, the districts abolished). Localities
    are public geography: every signed-in user reads them; administrators change them in the admin."""

    model = Locality
    template_name = "enterprises/locality_tree.html"
    paginate_by = 200

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        as_of_form = AsOfForm(self.request.GET or None)
        as_of = as_of_form.date()
        is_past = as_of < today()
        context.update(as_of_form=as_of_form, as_of=as_of, is_past=is_past)
        if is_past:
            nodes = locality_tree_as_of(self.get_queryset(), as_of)
            page = Paginator(nodes, self.paginate_by).get_page(self.request.GET.get("page"))
            localities = []
            for node in page.object_list:
                locality = node.locality
                locality.name = node.name
                locality.indent = min(node.depth, 10)
                localities.append(locality)
            context.update(localities=localities, page_obj=page, is_administrator=False)
            return context
        page = Paginator(self.get_queryset().order_by("path"), self.paginate_by).get_page(self.request.GET.get("page"))
        is_administrator = scope_for(self.request.user).administers
        change_url = reverse_or_none("admin:enterprises_locality_change", 0) if is_administrator else None
        for locality in page.object_list:
            locality.indent = min(locality.depth, 10)
            if change_url:
                locality.admin_url = change_url.replace("/0/", f"/{locality.pk}/")
        context.update(localities=page.object_list, page_obj=page, is_administrator=is_administrator)
        return context


class LocalityDetailView(ScopedViewMixin, DetailView):
    """A locality: where it sits and its names and parents through time (merges, abolished
    districts, with their decisions), the localities below it today and how many enterprises
    are located in it. Public geography, like the tree."""

    model = Locality
    template_name = "enterprises/locality_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        locality = self.object
        context.update(
            timeline=locality_timeline(locality),
            parent=Locality.objects.get_parent(locality),
            children=list(Locality.objects.filter(path__startswith=locality.path, depth=locality.depth + 1)),
            enterprises=Enterprise.objects.visible_to(self.request.user).filter(locality=locality).count(),
            ancestors=list(locality.get_ancestors()),
        )
        return context


# Mass organisations -----------------------------------------------------------------------


class MassOrganizationListView(ObjectListView):
    export_kind = "mass_organizations"
    model = MassOrganization
    related = ("enterprise",)
    table_class = MassOrganizationTable
    filterset_class = MassOrganizationFilterSet
    add_url_name = "enterprises:massorganization_add"

    def get_queryset(self):
        return with_latest_return(super().get_queryset())


class MassOrganizationDetailView(ObjectDetailView):
    model = MassOrganization
    related = ("enterprise",)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["returns"] = self.object.returns.order_by("-date")
        context["history"] = history_entries(
            self.object,
            {"enterprise": {self.object.enterprise_id: str(self.object.enterprise)}},
            user=self.request.user,
        )
        return context


class MassOrganizationActionMixin:
    model = MassOrganization

    def get_queryset(self):
        return MassOrganization.objects.visible_to(self.request.user).select_related("enterprise")


class MassOrganizationCreateView(ObjectCreateView):
    form_class = MassOrganizationCreateForm
    title = gettext_lazy("Establish a mass organisation")
    success_message = gettext_lazy("%(object)s was established with its founding return.")

    def get_initial(self):
        return {"enterprise": self.request.GET.get("enterprise")}

    def perform(self, form):
        return services.establish_mass_organization(self.request.user, **form.values())


class MassOrganizationEditView(MassOrganizationActionMixin, ObjectActionView):
    form_class = MassOrganizationEditForm
    model_form = True
    title = gettext_lazy("Edit mass organisation")
    success_message = gettext_lazy("%(object)s was saved.")

    def perform(self, form):
        return services.update_mass_organization(self.request.user, self.object, **form.values())


class MembershipReturnCreateView(MassOrganizationActionMixin, ObjectActionView):
    form_class = MembershipReturnForm
    object_kwarg = "mass_organization"
    title = gettext_lazy("Record a membership return")
    versioned = False  # a return is a new row; the date is unique per mass organisation
    success_message = gettext_lazy("The return was recorded.")

    def perform(self, form):
        services.record_membership_return(self.request.user, self.object, **form.cleaned_data)
        return self.object


class MembershipReturnCorrectView(ObjectActionView):
    """Correct a return recorded by mistake (with the reason, kept in the history)."""

    model = MembershipReturn
    form_class = MembershipReturnCorrectForm
    object_kwarg = "membership_return"
    title = gettext_lazy("Correct a membership return")
    versioned = False
    success_message = gettext_lazy("The return was corrected.")

    def get_queryset(self):
        return MembershipReturn.objects.visible_to(self.request.user).select_related("mass_organization__enterprise")

    def perform(self, form):
        return services.correct_membership_return(self.request.user, self.object, **form.cleaned_data)

    def get_success_url(self):
        return self.result.mass_organization.get_absolute_url()

    def get_cancel_url(self):
        return self.object.mass_organization.get_absolute_url()


class MassOrganizationDissolveView(MassOrganizationActionMixin, ObjectActionView):
    form_class = MassOrganizationDissolveForm
    object_kwarg = "mass_organization"
    title = gettext_lazy("Dissolve mass organisation")
    success_message = gettext_lazy("%(object)s was recorded as dissolved.")
    submit_label = gettext_lazy("Confirm the dissolution")
    destructive = True
    warning = gettext_lazy("A dissolved organisation takes no more membership returns.")

    def perform(self, form):
        return services.dissolve_mass_organization(
            self.request.user,
            self.object,
            on=form.cleaned_data["dissolved_on"],
            expected_version=self.expected_version(form),
        )


class EnterpriseAutocompleteView(AutocompleteView):
    """Enterprises for the pickers, by name without marks or by the start of the tax code."""

    choice_sets = ENTERPRISE_CHOICE_SETS
    prefix_fields = ("tax_code",)
    value_fields = ("pk", "tax_code")


class LocalityAutocompleteView(AutocompleteView):
    """Localities for the pickers, by name without marks or by official code."""

    choice_sets = LOCALITY_CHOICE_SETS
    search_fields = ("code",)
    ordering = ("path",)
