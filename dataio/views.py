"""Pages of the data exchange: import templates, upload → preview → commit, exports and change history.

The uploaded file is kept server-side (``dataio.uploads``: the "files" storage, with the user, the
kind and the organisation it was uploaded for) between the preview and the commit; the commit reads
that file again and re-checks every row, so nothing the browser sends back is trusted but the
token, and a token only works for the user who uploaded it. The commit of a file of more than
``IMPORT_TASK_ROWS`` rows and an export of more than ``EXPORT_TASK_ROWS`` rows run as tasks
(``dataio.tasks``): the user is sent to the task's page, which shows its progress and its result.
"""

import datetime
import re
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Max, OuterRef, Q, Subquery
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from branches.models import Member, MembershipPeriod, Organization, Prospect
from core.models import MASKED_FIELDS, derived_field_names
from core.scoping import scope_for
from core.spreadsheets import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, SpreadsheetError, write_csv, write_xlsx
from dataio import exports, tasks, uploads
from dataio.enterprise_imports import ENTERPRISE_COLUMNS, RETURN_COLUMNS, import_enterprises, import_returns
from dataio.imports import MEMBER_COLUMNS, import_members, template_columns, template_rows
from enterprises.models import Enterprise, MassOrganization, MembershipReturn

#: Above this many organisations the upload form asks for a code instead of listing them.
SELECT_LIMIT = 300
PREVIEW_ROWS = 500


@dataclass(frozen=True)
class ImportKind:
    key: str
    title: object
    columns: tuple
    run: object


IMPORT_KINDS = {
    "members": ImportKind("members", gettext_lazy("Party members"), MEMBER_COLUMNS, import_members),
    "enterprises": ImportKind("enterprises", gettext_lazy("Enterprises"), ENTERPRISE_COLUMNS, import_enterprises),
    "returns": ImportKind(
        "returns", gettext_lazy("Membership returns of mass organisations"), RETURN_COLUMNS, import_returns
    ),
}


def _attachment(content, content_type, filename):
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# Templates and exports --------------------------------------------------------------------


@login_required
def import_template(request):
    """An empty file with the columns of one import (required ones marked ``*``) and an example row."""
    kind = IMPORT_KINDS.get(request.GET.get("kind", "members"))
    if kind is None:
        raise Http404
    columns = template_columns(kind.columns)
    rows = template_rows(kind.columns)
    if request.GET.get("format") == "csv":
        return _attachment(write_csv(columns, rows), CSV_CONTENT_TYPE, f"{kind.key}-template.csv")
    return _attachment(write_xlsx(columns, rows, title=kind.title), XLSX_CONTENT_TYPE, f"{kind.key}-template.xlsx")


@login_required
def export(request):
    """``?kind=members&format=xlsx|csv&<the list's filters>``: the list as the user sees it."""
    kind = request.GET.get("kind", "members")
    if kind not in exports.KINDS:
        raise Http404
    file_format = request.GET.get("format", "xlsx")
    if file_format not in exports.FORMATS:
        file_format = "xlsx"
    if scope_for(request.user).is_empty:
        raise PermissionDenied(_("Your account has no role yet."))
    data = request.GET.copy()
    for key in ("kind", "format"):
        data.pop(key, None)
    queryset = exports.export_queryset(kind, request.user, data=data, request=request)
    if queryset.count() > settings.EXPORT_TASK_ROWS:
        return redirect("tasks:job", tasks.start_export(request, kind, data, file_format).pk)
    collected = [] if kind == "members" else None
    content, content_type, filename = exports.export_file(
        kind, request.user, file_format=file_format, collect_ids=collected, queryset=queryset
    )
    if collected is not None:
        from security.access import record_access
        from security.models import AccessAction

        record_access(request, AccessAction.EXPORTED, members=collected, filters=data)
    stamp = timezone.localdate().isoformat()
    return _attachment(content, content_type, filename.replace(".", f"-{stamp}.", 1))


# Import: upload → preview → commit --------------------------------------------------------


class ImportForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("What the file holds"),
        choices=[(key, kind.title) for key, kind in IMPORT_KINDS.items()],
    )
    organization = forms.ModelChoiceField(
        label=gettext_lazy("Organisation"),
        queryset=Organization.objects.none(),
        to_field_name="code",
        help_text=gettext_lazy("Members are admitted to it (unless their row names one of its organisations)."),
    )
    file = forms.FileField(
        label=gettext_lazy("File (.xlsx or .csv)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv,.xls,.ods"}),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        editable = Organization.objects.editable_by(user).only("id", "code", "name", "path", "depth")
        self.fields["organization"].queryset = editable
        self.fields["organization"].label_from_instance = lambda org: f"{org.code} — {org.name}"
        # Administrators may write everywhere: a list of thousands of options is no use, they type the code.
        self.organization_as_text = editable[: SELECT_LIMIT + 1].count() > SELECT_LIMIT
        if self.organization_as_text:
            self.fields["organization"].widget = forms.TextInput()
            self.fields["organization"].help_text = gettext_lazy("The code of the organisation, e.g. BR-A.")


def _require_importer(user):
    if not scope_for(user).may_write:
        raise PermissionDenied(_("Your role only reads these records."))


def _preview_context(result):
    errors = [row for row in result.rows if row.errors]
    others = [row for row in result.rows if not row.errors]
    return {
        "result": result,
        "error_rows": errors[:PREVIEW_ROWS],
        "other_rows": others[:PREVIEW_ROWS],
        "hidden_rows": max(0, len(errors) - PREVIEW_ROWS) + max(0, len(others) - PREVIEW_ROWS),
    }


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request):
    _require_importer(request.user)
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user, initial=_initial(request))
    context = {"form": form, "kinds": IMPORT_KINDS}
    if request.method == "POST" and form.is_valid():
        kind = IMPORT_KINDS[form.cleaned_data["kind"]]
        organization = form.cleaned_data["organization"]
        upload = form.cleaned_data["file"]
        token = uploads.store(request.user, kind.key, organization, upload)
        data_name, meta = uploads.load(request.user, token)
        try:
            with uploads.open_file(data_name) as source:
                result = kind.run(
                    source, organization=organization, acting_user=request.user, dry_run=True, filename=meta["filename"]
                )
        except SpreadsheetError as exc:
            uploads.discard(token)
            form.add_error("file", exc.message)
            return render(request, "io/import_upload.html", context, status=400)
        uploads.describe(token, {**meta, "rows": len(result.rows)})
        context.update(_preview_context(result), token=token, kind=kind, organization=organization)
        return render(request, "io/import_preview.html", context)
    return render(request, "io/import_upload.html", context, status=400 if form.errors else 200)


def _initial(request):
    role = getattr(request, "active_role", None)
    organization = getattr(role, "organization", None) if role else None
    initial = {"kind": request.GET.get("kind", "members")}
    if organization is not None:
        initial["organization"] = organization.code
    return initial


@login_required
@require_POST
def import_commit(request, token):
    """Read the stored file again, check every row again and write it all, or nothing."""
    _require_importer(request.user)
    data_name, meta = uploads.load(request.user, token)
    kind = IMPORT_KINDS.get(meta["kind"])
    organization = Organization.objects.editable_by(request.user).filter(pk=meta["organization"]).first()
    if kind is None or organization is None:
        raise PermissionDenied(_("You may not change the records of this organisation."))
    if meta.get("rows", 0) > settings.IMPORT_TASK_ROWS:
        return redirect("tasks:job", tasks.start_import(request.user, token, meta).pk)
    try:
        with uploads.open_file(data_name) as source:
            result = kind.run(
                source, organization=organization, acting_user=request.user, dry_run=False, filename=meta["filename"]
            )
    except SpreadsheetError as exc:
        uploads.discard(token)
        return render(request, "io/import_upload.html", {"form": None, "file_error": exc.message}, status=400)
    context = {"token": token, "kind": kind, "organization": organization}
    context.update(_preview_context(result))
    if result.has_errors:
        return render(request, "io/import_preview.html", context, status=409)
    uploads.discard(token)
    context["changeset_url"] = changeset_url_for_import(request.user, result)
    return render(request, "io/import_done.html", context)


def changeset_url_for_import(user, result):
    from dataio.imports import change_reason

    return reverse("io:changes") + "?" + _query({"reason": change_reason(result.filename), "user": user.pk})


def _query(params):
    from django.utils.http import urlencode

    return urlencode(params)


# Change history ---------------------------------------------------------------------------

#: Models whose history the change pages show, with the label of a row.
HISTORY_MODELS = {
    "member": (Member, gettext_lazy("Party member")),
    "membershipperiod": (MembershipPeriod, gettext_lazy("membership period")),
    "prospect": (Prospect, gettext_lazy("prospect")),
    "organization": (Organization, gettext_lazy("Party organisation")),
    "enterprise": (Enterprise, gettext_lazy("enterprise")),
    "massorganization": (MassOrganization, gettext_lazy("mass organisation")),
    "membershipreturn": (MembershipReturn, gettext_lazy("membership return")),
}
CHANGESETS_PER_PAGE = 50
RECORDS_PER_PAGE = 100


def _require_history_reader(user):
    if not scope_for(user).reads_history:
        raise PermissionDenied(_("The change history is for administrators and organisation-department staff."))


def _visible_history(model, user):
    """History rows of the records of ``model`` the user may see (the scoping gate, as a subquery)."""
    visible = model.objects.visible_to(user).values("pk")
    return model.history.model.objects.filter(id__in=Subquery(visible))


def _query_text(request, name):
    """A query parameter as text to compare with stored text; ``None`` when it holds a NUL, which no
    stored text holds (and PostgreSQL refuses to compare with)."""
    value = request.GET.get(name, "").strip()
    return None if "\x00" in value else value


def _query_id(request, name):
    """A query parameter as a row id (ASCII digits that fit a bigint), else ``None``."""
    value = request.GET.get(name, "").strip()
    return int(value) if re.fullmatch(r"[0-9]{1,18}", value) else None


class _ChainedHistory:
    """The history rows of several models, in order, as one sequence for a paginator: counted per
    model and sliced per model in the database, so a page of a 190,000-row change set reads one
    page of rows (``(key, model, label, record)`` items)."""

    def __init__(self, parts):
        self.parts = parts  # (key, model, label, queryset)
        self._counts = None

    def counts(self):
        if self._counts is None:
            self._counts = [queryset.count() for *_, queryset in self.parts]
        return self._counts

    def count(self):
        return sum(self.counts())

    def __len__(self):
        return self.count()

    def __getitem__(self, item):
        if not isinstance(item, slice):
            return self[item : item + 1][0]
        start, stop = item.start or 0, item.stop if item.stop is not None else self.count()
        rows, offset = [], 0
        for (key, model, label, queryset), count in zip(self.parts, self.counts(), strict=True):
            low, high = max(start - offset, 0), min(stop - offset, count)
            if low < high:
                rows.extend((key, model, label, record) for record in queryset[low:high])
            offset += count
        return rows


@login_required
def changes(request):
    """Change sets: history rows grouped by who, why and when (an import is one change set)."""
    _require_history_reader(request.user)
    reason = _query_text(request, "reason")
    username = _query_text(request, "username")
    user_id = _query_id(request, "user")
    try:
        days = max(1, min(3650, int(request.GET.get("days", 90))))
    except ValueError:
        days = 90
    since = timezone.now() - datetime.timedelta(days=days)
    groups = {}
    for model, label in HISTORY_MODELS.values():
        rows = _visible_history(model, request.user).filter(history_date__gte=since)
        if reason is None or username is None:
            rows = rows.none()  # a NUL: no change has it
        if reason:
            rows = rows.filter(history_change_reason=reason)
        if user_id is not None:
            rows = rows.filter(history_user_id=user_id)
        if username:
            rows = rows.filter(history_user__username=username)
        grouped = (
            rows.values(
                "history_user_id",
                "history_user__username",
                "history_user__preference__full_name",
                "history_change_reason",
                "history_date",
            )
            .annotate(n=Count("history_id"), last=Max("history_id"))
            .order_by("-history_date")[: CHANGESETS_PER_PAGE * 10]
        )
        for row in grouped:
            group_key = (row["history_user_id"], row["history_change_reason"] or "", row["history_date"])
            group = groups.setdefault(
                group_key,
                {
                    "user": row["history_user__preference__full_name"]
                    or row["history_user__username"]
                    or _("the system"),
                    "user_id": row["history_user_id"],
                    "reason": row["history_change_reason"] or "",
                    "date": row["history_date"],
                    "counts": [],
                    "total": 0,
                },
            )
            group["counts"].append((label, row["n"]))
            group["total"] += row["n"]
    ordered = sorted(groups.values(), key=lambda group: group["date"], reverse=True)
    for group in ordered:
        group["url"] = (
            reverse("io:changeset")
            + "?"
            + _query({"user": group["user_id"] or "", "reason": group["reason"], "date": group["date"].isoformat()})
        )
    page = Paginator(ordered, CHANGESETS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "io/changes.html",
        {
            "page": page,
            "reason": reason or "",
            "username": username or "",
            "days": days,
            "user_filter": "" if user_id is None else user_id,
        },
    )


@login_required
def changeset(request):
    """Every record of one change set with its values before and after."""
    _require_history_reader(request.user)
    try:
        date = parse_datetime(request.GET.get("date", ""))
    except ValueError:  # well formed but no such moment (month 13)
        date = None
    reason = _query_text(request, "reason")
    if date is None or reason is None:
        raise Http404
    user_id = _query_id(request, "user")
    parts = []
    for key, (model, label) in HISTORY_MODELS.items():
        rows = _visible_history(model, request.user).filter(history_date=date)
        if reason:
            rows = rows.filter(history_change_reason=reason)
        else:
            rows = rows.filter(Q(history_change_reason="") | Q(history_change_reason__isnull=True))
        if user_id is not None:
            rows = rows.filter(history_user_id=user_id)
        else:
            rows = rows.filter(history_user__isnull=True)
        parts.append((key, model, label, rows.order_by("history_id")))
    records = _ChainedHistory(parts)
    if not records.count():
        raise Http404
    page = Paginator(records, RECORDS_PER_PAGE).get_page(request.GET.get("page"))
    request.access_log_member_ids = _members_shown(page.object_list)
    entries = _diff_entries(list(page.object_list), request.user)
    first = page.object_list[0][3]
    return render(
        request,
        "io/changeset.html",
        {
            "page": page,
            "entries": entries,
            "date": date,
            "reason": reason,
            "user": first.history_user,
            "total": records.count(),
        },
    )


def _members_shown(records):
    """The ids of the members whose data history rows show (members and their membership periods)."""
    ids = set()
    for key, _model, _label, record in records:
        if key == "member":
            ids.add(record.id)
        elif key == "membershipperiod":
            ids.add(record.member_id)
    return sorted(ids)


def _editable_ids(records, user):
    """``{model key: ids of the records on the page the user may edit}`` for models with masked fields."""
    by_model = {}
    for key, model, _label, record in records:
        if any(field.name in MASKED_FIELDS for field in model._meta.concrete_fields):
            by_model.setdefault(key, (model, set()))[1].add(record.id)
    return {
        key: set(model.objects.editable_by(user).filter(pk__in=ids).values_list("pk", flat=True))
        for key, (model, ids) in by_model.items()
    }


def _diff_entries(records, user):
    """Before/after of each history row against the row's previous version (one query per model);
    citizen IDs masked where the user may not edit the record."""
    from core.views import display_value, history_event

    editable = _editable_ids(records, user)

    previous = {}
    by_model = {}
    for key, model, _label, record in records:
        by_model.setdefault(key, (model, []))[1].append(record)
    for key, (model, rows) in by_model.items():
        history = model.history.model.objects
        earlier = history.filter(id=OuterRef("id"), history_id__lt=OuterRef("history_id")).order_by("-history_id")
        pairs = history.filter(history_id__in=[row.history_id for row in rows]).annotate(
            previous_id=Subquery(earlier.values("history_id")[:1])
        )
        wanted = dict(pairs.values_list("history_id", "previous_id"))
        before = history.in_bulk([pk for pk in wanted.values() if pk])
        for row in rows:
            previous[(key, row.history_id)] = before.get(wanted.get(row.history_id))
    entries = []
    for key, model, label, record in records:
        before = previous.get((key, record.history_id))
        masked = key in editable and record.id not in editable[key]
        changes = []
        if record.history_type == "~" and before is not None:
            excluded = ["created", "updated", "version", *derived_field_names(model)]  # keys follow the name
            delta = record.diff_against(before, excluded_fields=excluded)
            for change in delta.changes:
                field = model._meta.get_field(change.field)
                changes.append(
                    {
                        "field": field.verbose_name,
                        "old": display_value(field, change.old, {}, masked),
                        "new": display_value(field, change.new, {}, masked),
                    }
                )
        elif record.history_type == "+":
            for field in model._meta.concrete_fields:
                if field.name in ("id", "created", "updated", "version", "path", "depth", "numchild"):
                    continue
                value = getattr(record, field.attname, None)
                if value not in (None, ""):
                    changes.append(
                        {"field": field.verbose_name, "old": "", "new": display_value(field, value, {}, masked)}
                    )
        entries.append(
            {
                "label": label,
                "object": _record_label(record),
                "event": history_event(model, record, before, lookups=False),
                "url": reverse("io:record_history", args=[key, record.id]),
                "type": record.history_type,
                "type_label": {"+": _("created"), "~": _("changed"), "-": _("deleted")}.get(record.history_type, ""),
                "changes": changes,
            }
        )
    return entries


def _record_label(record):
    """A history row's name without reading related rows (a row of a change set costs no query)."""
    for attribute in ("full_name", "name", "code", "tax_code"):
        value = getattr(record, attribute, None)
        if value:
            return value
    return f"#{record.id}"


@login_required
def record_history(request, model_key, pk):
    """One record's history: who changed what and when, with before and after values."""
    _require_history_reader(request.user)
    if model_key not in HISTORY_MODELS:
        raise Http404
    from core.views import history_entries

    model, label = HISTORY_MODELS[model_key]
    obj = get_object_or_404(model.objects.visible_to(request.user), pk=pk)
    request.access_log_member_ids = _members_shown([(model_key, model, label, obj)])
    return render(
        request,
        "io/record_history.html",
        {"object": obj, "label": label, "history": history_entries(obj, user=request.user)},
    )


# Restructuring plans ------------------------------------------------------------------------


class RestructurePlanForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Restructuring plan (.xlsx or .csv)"))


def _require_administrator(user):
    if not scope_for(user).administers:
        raise PermissionDenied(_("Only administrators change the organisation tree."))


@login_required
def restructure_template(request):
    """An empty plan with its columns (required ones marked ``*``) and an example row."""
    from dataio.restructure import COLUMNS
    from dataio.restructure import template_rows as plan_template_rows

    _require_administrator(request.user)
    columns = template_columns(COLUMNS)
    if request.GET.get("format") == "csv":
        return _attachment(write_csv(columns, plan_template_rows()), CSV_CONTENT_TYPE, "restructuring-plan.csv")
    content = write_xlsx(columns, plan_template_rows(), title=str(_("Restructuring plan")))
    return _attachment(content, XLSX_CONTENT_TYPE, "restructuring-plan.xlsx")


@login_required
@require_http_methods(["GET", "POST"])
def restructure_upload(request):
    """Upload a plan: every operation is checked (nothing written) and previewed."""
    from dataio.restructure import run_plan

    _require_administrator(request.user)
    form = RestructurePlanForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        token = uploads.store(request.user, "restructure", None, form.cleaned_data["file"])
        data_name, meta = uploads.load(request.user, token)
        try:
            with uploads.open_file(data_name) as source:
                result = run_plan(source, acting_user=request.user, dry_run=True, filename=meta["filename"])
        except SpreadsheetError as exc:
            uploads.discard(token)
            form.add_error("file", exc.message)
        else:
            return render(request, "io/restructure_preview.html", {"result": result, "token": token})
    return render(request, "io/restructure_upload.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_POST
def restructure_commit(request, token):
    """Read the stored plan again, check every operation again and apply it all, or nothing."""
    from dataio.restructure import run_plan

    _require_administrator(request.user)
    data_name, meta = uploads.load(request.user, token)
    if meta.get("kind") != "restructure":
        raise Http404
    try:
        with uploads.open_file(data_name) as source:
            result = run_plan(source, acting_user=request.user, filename=meta["filename"])
    except SpreadsheetError as exc:
        uploads.discard(token)
        form = RestructurePlanForm()
        form.add_error(None, exc.message)
        return render(request, "io/restructure_upload.html", {"form": form}, status=400)
    context = {"result": result, "token": token}
    if result.has_errors:
        return render(request, "io/restructure_preview.html", context, status=409)
    uploads.discard(token)
    return render(request, "io/restructure_preview.html", context)
