"""Pages of organisations, members and prospects, and the generic scoped views every app reuses.

The generic views below only name a queryset, a table, a filterset and a form (NetBox style).
Rows always come from ``Model.objects.visible_to(user)`` (outsiders get 404); a write first
asks ``editable_by(user)`` (read-only roles get 403), then calls one service function, whose
``ValidationError`` becomes form errors and whose ``PermissionDenied`` becomes a 403.
"""

import datetime
from html import escape

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Subquery
from django.forms.utils import flatatt
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.generic import DetailView, FormView, TemplateView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from branches import services
from branches.base import MASKED_FIELDS, mask_citizen_id
from branches.choices import OPEN_PROSPECT_STAGES, MemberStatus, ProspectStage, RoleKey
from branches.filtersets import MemberFilterSet, OrganizationFilterSet, ProspectFilterSet
from branches.forms import (
    LeavingForm,
    MemberAdmitForm,
    MemberEditForm,
    ProspectAdmitForm,
    ProspectForm,
    ProspectWithdrawForm,
    RecognizeOfficialForm,
    TransferForm,
    apply_service_errors,
)
from branches.middleware import ACTIVE_ROLE_SESSION_KEY
from branches.models import Member, Organization, Prospect, RoleAssignment
from branches.pagination import EstimatedCountPaginator
from branches.scoping import scope_for
from branches.tables import MemberTable, OrganizationTable, ProspectTable
from enterprises.models import Enterprise, MassOrganization, MembershipReturn, enterprise_scope_q

# Generic scoped views ---------------------------------------------------------------------


def top_depth(user):
    """The tree depth of the highest organisation the user sees (indentation starts there)."""
    scope = scope_for(user)
    if scope.everything or not scope.read_paths:
        return 1
    return min(len(path) // Organization.steplen for path in scope.read_paths)


def can_write_anything(user):
    """Whether the user holds any write scope (secretaries and administrators)."""
    scope = scope_for(user)
    return scope.everything or bool(scope.write_paths)


class ScopedViewMixin(LoginRequiredMixin):
    """Rows of ``model`` visible to the user, with what the page shows joined in."""

    model = None
    related = ()
    prefetch = ()

    def get_queryset(self):
        queryset = self.model.objects.visible_to(self.request.user)
        if self.related:
            queryset = queryset.select_related(*self.related)
        if self.prefetch:
            queryset = queryset.prefetch_related(*self.prefetch)
        return queryset

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("model_meta", self.model._meta)
        return context


class QuickSelect(forms.Select):
    """A select whose options are written in Python, not through one template (nor one context
    dict) per option.

    The same HTML as Django's ``Select`` (one option selected at most); Django's per-option
    templates took about 0.4 s for the 3,400 localities of the enterprise filter at national size.
    """

    def render(self, name, value, attrs=None, renderer=None):
        selected = set(self.format_value(value))
        parts = [format_html('<select name="{}"{}>', name, flatatt(self.build_attrs(self.attrs, attrs)))]

        chosen = []

        def option(option_value, label):
            text = "" if option_value is None else str(option_value)
            mark = ""
            if text in selected and (self.allow_multiple_selected or not chosen):
                chosen.append(text)
                mark = " selected"
            return f'<option value="{escape(text)}"{mark}>{escape(str(label))}</option>'

        for option_value, label in self.choices:
            if isinstance(label, list | tuple):  # an option group
                parts.append(format_html('<optgroup label="{}">', option_value))
                parts.extend(option(value_in_group, label_in_group) for value_in_group, label_in_group in label)
                parts.append("</optgroup>")
            else:
                parts.append(option(option_value, label))
        parts.append("</select>")
        return mark_safe("".join(parts))  # noqa: S308 (values and labels escaped above)


def _rows_as_choices(field, label):
    """A model choice field's options read as ``(pk, label)`` rows, without a model instance per
    option (3,400 localities: about half of the enterprise list's time at national size)."""
    choices = [("", field.empty_label)] if field.empty_label is not None else []
    if getattr(field, "null_label", None) is not None:  # django-filter's "none" option
        choices.append((field.null_value, field.null_label))
    return choices + list(field.queryset.values_list("pk", label))


class ObjectListView(ScopedViewMixin, SingleTableMixin, FilterView):
    """A sortable, paginated, filterable table of the rows visible to the user."""

    template_name = "includes/object_list.html"
    paginate_by = 25
    #: No exact COUNT(*) over large lists: bounded count, then PostgreSQL's estimate (issue 7).
    paginator_class = EstimatedCountPaginator
    add_url_name = None
    title = None

    #: Foreign keys with thousands of rows are filtered by a typed code, not a list of every row.
    typed_filter_keys = {"branches.organization": "code", "enterprises.enterprise": "tax_code"}

    def get_filterset(self, filterset_class):
        filterset = super().get_filterset(filterset_class)
        for field in filterset.form.fields.values():
            queryset = getattr(field, "queryset", None)
            key = self.typed_filter_keys.get(queryset.model._meta.label_lower) if queryset is not None else None
            if key:
                field.to_field_name = key
                field.widget = forms.TextInput(attrs={"placeholder": queryset.model._meta.get_field(key).verbose_name})
            elif type(field.widget) is forms.Select:
                quick = QuickSelect(attrs=field.widget.attrs)
                label = getattr(queryset.model, "choice_label_field", None) if queryset is not None else None
                quick.choices = _rows_as_choices(field, label) if label else field.widget.choices
                field.widget = quick
        return filterset

    def get_table_kwargs(self):
        # No ``request=`` here: a table given the request paginates itself at once with Django's
        # plain Paginator (an exact COUNT(*)); get_table() configures it, once, with ours.
        return {}

    def get_paginate_by(self, queryset):
        """None: the table paginates (once); the ListView side does not paginate the queryset again."""
        return None

    def get_table_pagination(self, table):
        return {"per_page": self.paginate_by, "paginator_class": self.paginator_class}

    def can_add(self):
        return bool(self.add_url_name) and can_write_anything(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = self.title or self.model._meta.verbose_name_plural
        context["add_url"] = reverse(self.add_url_name) if self.can_add() else None
        context["export_urls"] = self.export_urls()
        return context

    export_kind = None  # the kind of branches.exports (mounted as io:export) that downloads this list

    def export_urls(self):
        """Download links carrying the list's filters (typed codes turned back into the ids the export reads)."""
        base = _reverse_or_none("io:export")
        if not base or not self.export_kind:
            return []
        params = self.request.GET.copy()
        for key in ("page", "sort"):
            params.pop(key, None)
        form = self.filterset.form
        for name, field in form.fields.items():
            if getattr(field, "to_field_name", None) and name in params:
                value = form.cleaned_data.get(name) if form.is_valid() else None
                params[name] = value.pk if value is not None else ""
        urls = []
        for file_format, label in (("xlsx", ".xlsx"), ("csv", ".csv")):
            query = params.copy()
            query["kind"] = self.export_kind
            query["format"] = file_format
            urls.append((label, f"{base}?{query.urlencode()}"))
        return urls


class ObjectDetailView(ScopedViewMixin, DetailView):
    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_edit"] = self.model.objects.editable_by(self.request.user).filter(pk=self.object.pk).exists()
        return context


class ServiceFormView(LoginRequiredMixin, FormView):
    """A form whose valid data goes to one service function.

    Subclasses set ``form_class``, ``title`` and ``success_message`` and implement
    :meth:`perform` (call the service, return the object to go to); success goes to that object's page.
    """

    template_name = "includes/object_form.html"
    title = ""
    success_message = ""
    submit_label = gettext_lazy("Save")
    destructive = False
    warning = ""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.check_access()
        return super().dispatch(request, *args, **kwargs)

    def check_access(self):
        """Raise Http404 or PermissionDenied before anything is shown or done."""

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["user"] = self.request.user
        return kwargs

    def perform(self, form):
        raise NotImplementedError

    def form_valid(self, form):
        try:
            self.result = self.perform(form)
        except ValidationError as error:
            apply_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, self.get_success_message())
        return HttpResponseRedirect(self.get_success_url())

    def get_success_message(self):
        return str(self.success_message) % {"object": self.result}

    def get_success_url(self):
        return self.result.get_absolute_url()

    def get_cancel_url(self):
        referer = self.request.META.get("HTTP_REFERER")
        if referer and url_has_allowed_host_and_scheme(
            referer, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()
        ):
            return referer
        return reverse("home")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title=self.get_title(),
            submit_label=self.submit_label,
            destructive=self.destructive,
            warning=self.warning,
            cancel_url=self.get_cancel_url(),
            object=getattr(self, "object", None),
        )
        return context

    def get_title(self):
        return self.title


class ObjectCreateView(ServiceFormView):
    """Create a row: any user with a write scope may open it; the service and form choices scope it."""

    def check_access(self):
        if not can_write_anything(self.request.user):
            raise PermissionDenied(_("Your role only reads these records."))


class ObjectActionView(ServiceFormView):
    """Change one row: 404 if the user cannot see it, 403 if they may only read it."""

    model = None
    object_kwarg = None  # the name under which forms.Form subclasses receive the object
    model_form = False  # ModelForms receive it as ``instance``

    def check_access(self):
        self.object = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        if not self.model.objects.editable_by(self.request.user).filter(pk=self.object.pk).exists():
            raise PermissionDenied(_("Your role only reads this record."))

    def get_queryset(self):
        return self.model.objects.visible_to(self.request.user)

    #: Whether the service takes ``expected_version`` (optimistic locking): the form then carries the
    #: version it was built from, and a save over someone else's newer change is refused.
    versioned = True

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        if self.versioned and hasattr(self.object, "version"):
            form.fields["expected_version"] = forms.IntegerField(
                widget=forms.HiddenInput, required=False, initial=self.object.version
            )
        return form

    def expected_version(self, form):
        return form.cleaned_data.get("expected_version") if self.versioned else None

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        if self.model_form:
            kwargs["instance"] = self.object
        elif self.object_kwarg:
            kwargs[self.object_kwarg] = self.object
        return kwargs

    def get_title(self):
        return f"{self.title}: {self.object}"

    def get_cancel_url(self):
        return self.object.get_absolute_url()


def history_entries(obj, labels=None, *, user):
    """The change history of ``obj``: who, when, and which fields changed from what to what.

    ``labels`` maps a foreign-key field name to ``{pk: label}`` for the rows the user may see.
    Citizen IDs are masked unless ``user`` may edit ``obj``, as on the detail page.
    One query (the history rows with their users), diffs computed in memory.
    """
    masked = not may_edit(obj, user)
    labels = labels or {}
    model = type(obj)
    records = list(obj.history.select_related("history_user").order_by("history_date", "history_id"))
    entries = []
    previous = None
    for record in records:
        changes = []
        if previous is not None:
            delta = record.diff_against(previous, excluded_fields=["created", "updated"])
            for change in delta.changes:
                field = model._meta.get_field(change.field)
                changes.append(
                    {
                        "field": field.verbose_name,
                        "old": _display(field, change.old, labels, masked),
                        "new": _display(field, change.new, labels, masked),
                    }
                )
        entries.append(
            {
                "date": record.history_date,
                "user": record.history_user,
                "type": record.history_type,
                "type_label": {"+": _("created"), "~": _("changed"), "-": _("deleted")}.get(record.history_type, ""),
                "reason": record.history_change_reason,
                "changes": changes,
            }
        )
        previous = record
    entries.reverse()
    return entries


def may_edit(obj, user):
    """Whether ``user`` may edit ``obj`` (and so see its citizen ID in full)."""
    if not any(field.name in MASKED_FIELDS for field in type(obj)._meta.concrete_fields):
        return True  # nothing to mask: no query
    return type(obj).objects.editable_by(user).filter(pk=obj.pk).exists()


def _display(field, value, labels, masked=False):
    if value is None or value == "":
        return "—"
    if masked and field.name in MASKED_FIELDS:
        return mask_citizen_id(str(value))
    if field.is_relation:
        return labels.get(field.name, {}).get(value, f"#{value}")
    if field.choices:
        return dict(field.flatchoices).get(value, value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return value


# Sign-in, home and role switch ------------------------------------------------------------


class SignInView(auth_views.LoginView):
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        messages.success(self.request, _("Welcome, %(name)s.") % {"name": user.get_full_name() or user.username})
        return response


class SignOutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, _("You have signed out."))
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password was changed."))
        return response


def _reverse_or_none(name, *args):
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


@login_required
def home(request):
    """Send each role to its home: secretaries to their organisation, department staff to the dashboard."""
    role = request.active_role
    if role and role.role == RoleKey.SECRETARY and role.organization_id:
        return redirect("branches:organization_home", pk=role.organization_id)
    if role and role.role == RoleKey.DEPARTMENT:
        return redirect(_reverse_or_none("reports:dashboard") or reverse("branches:member_list"))
    if scope_for(request.user).everything:
        return redirect("branches:organization_tree")
    return redirect("branches:organization_list")


@require_POST
@login_required
def switch_role(request):
    assignment = get_object_or_404(
        RoleAssignment.objects.filter(user=request.user).select_related("organization"),
        pk=request.POST.get("assignment") or 0,
    )
    request.session[ACTIVE_ROLE_SESSION_KEY] = assignment.pk
    messages.success(request, _("You now work as %(role)s.") % {"role": assignment})
    return redirect("home")


# Organisations ----------------------------------------------------------------------------


class OrganizationListView(ObjectListView):
    export_kind = "organizations"
    model = Organization
    related = ("enterprise",)
    table_class = OrganizationTable
    filterset_class = OrganizationFilterSet
    paginate_by = 50

    def get_table_kwargs(self):
        return {**super().get_table_kwargs(), "top_depth": top_depth(self.request.user)}


class OrganizationTreeView(ScopedViewMixin, TemplateView):
    """The whole visible tree, indented; administrators get links to the admin pages that change it."""

    model = Organization
    template_name = "branches/organization_tree.html"

    paginate_by = 200

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = Paginator(self.get_queryset().order_by("path"), self.paginate_by).get_page(self.request.GET.get("page"))
        top = top_depth(self.request.user)
        is_administrator = scope_for(self.request.user).everything
        # One reverse for the admin's change page, not one per row.
        change_url = _reverse_or_none("admin:branches_organization_change", 0) if is_administrator else None
        for organization in page.object_list:
            organization.indent = min(max(organization.depth - top + 1, 1), 10)
            if change_url:
                organization.admin_url = change_url.replace("/0/", f"/{organization.pk}/")
        context.update(organizations=page.object_list, page_obj=page, is_administrator=is_administrator)
        return context


class OrganizationDetailView(ObjectDetailView):
    model = Organization
    related = ("enterprise", "locality")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        organization = self.object
        visible = Organization.objects.visible_to(self.request.user)
        context["ancestors"] = visible.filter(
            path__in=[organization.path[:end] for end in range(4, len(organization.path), 4)]
        ).order_by("path")
        context["children"] = visible.children_of(organization).select_related("enterprise")
        context["active_members"] = (
            Member.objects.visible_to(self.request.user)
            .active()
            .filter(organization__path__startswith=organization.path)
            .count()
        )
        context["can_edit"] = False  # the tree is changed in the admin by administrators
        context["is_administrator"] = scope_for(self.request.user).everything
        return context


def probationary_due(members, on, within_days=60):
    """Probationary members whose twelve months end within ``within_days`` of ``on`` (or already ended)."""
    horizon = on + datetime.timedelta(days=within_days)
    day = 28 if (horizon.month, horizon.day) == (2, 29) else horizon.day
    latest_admission = horizon.replace(year=horizon.year - 1, day=day)
    due = []
    for member in (
        members.active().filter(official_on__isnull=True, admitted_on__lte=latest_admission).order_by("admitted_on")
    ):
        member.due_on = services.default_official_date(member.admitted_on)
        member.overdue = member.due_on < on
        due.append(member)
    return due


def with_latest_return(queryset):
    latest = MembershipReturn.objects.filter(mass_organization=OuterRef("pk")).order_by("-date")
    return queryset.annotate(
        latest_total=Subquery(latest.values("members_total")[:1]),
        latest_admitted=Subquery(latest.values("members_admitted")[:1]),
        latest_date=Subquery(latest.values("date")[:1]),
    )


class OrganizationHomeView(ScopedViewMixin, DetailView):
    """A secretary's home: the organisation at a glance."""

    model = Organization
    related = ("enterprise__locality", "enterprise__managing_committee", "locality")
    template_name = "branches/organization_home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        organization = self.object
        on = services.today()
        members = Member.objects.visible_to(user).filter(organization__path__startswith=organization.path)
        stages = dict(
            Prospect.objects.visible_to(user)
            .filter(organization__path__startswith=organization.path)
            .values_list("stage")
            .annotate(n=Count("pk"))
            .values_list("stage", "n")
        )
        context.update(
            today=on,
            active_members=members.active().count(),
            business_owners=members.active().filter(is_business_owner=True).count(),
            due=probationary_due(members.select_related("organization"), on),
            prospect_stages=[(stage, stages.get(stage.value, 0)) for stage in ProspectStage],
            open_prospects=sum(stages.get(stage.value, 0) for stage in OPEN_PROSPECT_STAGES),
            mass_organizations=with_latest_return(
                MassOrganization.objects.visible_to(user)
                .filter(enterprise_scope_q((organization.path,), prefix="enterprise__"))
                .select_related("enterprise")
            ).order_by("enterprise__name", "kind"),
            enterprises=Enterprise.objects.visible_to(user)
            .filter(organizations__path__startswith=organization.path)
            .select_related("locality", "managing_committee")
            .distinct()[:10],
            can_write=Organization.objects.editable_by(user).filter(pk=organization.pk).exists(),
        )
        return context


# Members ----------------------------------------------------------------------------------


class MemberListView(ObjectListView):
    export_kind = "members"
    model = Member
    related = ("organization", "enterprise")
    table_class = MemberTable
    filterset_class = MemberFilterSet
    add_url_name = "branches:member_admit"


class MemberDetailView(ObjectDetailView):
    model = Member
    related = ("organization", "enterprise", "admitted_by")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        member = self.object
        user = self.request.user
        context["periods"] = member.periods.select_related("organization").order_by("started_on")
        org_ids = {member.organization_id, member.admitted_by_id}
        ent_ids = {member.enterprise_id}
        records = list(member.history.values_list("organization_id", "admitted_by_id", "enterprise_id"))
        for organization_id, admitted_by_id, enterprise_id in records:
            org_ids.update([organization_id, admitted_by_id])
            ent_ids.add(enterprise_id)
        organizations = {o.pk: str(o) for o in Organization.objects.visible_to(user).filter(pk__in=org_ids - {None})}
        enterprises = {e.pk: str(e) for e in Enterprise.objects.visible_to(user).filter(pk__in=ent_ids - {None})}
        context["history"] = history_entries(
            member,
            {"organization": organizations, "admitted_by": organizations, "enterprise": enterprises},
            user=user,
        )
        context["prospect"] = Prospect.objects.visible_to(user).filter(member=member).first()
        context["is_active"] = member.status == MemberStatus.ACTIVE
        return context


class MemberActionMixin:
    model = Member

    def get_queryset(self):
        return Member.objects.visible_to(self.request.user).select_related("organization")


class MemberAdmitView(ObjectCreateView):
    form_class = MemberAdmitForm
    title = gettext_lazy("Admit a member")
    success_message = gettext_lazy("%(object)s was admitted.")
    submit_label = gettext_lazy("Admit")

    def perform(self, form):
        return services.admit_member(self.request.user, **form.values())


class MemberEditView(MemberActionMixin, ObjectActionView):
    form_class = MemberEditForm
    model_form = True
    title = gettext_lazy("Edit member")
    success_message = gettext_lazy("The record of %(object)s was saved.")

    def perform(self, form):
        return services.update_member(self.request.user, self.object, **form.values())


class MemberRecognizeView(MemberActionMixin, ObjectActionView):
    form_class = RecognizeOfficialForm
    object_kwarg = "member"
    title = gettext_lazy("Recognise as official member")
    success_message = gettext_lazy("%(object)s is now an official member.")
    submit_label = gettext_lazy("Recognise")

    def perform(self, form):
        return services.recognize_official(self.request.user, self.object, **form.cleaned_data)


class MemberTransferView(MemberActionMixin, ObjectActionView):
    form_class = TransferForm
    object_kwarg = "member"
    title = gettext_lazy("Transfer Party activity")
    success_message = gettext_lazy("The Party activity of %(object)s was transferred.")
    submit_label = gettext_lazy("Confirm the transfer")
    destructive = True
    warning = gettext_lazy("After the transfer the member no longer belongs to this organisation.")

    def perform(self, form):
        data = form.cleaned_data
        return services.transfer_member(
            self.request.user,
            self.object,
            on=data["on"],
            to_organization=data["to_organization"],
            expected_version=self.expected_version(form),
        )

    def get_success_url(self):
        # The member may now sit outside the user's scope: go back to the list then.
        if Member.objects.visible_to(self.request.user).filter(pk=self.result.pk).exists():
            return self.result.get_absolute_url()
        return reverse("branches:member_list")


class MemberLeaveView(MemberActionMixin, ObjectActionView):
    form_class = LeavingForm
    object_kwarg = "member"
    title = gettext_lazy("Record leaving the Party")
    success_message = gettext_lazy("%(object)s was recorded as having left the Party.")
    submit_label = gettext_lazy("Confirm")
    destructive = True
    warning = gettext_lazy("This ends the membership. It cannot be undone from this page.")

    def perform(self, form):
        return services.record_leaving(self.request.user, self.object, **form.cleaned_data)


# Prospects --------------------------------------------------------------------------------


class ProspectListView(ObjectListView):
    """The pipeline: open prospects grouped by stage, and the full table below."""

    export_kind = "prospects"

    model = Prospect
    related = ("organization", "enterprise")
    table_class = ProspectTable
    filterset_class = ProspectFilterSet
    add_url_name = "branches:prospect_add"
    template_name = "branches/prospect_list.html"
    title = gettext_lazy("Prospects")
    cards_per_stage = 50

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filtered = self.object_list
        counts = dict(filtered.order_by().values_list("stage").annotate(n=Count("pk")).values_list("stage", "n"))
        context["pipeline"] = [
            (
                ProspectStage(stage),
                list(filtered.filter(stage=stage).order_by("full_name")[: self.cards_per_stage]),
                counts.get(stage, 0),
            )
            for stage in OPEN_PROSPECT_STAGES
        ]
        return context


class ProspectDetailView(ObjectDetailView):
    model = Prospect
    related = ("organization", "enterprise", "member")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["is_open"] = self.object.stage in OPEN_PROSPECT_STAGES
        user = self.request.user
        organizations = {
            o.pk: str(o)
            for o in Organization.objects.visible_to(user).filter(
                pk__in=self.object.history.values_list("organization_id", flat=True)
            )
        }
        enterprises = {
            e.pk: str(e)
            for e in Enterprise.objects.visible_to(user).filter(
                pk__in=self.object.history.values_list("enterprise_id", flat=True)
            )
        }
        context["history"] = history_entries(
            self.object, {"organization": organizations, "enterprise": enterprises, "member": {}}, user=user
        )
        return context


class ProspectActionMixin:
    model = Prospect

    def get_queryset(self):
        return Prospect.objects.visible_to(self.request.user).select_related("organization")


class ProspectCreateView(ObjectCreateView):
    form_class = ProspectForm
    title = gettext_lazy("Add a prospect")
    success_message = gettext_lazy("%(object)s was added to the prospects.")

    def perform(self, form):
        return services.create_prospect(self.request.user, **form.values())


class ProspectEditView(ProspectActionMixin, ObjectActionView):
    form_class = ProspectForm
    model_form = True
    title = gettext_lazy("Edit prospect")
    success_message = gettext_lazy("The record of %(object)s was saved.")

    def perform(self, form):
        return services.update_prospect(self.request.user, self.object, **form.values())


class ProspectWithdrawView(ProspectActionMixin, ObjectActionView):
    form_class = ProspectWithdrawForm
    object_kwarg = "prospect"
    title = gettext_lazy("Withdraw prospect")
    success_message = gettext_lazy("%(object)s was withdrawn from the prospects.")
    submit_label = gettext_lazy("Confirm the withdrawal")
    destructive = True
    warning = gettext_lazy("A withdrawn prospect can no longer be admitted or edited.")

    def perform(self, form):
        return services.withdraw_prospect(
            self.request.user,
            self.object,
            on=form.cleaned_data["closed_on"],
            expected_version=self.expected_version(form),
        )


class ProspectAdmitView(ProspectActionMixin, ObjectActionView):
    form_class = ProspectAdmitForm
    object_kwarg = "prospect"
    title = gettext_lazy("Admit prospect")
    versioned = False  # admit_prospect locks the prospect itself
    success_message = gettext_lazy("%(object)s was admitted to the Party.")
    submit_label = gettext_lazy("Admit")

    def perform(self, form):
        return services.admit_prospect(self.request.user, self.object, **form.cleaned_data)
