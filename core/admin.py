"""Admin bases: the administrator-only gate, service-backed forms, actions that ask for values.

Rules of this admin (shared by every app's admin):

* Who may use it follows our roles, in one place (:class:`AdministratorOnlyMixin`): users with the
  ``administrator`` role (and superusers) may use every page without Django model permissions;
  secretaries and department staff may not, even with ``is_staff``.
* Every write goes through the service functions: add and change forms are :class:`ServiceForm`
  subclasses that call the service while the form is validated, so a refused change shows its
  message on the field and nothing is written; lifecycle steps are admin actions with a small
  intermediate form (:func:`run_action`); history cannot be reverted.
* A Party record is never silently deleted: deletion is off unless a service does it.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.forms.models import BaseInlineFormSet
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from core.forms import apply_service_errors, label_empty_choice
from core.models import CalendarDay, forget_calendar_days
from core.scoping import scope_for
from core.services import deliberate_row_writes
from core.text import search_key

# The admin site's own gate ------------------------------------------------------------------


class AdministratorOnlyMixin:
    """Admin permissions from our roles, not from Django model permissions.

    Administrators (role ``administrator``) and superusers may view everything and add or
    change what the service layer lets them; nobody else may use any admin page. A ModelAdmin
    narrows what is possible with ``allow_add`` / ``allow_change`` / ``allow_delete``.
    """

    allow_add = True
    allow_change = True
    allow_delete = False

    def _administrator(self, request):
        return request.user.is_active and scope_for(request.user).administers

    def get_action_choices(self, request, default_choices=None):
        """The actions menu opens on "— choose an action —", not Django's "---------"."""
        return super().get_action_choices(request, default_choices=[("", _("— choose an action —"))])

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        """Empty choices say what they mean (``label_empty_choice``), not Django's "---------"."""
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        return label_empty_choice(field) if field is not None else None

    def has_module_permission(self, request):
        return self._administrator(request)

    def has_view_permission(self, request, obj=None):
        return self._administrator(request)

    def has_add_permission(self, request, obj=None):
        return self.allow_add and self._administrator(request)

    def has_change_permission(self, request, obj=None):
        return self.allow_change and self._administrator(request)

    def has_delete_permission(self, request, obj=None):
        return self.allow_delete and self._administrator(request)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if hasattr(queryset, "visible_to"):
            # Administrators are global: this is every row, through the one gate all the same.
            queryset = queryset.visible_to(request.user)
        return queryset

    def get_form(self, request, obj=None, **kwargs):
        if obj is None and getattr(self, "add_form", None) is not None:
            kwargs.setdefault("form", self.add_form)
        form = super().get_form(request, obj, **kwargs)
        form.acting_user = request.user
        return form

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.acting_user = request.user
        formset.form.acting_user = request.user
        return formset

    def get_inline_instances(self, request, obj=None):
        # Inlines write through services about an existing parent: none on add pages.
        return super().get_inline_instances(request, obj) if obj is not None else []

    def save_model(self, request, obj, form, change):
        if isinstance(form, ServiceForm):
            return  # the service wrote it while the form was validated
        super().save_model(request, obj, form, change)

    def _changeform_view(self, request, object_id, form_url, extra_context):
        # Services write while forms are validated: if anything on the page was refused,
        # undo what was written (changeform_view runs inside one transaction).
        response = super()._changeform_view(request, object_id, form_url, extra_context)
        context = getattr(response, "context_data", None) or {}
        if request.method == "POST" and context.get("errors"):
            transaction.set_rollback(True)
        return response


class PartyModelAdmin(AdministratorOnlyMixin, SimpleHistoryAdmin):
    """Base of every domain ModelAdmin: our permissions, service forms, read-only history."""

    list_per_page = 50

    def get_search_results(self, request, queryset, search_term):
        """The words as typed (codes, addresses) or without marks and case (the ``search_name``
        fields): "nguyen van a" finds "Nguyễn Văn A" in the lists and the autocomplete pickers."""
        as_typed, duplicates = super().get_search_results(request, queryset, search_term)
        key = search_key(search_term)
        if not key or key == search_term:
            return as_typed, duplicates
        normalised, more_duplicates = super().get_search_results(request, queryset, key)
        return as_typed | normalised, duplicates or more_duplicates

    def revert_disabled(self, request, obj=None):
        return True  # history is shown, never restored around the services

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class ReadOnlyInline(AdministratorOnlyMixin, admin.TabularInline):
    allow_add = False
    allow_change = False
    extra = 0
    show_change_link = False


# Forms that write through services --------------------------------------------------------


def add_service_errors(form, exc):
    """Put a service's ``ValidationError`` on the admin form (see :func:`core.forms.apply_service_errors`)."""
    apply_service_errors(form, exc)


class ServiceForm(forms.ModelForm):
    """A ModelForm whose validation calls a service (``apply``) instead of saving the model.

    The service validates everything and writes in one transaction; its refusals land on the
    form's fields. ``save()`` returns what the service wrote. Change forms carry the version
    they were built from (optimistic locking) when the model has one.
    """

    acting_user = None
    #: service error key → form field, where they differ
    service_error_fields = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.result = None
        if "expected_version" in self.fields and self.instance.pk is not None:
            self.fields["expected_version"].initial = self.instance.version

    def apply(self, data):
        """Call the service with the cleaned data; return the saved object."""
        raise NotImplementedError

    def field_for_error(self, key):
        """The form field a service error key belongs to."""
        return self.service_error_fields.get(key, key)

    def changes(self, data, fields):
        """The changed fields among ``fields``, as service keyword arguments."""
        return {field: data[field] for field in fields if field in self.changed_data and field in data}

    def version_kwargs(self, data):
        version = data.get("expected_version")
        return {"expected_version": version} if version is not None else {}

    def _post_clean(self):
        if self._errors or self.cleaned_data.get("DELETE"):
            return
        if self.instance.pk is not None and not self.has_changed():
            self.result = self.instance
            return
        try:
            with transaction.atomic():
                self.result = self.apply(self.cleaned_data)
        except ValidationError as exc:
            add_service_errors(self, exc)
        except PermissionDenied as exc:
            self.add_error(None, str(exc) or _("You may not make this change."))

    def save(self, commit=True):
        if self.errors:
            raise ValueError("The service refused this form.")
        return self.result

    def save_m2m(self):
        pass


class VersionedServiceForm(ServiceForm):
    """A change form for a model with a ``version``: a stale form is refused by the service."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ServiceInlineFormSet(BaseInlineFormSet):
    """Inline rows are written by their forms' services; deletions go through ``delete_with_service``."""

    acting_user = None

    def save_new(self, form, commit=True):
        return form.result

    def save_existing(self, form, obj, commit=True):
        return form.result or obj

    def delete_existing(self, obj, commit=True):
        if commit:
            self.delete_with_service(obj)

    def delete_with_service(self, obj):
        raise PermissionDenied


# Actions with an intermediate form --------------------------------------------------------


def date_field(label, required=True):
    return forms.DateField(label=label, required=required, widget=AdminDateWidget)


def run_action(modeladmin, request, queryset, *, form_class, title, apply_one, done_message):
    """An admin action that asks for a few values, then calls a service per selected row.

    All rows or none: when the service refuses any row, nothing is written and the form comes
    back with each refusal (on the field it names when one row was selected, else on top, named
    after its row).
    """
    form = form_class(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        objects = list(queryset)
        refusals = []
        # One service call per selected row, each re-reading it under lock: deliberate (see
        # core.services.deliberate_row_writes), not an N+1 of a page.
        with transaction.atomic(), deliberate_row_writes():
            for obj in objects:
                try:
                    with transaction.atomic():
                        apply_one(request.user, obj, form.cleaned_data)
                except ValidationError as exc:
                    refusals.append((obj, exc))
                except PermissionDenied as exc:
                    refusals.append((obj, ValidationError(str(exc) or _("You may not make this change."))))
            if refusals:
                transaction.set_rollback(True)
        if not refusals:
            modeladmin.message_user(request, done_message(len(objects)), messages.SUCCESS)
            return None
        for obj, exc in refusals:
            if len(objects) == 1:
                apply_service_errors(form, exc)
            else:
                form.add_error(None, f"{obj}: {' '.join(exc.messages)}")
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "queryset": queryset,
        "opts": modeladmin.model._meta,
        "action": request.POST.get("action", ""),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media + form.media,
    }
    return TemplateResponse(request, "admin/party_action_form.html", context)


def run_tree_action(modeladmin, request, queryset, *, form_class, title, apply, done_message, preview, only_one=None):
    """An admin action over a tree (organisations, localities): one form, a preview of what the
    selected nodes reach (``preview(nodes)``: context for the template), all of them changed in
    one transaction by ``apply(user, nodes, form)``. Any refusal undoes the whole change and is
    shown on the form's field it concerns; only administrators get here (the services check
    again). ``only_one``: the message when the action takes exactly one node and got more.
    """
    if not scope_for(request.user).administers:
        raise PermissionDenied
    if only_one is not None and queryset.count() != 1:
        modeladmin.message_user(request, only_one, messages.ERROR)
        return None
    nodes = list(queryset.order_by("path"))
    form = form_class(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        try:
            # One service call per selected node, each re-reading its row under lock:
            # deliberate, not an N+1 of a page (the guard of the test suite is told so).
            with transaction.atomic(), deliberate_row_writes():
                apply(request.user, nodes, form)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            modeladmin.message_user(request, done_message(len(nodes)), messages.SUCCESS)
            return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "queryset": nodes,
        **preview(nodes),
        "opts": modeladmin.model._meta,
        "action": request.POST.get("action", ""),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media + form.media,
    }
    return TemplateResponse(request, "admin/party_action_form.html", context)


def indented(obj, label):
    """A tree row's label indented by its depth (treebeard's ``depth`` starts at 1)."""
    return format_html('<span style="padding-left:{}em">{}</span>', 1.5 * (obj.depth - 1), label)


class ActiveFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", _("active")), ("dissolved", _("dissolved"))]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(dissolved_on__isnull=True)
        if self.value() == "dissolved":
            return queryset.filter(dissolved_on__isnull=False)
        return queryset


class TreeLevelFilter(admin.SimpleListFilter):
    """The level in a tree (1 = the top), titled in words: Django's filter on the ``depth`` field
    would be headed with the bare field name ("By depth")."""

    title = _("tree level")
    parameter_name = "depth"

    def lookups(self, request, model_admin):
        depths = model_admin.model.objects.order_by("depth").values_list("depth", flat=True).distinct()
        return [(str(depth), str(depth)) for depth in depths]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit() and len(value) < 4:
            return queryset.filter(depth=int(value))
        return queryset


# The working calendar ---------------------------------------------------------------------


@admin.register(CalendarDay)
class CalendarDayAdmin(AdministratorOnlyMixin, admin.ModelAdmin):
    """Days off and compensatory working days the government decides each year (``core.workdays``)."""

    allow_delete = True
    list_display = ("date", "kind", "description")
    list_filter = ("kind",)
    date_hierarchy = "date"
    search_fields = ("description",)

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        forget_calendar_days()
