"""Template helpers of the report pages."""

from html import escape as html_escape

from django import template
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import get_language, gettext, ngettext

from branches.models import Organization
from core.lean_tables import keyed_url
from core.widgets import Autocomplete
from reports.access import report_organizations
from reports.formatting import format_number

register = template.Library()

_labels = {}


def _label(row):
    """The metric's label, capitalised and escaped, once per metric and language."""
    key = (row.metric, get_language())
    label = _labels.get(key)
    if label is None:
        label = _labels[key] = escape(capfirst(str(row.label)))
    return label


@register.simple_tag
def fulfilment_cells(cells):
    """The cells of one row of the fulfilment table. Written here rather than by a template
    include (or even a tag) per cell: a province's table has some 2,500 cells."""
    return mark_safe("".join(_fulfilment_cell(cell) for cell in cells))  # noqa: S308 (escaped by _fulfilment_cell)


def _fulfilment_cell(cell):
    """One cell: the display string and a progress bar coloured by fulfilment (escaped by the
    standard library's ``html.escape``, as Django's ``escape`` does, without its lazy-string
    wrapper: a province's table escapes some 10,000 values)."""
    row = cell["row"]
    percent = "" if row.percent is None else html_escape(str(row.percent))
    data_percent = "" if row.percent is None else f' data-percent="{percent}"'
    html = (
        f'<td class="fulfilment-cell text-end" data-metric="{html_escape(str(row.metric.value))}"{data_percent}>'
        f'<span class="fulfilment-display">{html_escape(str(row.display))}</span>'
    )
    if cell["bar_width"] is not None:
        html += (
            f'<div class="progress fulfilment-bar" role="progressbar" aria-label="{_label(row)}" '
            f'aria-valuenow="{percent}" aria-valuemin="0" aria-valuemax="100">'
            f'<div class="progress-bar {html_escape(str(cell["bar_class"]))}" '
            f'style="width: {cell["bar_width"]:.1f}%"></div></div>'
        )
    return html + "</td>"


# The dashboard's gap lists: up to 150 items, each with a link and a count in words. Written here
# rather than by a template loop (a url tag and a blocktranslate per item: about a third of the
# dashboard's rendering); the same HTML and the same messages.


def _official_members(count):
    return ngettext("%(count)s official member", "%(count)s official members", count) % {"count": count}


def _members(count):
    return ngettext("%(count)s member", "%(count)s members", count) % {"count": count}


_ENTERPRISE_COUNTS = {"official_members": _official_members, "active_members": _members}


@register.simple_tag
def gap_enterprise_items(enterprises, count):
    """``<li>`` items of enterprises: name linked, tax code, and the ``count`` attribute in words."""
    in_words = _ENTERPRISE_COUNTS[count]
    url = keyed_url("enterprises:enterprise_detail")  # one reverse() for the list
    return mark_safe(  # noqa: S308 (every value is escaped)
        "".join(
            f'<li><a href="{escape(url(enterprise.pk))}">'
            f"{escape(enterprise.name)}</a> "
            f'<span class="text-body-secondary">{escape(enterprise.tax_code)} · '
            f"{escape(in_words(getattr(enterprise, count)))}</span></li>"
            for enterprise in enterprises
        )
    )


@register.simple_tag
def gap_organization_items(organizations):
    """``<li>`` items of organisations without recent admissions: name linked, code, last admission."""

    def last_admission(organization):
        if organization.last_admitted_on:
            return gettext("last admission %(date)s") % {
                "date": date_format(organization.last_admitted_on, "SHORT_DATE_FORMAT")
            }
        return gettext("no admission recorded")

    url = keyed_url("branches:organization_detail")  # one reverse() for the list
    return mark_safe(  # noqa: S308 (every value is escaped)
        "".join(
            f'<li><a href="{escape(url(organization.pk))}">'
            f"{escape(organization.name)}</a> "
            f'<span class="text-body-secondary">{escape(organization.code)} · '
            f"{escape(last_admission(organization))}</span></li>"
            for organization in organizations
        )
    )


@register.filter
def figure(value):
    """A whole number with the active language's digit grouping (``1,024`` / ``1.024``)."""
    return format_number(value)


@register.simple_tag(takes_context=True)
def organization_picker(context, organization, field_id, invalid=False):
    """The report pages' ``organization`` field (administrators): a picker by name or code whose
    value is the code, showing ``organization`` (the organisations come from the reader's scope)."""
    widget = Autocomplete(
        "branches:organization_autocomplete",
        value_field="code",
        queryset=report_organizations(context["request"].user).filter(pk=organization.pk)
        if organization is not None
        else Organization.objects.none(),
    )
    widget.is_required = True
    css = "form-select form-select-sm" + (" is-invalid" if invalid else "")
    return widget.render(
        "organization", organization.code if organization else "", attrs={"id": field_id, "class": css}
    )
