"""Pages of the reports: the dashboard, the grid of yearly targets, the export.

Whose reports a user reads is ``reports.access``'s (the same for the API): secretaries their
organisation's subtree, department staff their committee's, administrators any
(``?organization=<code>``); an organisation the user cannot see gets 404. The targets grid is for
those who set targets (``scope.sets_targets``); targets are written only through
``reports.services.set_targets``.
"""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.dates import MONTHS_3
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from branches import approvals
from branches.models import Organization
from core.dates import today
from core.forms import apply_service_errors
from core.scoping import scope_for
from core.spreadsheets import OutColumn, write_csv, write_xlsx
from core.versions import KeptPerDataVersion, shared_per_data_version
from reports import approval, engine, exports, projection, statistics, statutory_exports
from reports import figures as dashboard_figures
from reports.access import report_organization, report_organizations
from reports.deadlines import COUNTS_CACHE_SECONDS, cached_deadline_rows, deadlines_url
from reports.formatting import format_number
from reports.forms import (
    ApprovalActionForm,
    ReportPeriodForm,
    StatutoryPeriodForm,
    TargetGridForm,
    TargetYearForm,
    target_field_name,
)
from reports.metrics import Metric
from reports.models import Target
from reports.services import set_targets

# Whose reports -------------------------------------------------------------------------------


def resolve_committee(request, code=None):
    """The organisation a report page is about: ``code`` if given, else the active role's, else the topmost."""
    if code:
        return report_organization(request.user, code)
    organizations = report_organizations(request.user)
    role = getattr(request, "active_role", None)
    if role and role.organization_id:
        organization = organizations.filter(pk=role.organization_id).first()
        if organization is not None:
            return organization
    organization = organizations.order_by("depth", "path").first()
    if organization is None:
        raise Http404(_("No organisation is recorded yet."))
    return organization


def _parent_if_readable(organization, user):
    if organization.depth <= 1:
        return None
    parent_path = organization.path[: -Organization.steplen]
    return report_organizations(user).filter(path=parent_path).first()


def _assignable_below(user, organization, year):
    """The committees directly below ``organization`` whose targets ``user`` sets for ``year``."""
    return (
        Target.assignable_committees(user)
        .filter(path__startswith=organization.path, depth=organization.depth + 1)
        .filter(established_on__lte=datetime.date(year, 12, 31))
        .filter(Q(dissolved_on__isnull=True) | Q(dissolved_on__gte=datetime.date(year, 1, 1)))
        .order_by("path")
    )


# Dashboard -----------------------------------------------------------------------------------


def _period(form):
    """``(code, year, as_of)`` from a period form, falling back to defaults for what is invalid."""
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    code = data.get("organization") or None
    year = data.get("year") or engine.today().year
    as_of = data.get("as_of") if "as_of" not in form.errors else None
    return code, year, as_of


def _structure(form):
    """The tree the rows follow (``?structure=``): the end date's unless a valid other one is asked for."""
    return getattr(form, "cleaned_data", {}).get("structure") or engine.ReportStructure.END_DATE


def bar_class(percent):
    """The Bootstrap colour of a fulfilment progress bar."""
    if percent is None:
        return ""
    if percent >= 100:
        return "bg-success"
    if percent >= 75:
        return "bg-info"
    if percent >= 50:
        return "bg-warning"
    return "bg-danger"


def _cells(rows):
    return [
        {
            "row": row,
            "bar_class": bar_class(row.percent),
            "bar_width": None if row.percent is None else min(float(row.percent), 100.0),
        }
        for row in rows
    ]


def _chart_data(report, months):
    return {
        "committees": [part.organization.code for part in report.children],
        "committee_names": [part.organization.name for part in report.children],
        "metrics": [
            {
                "key": metric.value,
                "label": str(metric.label),
                "actual": [part.rows[index].actual for part in report.children],
                "target": [part.rows[index].target for part in report.children],
            }
            for index, metric in enumerate(engine.METRICS)
        ],
        "months": [capfirst(str(MONTHS_3[month])) for month in range(1, 13)],
        "admissions": [months.get(month, 0) for month in range(1, 13)],
        "labels": {
            "actual": _("actual"),
            "target": _("target"),
            "admissions": str(Metric.MEMBERS_ADMITTED.label),
        },
    }


def _query(**params):
    return urlencode({key: value for key, value in params.items() if value not in (None, "")})


def _year_links(organization, year):
    """The current year and the last one, one click away: ``[(year, url, is_shown)]``."""
    current = engine.today().year
    return [
        (shown, f"?{_query(organization=organization.code, year=shown)}", shown == year)
        for shown in (current, current - 1)
    ]


#: The dashboard's fulfilment reports and admissions by month, kept per data version in each
#: process: the same figures for every view until a write (the page only reads them).
_kept_figures = KeptPerDataVersion(64)


def _fulfilment(organization, year, as_of, structure):
    _start, end = engine.year_period(year, as_of)  # the current year's report ends today
    return _kept_figures.get(
        ("fulfilment", organization.pk, organization.path, year, as_of, structure, end),
        lambda: engine.fulfilment(organization, year, as_of=as_of, structure=structure),
    )


def _admissions_by_month(organization, start, end):
    return _kept_figures.get(
        ("months", organization.pk, organization.path, start, end),
        lambda: engine.admissions_by_month(organization, start, end),
    )


@login_required
def dashboard(request):
    form = ReportPeriodForm(request.GET)
    code, year, as_of = _period(form)
    organization = resolve_committee(request, code)

    def build():
        return _dashboard_body(request, form, organization, year, as_of)

    # A form with errors shows them: built for this view alone (nor can odd addresses fill the cache).
    # Kept no longer than the card of what is due: prospects, badges and transfers change it without
    # a new data version.
    if form.is_valid():
        body = shared_per_data_version(_body_key(request, form, organization), build, timeout=COUNTS_CACHE_SECONDS)
    else:
        body = build()
    body = mark_safe(body.replace(CSRF_PLACEHOLDER, get_token(request)))  # noqa: S308 (rendered by a template)
    return render(request, "reports/dashboard.html", {"organization": organization, "body": body})


#: What the dashboard's body holds in place of the form token while it is kept for every user of
#: a scope; each view puts its own token there.
CSRF_PLACEHOLDER = "csrf-token-of-the-request"


def _body_key(request, form, organization):
    """What the dashboard's body depends on besides the data version: the committee, the period
    asked for, the language, the day, and the user's scope (roles and subtrees: the same page for
    every user of the same scope, as the role questions answer)."""
    scope = scope_for(request.user)
    period = form.cleaned_data
    return (
        "reports:dashboard-body",
        organization.pk,
        organization.path,
        (period.get("year"), period.get("as_of"), _structure(form), _half(request)),
        get_language(),
        today().isoformat(),
        (scope.everything, scope.reads_everything, sorted(scope.roles), scope.read_paths, scope.write_paths),
        (scope.department_paths, scope.secretary_paths),
    )


def _dashboard_body(request, form, organization, year, as_of):
    structure = _structure(form)
    report = _fulfilment(organization, year, as_of, structure)
    figures = dashboard_figures.structure_and_gaps(organization, report.end)
    structure, gaps = figures.structure, figures.gaps
    months = _admissions_by_month(organization, report.start, report.end)
    params = {"organization": organization.code, "year": year, "as_of": as_of.isoformat() if as_of else None}
    exported = {**params, "structure": structure if structure != engine.ReportStructure.END_DATE else None}
    context = {
        "csrf_token": CSRF_PLACEHOLDER,
        "form": form,
        "organization": organization,
        "report": report,
        "metrics": engine.METRICS,
        "table": [(part.organization, _cells(part.rows), part.ended_label) for part in report.children],
        "tree_structure": structure,
        "total": _cells(report.rows),
        "structure": structure,
        "gaps": gaps,
        "eligible_enterprises": gaps.eligible_enterprises,
        "small_enterprises": gaps.small_enterprises,
        "stagnant_organizations": gaps.stagnant_organizations,
        "figures": figures,
        "list_limit": dashboard_figures.LIST_LIMIT,
        "chart_data": _chart_data(report, months),
        "parent": _parent_if_readable(organization, request.user),
        "can_set_targets": _assignable_below(request.user, organization, year).exists(),
        "has_targets": engine.has_targets(organization, year),
        "years": _year_links(organization, year),
        "year": year,
        "as_of": as_of,
        "export_xlsx": f"{reverse('reports:fulfilment_export')}?{_query(format='xlsx', **exported)}",
        "export_csv": f"{reverse('reports:fulfilment_export')}?{_query(format='csv', **exported)}",
        "targets_url": f"{reverse('reports:targets')}?{_query(organization=organization.code, year=year)}",
        "movement_url": f"{reverse('reports:movement')}?{_query(organization=organization.code, year=year)}",
        "admissions_url": f"{reverse('reports:admissions')}?{_query(organization=organization.code, year=year)}",
        "child_query": _query(year=year, as_of=params["as_of"], structure=exported["structure"]),
        "gap_query": _query(**params),
        **_deadline_context(request, organization),
    }
    context |= _approval_context(request, organization, report)
    projections = projection.fulfilment_projection(report) if report.end < datetime.date(year, 12, 31) else []
    context["projections"] = projections
    return str(render_to_string("reports/_dashboard_body.html", context, request=request))


def _deadline_context(request, organization):
    """The dashboard's card: what is due today per committee below, each opening its list."""
    return {
        "deadline_counts": cached_deadline_rows(organization, today(), request.user),
        "deadlines_url": deadlines_url(organization),
    }


def _half(request):
    return int(request.GET["half"]) if request.GET.get("half") in ("1", "2") else 0


def _approval_context(request, organization, report):
    """The approval panel of the dashboard (``?half=1|2`` for a half-year) and the report's stamp."""
    half = _half(request)
    return {
        "approval_stamp": approval.approval_stamp(organization, report.start, report.end),
        "approval_tree": approval.status_tree(request.user, organization, report.start.year, half),
        "approval_action_url": reverse("reports:approval_action"),
        "commented_actions": approval.COMMENTED_ACTIONS,
    }


@login_required
@require_POST
def approval_action(request):
    """Submit, approve, return or reopen an organisation's figures of a period from the dashboard;
    the services refuse what the scope or the order of approval does not allow."""
    form = ApprovalActionForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("; ".join(str(m) for errors in form.errors.values() for m in errors))
    data = form.cleaned_data
    organization = report_organization(request.user, data["organization"])
    back_to = resolve_committee(request, request.POST.get("back_to") or organization.code)
    period = {"year": data["year"], "half": data["half"]}
    calls = {
        "submit": lambda: approvals.submit(request.user, organization, **period),
        "approve": lambda: approvals.approve(request.user, organization, **period),
        "return": lambda: approvals.return_figures(request.user, organization, comment=data["comment"], **period),
        "reopen": lambda: approvals.reopen(request.user, organization, reason=data["comment"], **period),
    }
    try:
        calls[data["action"]]()
    except PermissionDenied as error:
        messages.error(request, str(error))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        record = approvals.approval_for(organization, **period)
        messages.success(
            request,
            _("The figures of %(period)s of %(organization)s are now %(status)s.")
            % {"period": record.period_label, "organization": organization, "status": record.get_status_display()},
        )
    query = _query(organization=back_to.code, year=data["year"], half=data["half"] or None)
    return redirect(f"{reverse('reports:dashboard')}?{query}")


# Export --------------------------------------------------------------------------------------

EXPORT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


@login_required
def fulfilment_export(request):
    """The dashboard's fulfilment table as .xlsx or .csv (``?format=``), same parameters as the page."""
    fmt = request.GET.get("format", "xlsx")
    if fmt not in EXPORT_TYPES:
        return HttpResponseBadRequest(_("Choose the format xlsx or csv."))
    form = ReportPeriodForm(request.GET)
    if not form.is_valid():
        messages_ = "; ".join(str(message) for errors in form.errors.values() for message in errors)
        return HttpResponseBadRequest(messages_)
    code, year, as_of = _period(form)
    organization = resolve_committee(request, code)
    report = engine.fulfilment(organization, year, as_of=as_of, structure=_structure(form))
    if fmt == "xlsx":
        content = exports.fulfilment_xlsx(
            report, engine.structure(organization, report.end), engine.gaps(organization, report.end)
        )
    else:
        content = exports.fulfilment_csv(report).encode("utf-8")
    response = HttpResponse(content, content_type=EXPORT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{exports.fulfilment_filename(report, fmt)}"'
    return response


# Statutory statistics --------------------------------------------------------------------------


STATUTORY_FORMS = {
    "movement": (statistics.member_movement, statutory_exports.movement_table),
    "admissions": (statistics.new_admissions, statutory_exports.admissions_table),
}


@login_required
def movement(request):
    """Member movement (form 1-BTCTW) of a period, with the profile's data completeness;
    ``?format=xlsx|csv`` downloads the form."""
    return _statutory_page(request, "movement")


@login_required
def admissions(request):
    """New admissions (form 3-BTCTW) of a period; ``?format=xlsx|csv`` downloads the form."""
    return _statutory_page(request, "admissions")


def _statutory_page(request, kind):
    build, tabulate = STATUTORY_FORMS[kind]
    form = StatutoryPeriodForm(request.GET)
    fmt = request.GET.get("format")
    if fmt and fmt not in EXPORT_TYPES:
        return HttpResponseBadRequest(_("Choose the format xlsx or csv."))
    if not form.is_valid():
        if fmt:
            return HttpResponseBadRequest("; ".join(str(m) for errors in form.errors.values() for m in errors))
        year = engine.today().year
        start, end, code = datetime.date(year, 1, 1), datetime.date(year, 12, 31), form.data.get("organization")
        code = code if code and "organization" not in form.errors else None
    else:
        start, end, code = form.cleaned_data["start"], form.cleaned_data["end"], form.cleaned_data["organization"]
    organization = resolve_committee(request, code or None)
    report = build(organization, start, end)
    table = tabulate(report)
    if fmt:
        content = statutory_exports.form_xlsx(table) if fmt == "xlsx" else statutory_exports.form_csv(table)
        response = HttpResponse(content, content_type=EXPORT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{table.filename(fmt)}"'
        return response
    params = {"organization": organization.code, "start": start.isoformat(), "end": end.isoformat()}
    context = {
        "form": form,
        "organization": organization,
        "report": report,
        "table": table,
        "numbers": range(1, len(table.columns) + 1),
        "completeness": statistics.data_completeness(organization) if kind == "movement" else None,
        "parent": _parent_if_readable(organization, request.user),
        "kind": kind,
        "movement_url": f"{reverse('reports:movement')}?{_query(**params)}",
        "admissions_url": f"{reverse('reports:admissions')}?{_query(**params)}",
        "export_xlsx": f"{reverse('reports:' + kind)}?{_query(format='xlsx', **params)}",
        "export_csv": f"{reverse('reports:' + kind)}?{_query(format='csv', **params)}",
        "dashboard_url": f"{reverse('reports:dashboard')}?{_query(organization=organization.code, year=end.year)}",
        "child_query": _query(start=start.isoformat(), end=end.isoformat()),
        "approval_stamp": approval.approval_stamp(organization, start, end),
    }
    return render(request, "reports/statutory.html", context)


# Targets -------------------------------------------------------------------------------------


@login_required
def targets(request):
    """The grid of yearly targets of the committees directly below the user's committee."""
    if not scope_for(request.user).sets_targets:
        raise PermissionDenied(_("Your role does not set yearly targets."))
    year_form = TargetYearForm(request.GET)
    year_form.is_valid()
    code = year_form.cleaned_data.get("organization") or None
    year = year_form.cleaned_data.get("year") or engine.today().year
    organization = resolve_committee(request, code)
    committees = list(_assignable_below(request.user, organization, year))
    existing = {
        (committee_id, metric): value
        for committee_id, metric, value in Target.objects.filter(year=year, committee__in=committees).values_list(
            "committee_id", "metric", "value"
        )
    }
    if request.method == "POST":
        if not committees:
            raise PermissionDenied(_("You do not set the targets of the committees below this one."))
        form = TargetGridForm(request.POST, committees=committees, existing=existing)
        if form.is_valid():
            try:
                changed = set_targets(request.user, year=year, values=form.values())
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(
                    request,
                    _("Targets for %(year)s saved (%(count)s changed).") % {"year": year, "count": len(changed)},
                )
                return redirect(f"{reverse('reports:targets')}?{_query(organization=organization.code, year=year)}")
    else:
        form = TargetGridForm(committees=committees, existing=existing)

    effective = engine.EffectiveTargets(organization, year)
    for committee in committees:
        for metric in engine.METRICS:
            below = effective.get(committee.path, metric)
            if (committee.pk, metric.value) not in existing and below is not None:
                widget = form.fields[target_field_name(committee, metric)].widget
                widget.attrs["placeholder"] = str(below)
                widget.attrs["title"] = _("From the committees below: %(value)s") % {"value": below}
    totals = [
        {
            "metric": metric,
            "value": effective.get(organization.path, metric),
            "display": format_number(effective.get(organization.path, metric)),
            "own": effective.own(organization.path, metric) is not None,
        }
        for metric in engine.METRICS
    ]
    context = {
        "organization": organization,
        "year": year,
        "year_form": year_form,
        "form": form,
        "metrics": engine.METRICS,
        "totals": totals,
        "parent": _parent_if_readable(organization, request.user),
        "dashboard_url": f"{reverse('reports:dashboard')}?{_query(organization=organization.code, year=year)}",
        "action": f"{reverse('reports:targets')}?{_query(organization=organization.code, year=year)}",
    }
    return render(request, "reports/targets.html", context)


# Whole gap lists -----------------------------------------------------------------------------

GAP_LIST_TITLES = {
    "eligible-enterprises": _lazy("Enterprises eligible to set up a Party organisation"),
    "small-enterprises": _lazy("Enterprises with one or two members"),
    "stagnant-organizations": _lazy("Organisations without recent admissions"),
}
GAP_LIST_PAGE = 100


def _gap_columns(kind):
    if kind == "stagnant-organizations":
        return [
            OutColumn(_("name")),
            OutColumn(_("code"), text=True),
            OutColumn(_("established on")),
            OutColumn(_("last admission")),
        ]
    count = _("official members") if kind == "eligible-enterprises" else _("active members")
    return [
        OutColumn(_("name")),
        OutColumn(_("tax code"), text=True),
        OutColumn(_("managing committee")),
        OutColumn(count),
    ]


def _gap_values(kind, row):
    if kind == "stagnant-organizations":
        return [row.name, row.code, row.established_on, row.last_admitted_on]
    count = row.official_members if kind == "eligible-enterprises" else row.active_members
    return [row.name, row.tax_code, row.committee_name or "", count]


@login_required
def gap_list(request, kind):
    """One gap list of the dashboard in full (``/reports/gaps/<kind>/``), in pages, or as .xlsx /
    .csv (``?format=``): the same committee, year and as-of date as the dashboard."""
    if kind not in GAP_LIST_TITLES:
        raise Http404(_("No such list."))
    fmt = request.GET.get("format")
    if fmt is not None and fmt not in EXPORT_TYPES:
        return HttpResponseBadRequest(_("Choose the format xlsx or csv."))
    form = ReportPeriodForm(request.GET)
    code, year, as_of = _period(form)
    organization = resolve_committee(request, code)
    try:
        _start, date = engine.year_period(year, as_of)
    except ValueError:
        _start, date = engine.year_period(year)
    rows = engine.gap_list(organization, date, kind)
    title = GAP_LIST_TITLES[kind]
    if fmt:
        columns = _gap_columns(kind)
        values = (_gap_values(kind, row) for row in rows)
        if fmt == "xlsx":
            content = write_xlsx(columns, values, title=str(title))
        else:
            content = write_csv(columns, values)
        response = HttpResponse(content, content_type=EXPORT_TYPES[fmt])
        filename = f"{kind}-{organization.code}-{date.isoformat()}.{fmt}"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    page = Paginator(rows, GAP_LIST_PAGE).get_page(request.GET.get("page"))
    params = {"organization": organization.code, "year": year, "as_of": as_of.isoformat() if as_of else None}
    context = {
        "organization": organization,
        "kind": kind,
        "title": title,
        "date": date,
        "year": year,
        "page_obj": page,
        "rows": page.object_list,
        "dashboard_url": f"{reverse('reports:dashboard')}?{_query(**params)}",
        "export_xlsx": f"?{_query(format='xlsx', **params)}",
        "export_csv": f"?{_query(format='csv', **params)}",
    }
    return render(request, "reports/gap_list.html", context)
