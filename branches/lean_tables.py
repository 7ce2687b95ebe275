"""The body of a django-tables2 table written in Python (``templates/django_tables2/lean.html``).

The same cells as django-tables2's own row loop, without its per-cell costs: a template
``{% for %}`` iteration and context push per cell, a look-up of the column by name, and an
``inspect.signature`` of the column's render function (about a fifth of a list page). Here each
column's render arguments and ``<td>`` attributes are read once per table rendering.

Limits, which no table of this project crosses: columns' ``td`` attributes do not depend on the
record or the value, and tables have no pinned rows.
"""

from django.template.base import render_value_in_context
from django.utils.safestring import mark_safe
from django_tables2.utils import signature

_RENDER_ARGUMENTS = "_lean_render_arguments"
_TD_ATTRS = "_lean_td_attrs"


def td_attrs(bound_column):
    """The ``<td>`` attributes of a column, computed once per table rendering."""
    cached = bound_column.__dict__.get(_TD_ATTRS)
    if cached is None:
        cached = bound_column.__dict__[_TD_ATTRS] = bound_column.attrs["td"].as_html()
    return cached


def _render_arguments(bound_column):
    """``(arguments, catch-all)`` of the column's render function, read once per bound column."""
    cached = bound_column.__dict__.get(_RENDER_ARGUMENTS)
    if cached is None:
        cached = bound_column.__dict__[_RENDER_ARGUMENTS] = signature(bound_column.render)
    return cached


def _call_render(row, bound_column, value=None):
    """What django-tables2's ``BoundRow._call_render`` does (``call_with_appropriate``), with the
    signature read once per column."""
    kwargs = row._optional_cell_arguments(bound_column, value)
    arguments, catch_all = _render_arguments(bound_column)
    if catch_all:
        content = bound_column.render(**kwargs)
    elif all(name in kwargs for name in arguments):
        content = bound_column.render(**{name: kwargs[name] for name in arguments})
    else:
        content = None
    return bound_column.link(content, **kwargs) if bound_column.link else content


def render_rows(table, context):
    """The ``<tr>`` elements of the table's current page (each cell as ``{{ cell }}`` writes it)."""
    columns = [(column, td_attrs(column), column.default) for column in table.columns]
    parts = []
    for row in table.paginated_rows:

        def render(bound_column, value=None, row=row):
            return _call_render(row, bound_column, value)

        parts.append(f"<tr {row.attrs.as_html()}>")
        for column, attrs, default in columns:
            cell = row._get_and_render_with(column, render_func=render, default=default)
            parts.append(f"<td {attrs}>{render_value_in_context(cell, context)}</td>")
        parts.append("</tr>")
    return mark_safe("".join(parts))  # noqa: S308 (cells escaped by render_value_in_context)
