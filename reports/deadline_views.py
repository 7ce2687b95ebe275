"""The "due and overdue" pages: the items of an organisation's subtree, and for department staff
their counts per committee directly below (the items are ``branches.deadlines``'; whose
organisations a user reads is ``reports.access``')."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode

from branches.deadlines import kind_choices
from core.dates import today
from core.scoping import scope_for
from reports.deadlines import deadline_rows, visible_deadlines
from reports.forms import DeadlinesForm
from reports.views import resolve_committee

DEADLINES_PAGE = 50


def _read(request):
    form = DeadlinesForm(request.GET or None, kinds=kind_choices())
    data = form.cleaned_data if form.is_valid() else {}
    organization = resolve_committee(request, data.get("organization") or None)
    return form, organization, data.get("date") or today(), data


@login_required
def deadlines(request):
    """What is due within 60 days or overdue in an organisation's subtree, with a link to the action
    that clears each item (shown to those who may write there; the badge's to anyone)."""
    form, organization, on, data = _read(request)
    items = visible_deadlines(organization, on, request.user)
    if data.get("kind"):
        items = [item for item in items if item.kind == data["kind"]]
    if data.get("state"):
        items = [item for item in items if item.overdue == (data["state"] == "overdue")]
    scope = scope_for(request.user)
    page = Paginator(items, DEADLINES_PAGE).get_page(request.GET.get("page"))
    rows = [(item, item.kind == "badge" or scope.may_write) for item in page.object_list]
    context = {
        "form": form,
        "organization": organization,
        "on": on,
        "page_obj": page,
        "rows": rows,
        "committees_url": f"{reverse('reports:deadline_committees')}?{urlencode({'organization': organization.code})}"
        if organization.numchild
        else None,
    }
    return render(request, "reports/deadlines.html", context)


@login_required
def deadline_committees(request):
    """Department staff's view: the due and overdue counts of each organisation directly below
    theirs, each opening its list."""
    form, organization, on, _data = _read(request)
    date = on.isoformat() if request.GET.get("date") else None
    rows = deadline_rows(organization, on, request.user, date=date)
    context = {"form": form, "organization": organization, "on": on, "rows": rows}
    return render(request, "reports/deadline_committees.html", context)
