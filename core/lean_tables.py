"""The body of a django-tables2 table written in Python (``templates/django_tables2/lean.html``).

The same cells as django-tables2's own row loop, without its per-cell costs: a template
``{% for %}`` iteration and context push per cell, a look-up of the column by name, an
``inspect.signature`` of the column's render function (about a fifth of a list page), and the
accessor's splitting and model-field look-up. Here each column's render arguments, ``<td>``
attributes and way of reading the value are decided once per table rendering.

A choice field's label comes from its choices read once per table rendering (Django's
``get_FOO_display`` builds a dictionary of them per call), and a link to a URL that takes the
record's key is the URL reversed once with a stand-in key, the key put in its place per row.

Limits, which no table of this project crosses: columns' ``td`` attributes do not depend on the
record or the value, and tables have no pinned rows.
"""

from inspect import getattr_static

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.template.base import render_value_in_context
from django.urls import reverse
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable
from django.utils.html import conditional_escape, escape
from django.utils.safestring import mark_safe
from django_tables2.columns import ManyToManyColumn
from django_tables2.columns.base import Column, LinkTransform
from django_tables2.rows import BoundRow
from django_tables2.utils import A, Accessor, signature

_RENDER_ARGUMENTS = "_lean_render_arguments"
_TD_ATTRS = "_lean_td_attrs"
_READER = "_lean_reader"
_LINK = "_lean_link"
#: The stand-in key of a link's URL reversed once per table rendering (digits no URL holds).
_KEY = 7_350_918_264_019
#: What a cell reader returns when django-tables2's own path must read the value.
STOCK = object()


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


def _reader(bound_column, record):
    """How to read the column's value from records of ``record``'s type, decided once per column.

    django-tables2 (``BoundRow._get_and_render_with``) splits the accessor, looks the model field
    up and tries a dictionary look-up before the attribute, for every cell. For an accessor of
    one name on a model instance that comes to: the field's choice label (``get_FOO_display``)
    when the field has choices, else the attribute. Anything else (a path, a callable, a missing
    attribute, a many-to-many column) is left to django-tables2: the reader returns STOCK.
    """
    cached = bound_column.__dict__.get(_READER)
    if cached is not None and cached[0] is type(record):
        return cached[1]
    reader = None
    bits = A(bound_column.accessor).bits
    if (
        isinstance(record, models.Model)
        and len(bits) == 1
        and not hasattr(type(record), "__getitem__")
        and not isinstance(bound_column.column, ManyToManyColumn)
    ):
        name = bits[0]
        try:
            choices = getattr(record._meta.get_field(name), "choices", ())
        except FieldDoesNotExist:
            choices = ()
        display = f"get_{name}_display"
        if choices and _display_is_djangos(type(record), display):
            labels = dict(make_hashable(record._meta.get_field(name).flatchoices))

            def reader(record):  # what Model._get_FIELD_display returns
                value = getattr(record, name)
                return force_str(labels.get(make_hashable(value), value), strings_only=True)
        elif choices and hasattr(record, display):

            def reader(record):
                return getattr(record, display)()
        else:

            def reader(record):
                try:
                    value = getattr(record, name)
                except Exception:  # noqa: BLE001 - django-tables2's path decides what a failing look-up shows
                    return STOCK
                return STOCK if callable(value) else value

    bound_column.__dict__[_READER] = (type(record), reader)
    return reader


def _display_is_djangos(model, display):
    """Whether ``model.get_FOO_display`` is the one Django's field adds (not a model's own)."""
    try:
        method = getattr_static(model, display)
    except AttributeError:
        return False
    return getattr(method, "func", None) is models.Model._get_FIELD_display


def keyed_url(viewname, name="pk"):
    """``url(key)``: the URL of ``viewname`` for a whole-number key, reversed once (per call of
    this function) with a stand-in key; other keys are reversed as usual."""
    url = reverse(viewname, kwargs={name: _KEY})
    if url.count(str(_KEY)) != 1:
        return lambda key: reverse(viewname, kwargs={name: key})

    def keyed(key):
        if type(key) is int and key >= 0:  # as an int converter writes it
            return url.replace(str(_KEY), str(key))
        return reverse(viewname, kwargs={name: key})

    return keyed


def _link(bound_column):
    """``(URL with the stand-in key, accessor of the key)`` when the column links each row to a
    URL reversed with one keyword argument read from the record (``linkify=(name, {"pk":
    A("pk")})``) and no ``<a>`` attributes, else None (django-tables2 writes the link). Decided
    once per column and table rendering."""
    if _LINK in bound_column.__dict__:
        return bound_column.__dict__[_LINK]
    link = bound_column.link
    decided = None
    reverse_args = getattr(link, "reverse_args", None) or {}
    kwargs = reverse_args.get("kwargs") or {}
    if (
        type(link) is LinkTransform
        and link.url is None
        and not link.attrs
        and isinstance(reverse_args.get("viewname"), str)
        and set(reverse_args) == {"viewname", "kwargs"}
        and len(kwargs) == 1
        and isinstance(next(iter(kwargs.values())), Accessor)
    ):
        name, accessor = next(iter(kwargs.items()))
        url = reverse(reverse_args["viewname"], kwargs={name: _KEY})
        if url.count(str(_KEY)) == 1:
            decided = (url, accessor)
    bound_column.__dict__[_LINK] = decided
    return decided


def _linked(bound_column, content, record, kwargs):
    """The cell's content in its link, as ``LinkTransform`` writes it."""
    fast = _link(bound_column)
    if fast is not None:
        url, accessor = fast
        key = accessor.resolve(record)
        if type(key) is int and key >= 0:  # as an int converter writes it
            href = url.replace(str(_KEY), str(key))
            return mark_safe(f'<a href="{escape(href)}">{conditional_escape(content)}</a>')  # noqa: S308 (escaped)
    return bound_column.link(content, **kwargs)


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
    return _linked(bound_column, content, row.record, kwargs) if bound_column.link else content


def _as_read(bound_column):
    """Whether a cell is its value as read: the column renders with django-tables2's own
    ``Column.render`` (which returns the value) and links nowhere, so no render call is needed."""
    return not bound_column.link and getattr(bound_column.render, "__func__", None) is Column.render


def _row_attrs(table, row):
    """The ``<tr>`` attributes as ``row.attrs.as_html()`` writes them; for a table without
    ``row_attrs``, its even/odd class alone, without building an attribute dictionary per row."""
    if not table.row_attrs and type(row).attrs is BoundRow.attrs:
        return f'class="{row.get_even_odd_css_class()}"'
    return row.attrs.as_html()


def render_rows(table, context):
    """The ``<tr>`` elements of the table's current page (each cell as ``{{ cell }}`` writes it)."""
    columns = [(column, td_attrs(column), column.default, _as_read(column)) for column in table.columns]
    parts = []
    for row in table.paginated_rows:

        def render(bound_column, value=None, row=row):
            return _call_render(row, bound_column, value)

        parts.append(f"<tr {_row_attrs(table, row)}>")
        for column, attrs, default, as_read in columns:
            reader = _reader(column, row.record)
            value = STOCK if reader is None else reader(row.record)
            if value is STOCK:
                cell = row._get_and_render_with(column, render_func=render, default=default)
            elif value in column.column.empty_values:
                cell = default
            else:
                cell = value if as_read else render(column, value)
            parts.append(f"<td {attrs}>{render_value_in_context(cell, context)}</td>")
        parts.append("</tr>")
    return mark_safe("".join(parts))  # noqa: S308 (cells escaped by render_value_in_context)
