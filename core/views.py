"""Generic scoped views every app reuses: list, detail, create and action views that name a queryset, a
table, a filterset and a form (NetBox style).

Rows always come from ``Model.objects.visible_to(user)`` (outsiders get 404); a write first asks
``editable_by(user)`` (read-only roles get 403), then calls one service function, whose
``ValidationError`` becomes form errors and whose ``PermissionDenied`` becomes a 403.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import DetailView, FormView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin
from simple_history.utils import get_app_model_primary_key_name

from core.filtersets import search_names
from core.forms import apply_service_errors
from core.models import MASKED_FIELDS, derived_field_names, follows_scope, mask_citizen_id
from core.pagination import EstimatedCountPaginator
from core.prepared import PreparedQuery
from core.renderers import QuickSelect
from core.scoping import scope_for, tree_model
from core.widgets import Autocomplete, use_picker

# Generic scoped views ---------------------------------------------------------------------


def reverse_or_none(name, *args):
    """The URL of ``name``, or ``None`` when no such URL is installed."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def top_depth(user):
    """The tree depth of the highest organisation the user sees (indentation starts there)."""
    scope = scope_for(user)
    if scope.everything or not scope.read_paths:
        return 1
    return min(len(path) // tree_model().steplen for path in scope.read_paths)


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

    #: Foreign keys with thousands of rows are filtered through a picker (its endpoint and the
    #: value the URL carries: ``?organization=HN-CG`` as before), not a list of every row.
    picker_filters = {
        "branches.organization": ("branches:organization_autocomplete", "code"),
        "enterprises.enterprise": ("enterprises:enterprise_autocomplete", "tax_code"),
        "enterprises.locality": ("enterprises:locality_autocomplete", None),
    }

    #: The fields the table shows (``QuerySet.only``; relations as ``"organization__name"``): a page
    #: of wide rows reads and converts only these. Empty: every field.
    only = ()

    def get_queryset(self):
        queryset = super().get_queryset()
        return queryset.only(*self.only) if self.only else queryset

    def get_filterset(self, filterset_class):
        filterset = super().get_filterset(filterset_class)
        for field in filterset.form.fields.values():
            queryset = getattr(field, "queryset", None)
            picker = self.picker_filters.get(queryset.model._meta.label_lower) if queryset is not None else None
            if picker:
                url_name, key = picker
                if key:
                    field.to_field_name = key
                use_picker(field, Autocomplete(url_name, value_field=key or "pk"))
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
        return bool(self.add_url_name) and scope_for(self.request.user).may_write

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = self.title or self.model._meta.verbose_name_plural
        context["add_url"] = reverse(self.add_url_name) if self.can_add() else None
        context["export_urls"] = self.export_urls()
        return context

    export_kind = None  # the kind of dataio.exports (mounted as io:export) that downloads this list

    def export_urls(self):
        """Download links carrying the list's filters (typed codes turned back into the ids the export reads)."""
        base = reverse_or_none("io:export")
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


#: The row a view shows or changes, read through the viewer's scope (``get_queryset``, which
#: depends on the view and the scope alone), and whether the viewer may change it: each compiled
#: once per view, scope and connection (``core.prepared``).
_row_shown = PreparedQuery(lambda pk, view: view.get_queryset().filter(pk=pk))
_row_editable = PreparedQuery(
    lambda pk, view: view.model.objects.editable_by(view.request.user).filter(pk=pk).values_list("pk", flat=True)
)


def not_found(model):
    """The 404 of a row the user cannot see: not Django's "No member found matching the query",
    which is neither well translated nor plain."""
    thing = model._meta.verbose_name
    return Http404(_("No such %(thing)s, or it is not within your organisation.") % {"thing": thing})


def _gated_rows(prepared, gate, shape, view, pk):
    """The rows of ``prepared`` for ``pk``: compiled once per ``shape`` and the viewer's scope when
    ``view.model``'s ``gate`` is the scope rule; else built for this call (rows that depend on more
    than the scope: no shape names them)."""
    if follows_scope(type(view.model._default_manager.all()), gate):
        return prepared(pk, shape=(shape, scope_for(view.request.user)), view=view)
    return list(prepared.build(pk, view=view))


def row_shown(view, pk):
    """The row ``pk`` of ``view.get_queryset()``, or None."""
    rows = _gated_rows(_row_shown, "visible_to", type(view), view, pk)
    return rows[0] if rows else None


def row_editable(view, pk):
    """Whether the viewer may change the row ``pk`` of ``view.model`` (``editable_by``)."""
    return bool(_gated_rows(_row_editable, "editable_by", view.model, view, pk))


class ObjectDetailView(ScopedViewMixin, DetailView):
    def get_object(self, queryset=None):
        if queryset is not None or self.pk_url_kwarg not in self.kwargs:
            return super().get_object(queryset)
        found = row_shown(self, self.kwargs[self.pk_url_kwarg])
        if found is None:
            raise not_found(self.model)
        return found

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_edit"] = row_editable(self, self.object.pk)
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
        if not scope_for(self.request.user).may_write:
            raise PermissionDenied(_("Your role only reads these records."))


class ObjectActionView(ServiceFormView):
    """Change one row: 404 if the user cannot see it, 403 if they may only read it."""

    model = None
    object_kwarg = None  # the name under which forms.Form subclasses receive the object
    model_form = False  # ModelForms receive it as ``instance``

    def check_access(self):
        self.object = row_shown(self, self.kwargs["pk"])
        if self.object is None:
            raise not_found(self.model)
        if not row_editable(self, self.object.pk):
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


def history_records(obj):
    """The history rows of ``obj`` with their users, oldest first (what :func:`history_entries` reads)."""
    return _history_of(obj.pk, shape=type(obj), model=type(obj), key=get_app_model_primary_key_name(obj))


#: The history rows of one record, compiled once per model and connection (``core.prepared``).
_history_of = PreparedQuery(
    lambda pk, model, key: (
        model.history.filter(**{key: pk})
        .select_related("history_user__preference")
        .order_by("history_date", "history_id")
    )
)


def changed_values(records, *fields):
    """The values ``fields`` took in ``records`` where they changed from one row to the next (both
    sides of each change; no value when a field never changed): what needs a label in the history."""
    values = set()
    for name in fields:
        seen = {getattr(record, name) for record in records}
        if len(seen) > 1:
            values |= seen
    return values - {None}


def history_entries(obj, labels=None, *, user, editable=None, records=None):
    """The change history of ``obj``: who, when, and which fields changed from what to what.

    ``labels`` maps a foreign-key field name to ``{pk: label}`` for the rows the user may see.
    Citizen IDs are masked unless ``user`` may edit ``obj``, as on the detail page (``editable``:
    whether they may, when the page asked already).
    One query (the history rows with their users, unless the page read them: ``records``), diffs
    computed in memory.
    """
    masked = not may_edit(obj, user, editable)
    labels = labels or {}
    model = type(obj)
    records = history_records(obj) if records is None else records
    entries = []
    previous = None
    for record in records:
        changes = []
        if previous is not None:
            # The search and sort keys follow the name: not changes of their own.
            delta = record.diff_against(previous, excluded_fields=["created", "updated", *derived_field_names(model)])
            for change in delta.changes:
                field = model._meta.get_field(change.field)
                changes.append(
                    {
                        "field": field.verbose_name,
                        "old": display_value(field, change.old, labels, masked),
                        "new": display_value(field, change.new, labels, masked),
                    }
                )
        entries.append(
            {
                "date": record.history_date,
                "user": record.history_user,
                "event": history_event(model, record, previous),
                "type": record.history_type,
                "type_label": {"+": _("created"), "~": _("changed"), "-": _("deleted")}.get(record.history_type, ""),
                "reason": record.history_change_reason,
                "changes": changes,
            }
        )
        previous = record
    entries.reverse()
    return entries


def history_event(model, record, previous, *, lookups=True):
    """The history row read as an event with its decision ("admitted …", "dissolved …"), when the
    model says (its ``history_event(record, previous, lookups=)``); else empty and the field diffs
    speak. ``lookups=False``: no query (pages of many rows)."""
    describe = getattr(model, "history_event", None)
    return describe(record, previous, lookups=lookups) if describe is not None else ""


def may_edit(obj, user, editable=None):
    """Whether ``user`` may edit ``obj`` (and so see its citizen ID in full); ``editable``: the
    answer of ``editable_by`` when the caller read it already (no query again)."""
    if not any(field.name in MASKED_FIELDS for field in type(obj)._meta.concrete_fields):
        return True  # nothing to mask: no query
    if editable is not None:
        return editable
    return type(obj).objects.editable_by(user).filter(pk=obj.pk).exists()


def display_value(field, value, labels, masked=False):
    """A history value as shown; ``masked``: citizen IDs masked (the user may not edit the record)."""
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


def set_interface_language(request):
    """Django's ``set_language`` (the language cookie, back to ``next``) that also remembers the
    choice for the session and, for a signed-in user, in their preference (issue 16)."""
    from django.views.i18n import set_language

    from core.middleware import remember_language

    response = set_language(request)
    language = request.POST.get("language") if request.method == "POST" else None
    if language and response.status_code in (200, 302) and language in dict(settings.LANGUAGES):
        remember_language(request, language)
    return response


class AutocompleteView(LoginRequiredMixin, View):
    """The JSON endpoint of a model's pickers (core.widgets.Autocomplete): ``?q=&page=&set=&value=``.

    A subclass names ``choice_sets``: ``{name: function(user) -> queryset}``, each the same scoped
    queryset its form validates against (``""`` is what the user may see). ``q`` is searched
    without marks or case in ``search_name`` and ignoring case in ``search_fields`` (codes); rows
    come in ``ordering``, ``page_size`` at a time: ``{"results": [{"value", "text"}], "next": url}``.
    """

    choice_sets = {}
    search_fields = ()
    prefix_fields = ()
    value_fields = ("pk",)
    ordering = ("sort_name",)
    page_size = 20
    #: Nobody scrolls further: a larger page number reads the last of these.
    max_page = 1000

    def label(self, row):
        return str(row)

    def get(self, request):
        choices = self.choice_sets.get(request.GET.get("set", ""))
        value_field = request.GET.get("value", "pk")
        if choices is None or value_field not in self.value_fields:
            raise Http404
        queryset = search_names(
            choices(request.user),
            request.GET.get("q", "")[:100].replace("\x00", ""),
            icontains=self.search_fields,
            prefix=self.prefix_fields,
        ).order_by(*self.ordering, "pk")
        try:
            page = min(max(1, int(request.GET.get("page", "1"))), self.max_page)
        except ValueError:
            page = 1
        start = (page - 1) * self.page_size
        rows = list(queryset[start : start + self.page_size + 1])
        results = [{"value": str(getattr(row, value_field)), "text": self.label(row)} for row in rows[: self.page_size]]
        next_url = None
        if len(rows) > self.page_size:
            params = request.GET.copy()
            params["page"] = str(page + 1)
            next_url = f"{request.path}?{params.urlencode()}"
        return JsonResponse({"results": results, "next": next_url})
