"""Template helpers of the web interface: Bootstrap form widgets, the role switcher, admin links."""

from django import forms, template
from django.urls import NoReverseMatch, reverse
from django.utils import numberformat
from django.utils.formats import get_format

from core import lean_tables
from core.middleware import role_assignments_of

register = template.Library()


@register.filter
def person(user):
    """A user as named on every page: their full name (``core.models.display_name``)."""
    from core.models import display_name

    return display_name(user)


@register.filter
def bs_field(bound_field):
    """Render a bound field's widget with Bootstrap's classes (and ``is-invalid`` on errors)."""
    widget = bound_field.field.widget
    if isinstance(widget, forms.CheckboxInput):
        css = "form-check-input"
    elif isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
        css = ""
    elif isinstance(widget, forms.Select | forms.NullBooleanSelect):
        css = "form-select"
    else:
        css = "form-control"
    if bound_field.errors:
        css += " is-invalid"
    attrs = {"class": css} if css else {}
    if bound_field.help_text:
        attrs["aria-describedby"] = f"{bound_field.auto_id}_help"
    return bound_field.as_widget(attrs=attrs)


@register.simple_tag
def active_filter_count(form):
    """How many of a filter form's fields the request sets (shown on the folded filters)."""
    if not form.is_bound:
        return 0
    return sum(1 for name in form.fields if form.data.get(form.add_prefix(name)) not in (None, ""))


@register.filter
def is_checkbox(bound_field):
    return isinstance(bound_field.field.widget, forms.CheckboxInput)


@register.filter
def is_radio(bound_field):
    return isinstance(bound_field.field.widget, forms.RadioSelect)


@register.simple_tag(takes_context=True)
def role_assignments(context):
    """The signed-in user's role assignments, for the navbar's role switcher."""
    return role_assignments_of(context.get("request"))


@register.simple_tag
def admin_url(name, *args):
    """The URL of an admin page, or "" when the admin does not offer it."""
    try:
        return reverse(f"admin:{name}", args=args)
    except NoReverseMatch:
        return ""


@register.simple_tag
def url_or_empty(name, *args):
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


@register.simple_tag(takes_context=True)
def query_without_page(context):
    """The current query string without the page number (for links that keep the filters)."""
    request = context.get("request")
    if request is None:
        return ""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def group_digits(value):
    """An integer with the active locale's thousand separator, grouped by three (1,024 / 1.024).

    Django's Vietnamese formats define the separator but no grouping, so ``intcomma`` would not group.
    """
    try:
        number = int(value)
    except (TypeError, ValueError):
        return value
    return numberformat.format(
        number,
        get_format("DECIMAL_SEPARATOR"),
        grouping=3,
        thousand_sep=get_format("THOUSAND_SEPARATOR"),
        force_grouping=True,
    )


register.filter("grouped", group_digits)


@register.simple_tag(takes_context=True)
def table_rows(context, table):
    """The rows of a django-tables2 table's current page, written in Python (core.lean_tables)."""
    return lean_tables.render_rows(table, context)
