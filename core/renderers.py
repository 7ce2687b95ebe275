"""The form renderer (``FORM_RENDERER``): Django's, with the common widgets written in Python.

Django writes each widget through its templates (``input.html`` including ``attrs.html``, a
``select.html`` including ``select_option.html`` per option): a template and a context per widget
and per option. The member's edit form has some twenty widgets, the lists' filters eight: their
templates took most of the form's rendering. :class:`QuickWidgetRenderer` writes the same HTML
for the plain inputs, the selects, the checkboxes and the text areas, each value passed through
the same filters and escaping as the templates do; any other template (a widget of the admin, a
form's own layout) is Django's.

Each Python writer stands for one template whose source it was written from (Django's, as
shipped): should an installed app or a Django release bring another source for that name, the
template is used again.
"""

from django import forms
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.forms.widgets import Select
from django.template import Context
from django.template.base import render_value_in_context
from django.template.exceptions import TemplateDoesNotExist
from django.utils.html import escape
from django.utils.safestring import SafeData, mark_safe

_INCLUDE_INPUT = '{% include "django/forms/widgets/input.html" %}\n'

#: The sources the writers below were written from (Django 5.2's templates).
SOURCES = {
    "django/forms/widgets/attrs.html": (
        "{% for name, value in widget.attrs.items %}{% if value is not False %} {{ name }}"
        "{% if value is not True %}=\"{{ value|stringformat:'s' }}\"{% endif %}{% endif %}{% endfor %}"
    ),
    "django/forms/widgets/input.html": (
        '<input type="{{ widget.type }}" name="{{ widget.name }}"{% if widget.value != None %} '
        "value=\"{{ widget.value|stringformat:'s' }}\"{% endif %}"
        '{% include "django/forms/widgets/attrs.html" %}>\n'
    ),
    "django/forms/widgets/select.html": (
        '<select name="{{ widget.name }}"{% include "django/forms/widgets/attrs.html" %}>'
        "{% for group_name, group_choices, group_index in widget.optgroups %}{% if group_name %}\n"
        '  <optgroup label="{{ group_name }}">{% endif %}{% for option in group_choices %}\n'
        "  {% include option.template_name with widget=option %}{% endfor %}{% if group_name %}\n"
        "  </optgroup>{% endif %}{% endfor %}\n</select>\n"
    ),
    "django/forms/widgets/select_option.html": (
        "<option value=\"{{ widget.value|stringformat:'s' }}\""
        '{% include "django/forms/widgets/attrs.html" %}>{{ widget.label }}</option>\n'
    ),
    "django/forms/widgets/textarea.html": (
        '<textarea name="{{ widget.name }}"{% include "django/forms/widgets/attrs.html" %}>\n'
        "{% if widget.value %}{{ widget.value }}{% endif %}</textarea>\n"
    ),
    **{
        f"django/forms/widgets/{kind}.html": _INCLUDE_INPUT
        for kind in ("text", "number", "email", "date", "hidden", "checkbox", "password", "url", "tel", "search")
    },
}

#: A template context as the renderer's engine makes one (autoescaping, the settings' l10n and tz).
_CONTEXT = Context()


def _shown(value):
    """``{{ value }}``: localised, then escaped unless safe."""
    return render_value_in_context(value, _CONTEXT)


def _string(value):
    """``{{ value|stringformat:'s' }}``."""
    if isinstance(value, tuple):
        value = str(value)
    try:
        text = "%s" % value  # noqa: UP031 (the filter's own formatting)
    except (ValueError, TypeError):
        text = ""
    return text if isinstance(value, SafeData) else escape(text)


def _attrs(attrs):
    return "".join(
        f" {_shown(name)}" if value is True else f' {_shown(name)}="{_string(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _input(widget):
    value = widget["value"]
    shown = f' value="{_string(value)}"' if value != None else ""  # noqa: E711 (the template's comparison)
    return f'<input type="{_shown(widget["type"])}" name="{_shown(widget["name"])}"{shown}{_attrs(widget["attrs"])}>\n'


def _included_input(widget):
    return _input(widget) + "\n"


_OPTION = "django/forms/widgets/select_option.html"


def _option(option):
    return f'<option value="{_string(option["value"])}"{_attrs(option["attrs"])}>{_shown(option["label"])}</option>\n'


def _select(widget):
    parts = [f'<select name="{_shown(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_shown(group_name)}">')
        for option in group_choices:
            if option.get("template_name") != _OPTION:
                return None  # an option of its own template: Django writes the select
            parts.append("\n  " + _option(option))
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>\n")
    return "".join(parts)


def _textarea(widget):
    value = widget["value"]
    text = _shown(value) if value else ""
    return f'<textarea name="{_shown(widget["name"])}"{_attrs(widget["attrs"])}>\n{text}</textarea>\n'


_WRITERS = {
    "django/forms/widgets/input.html": _input,
    "django/forms/widgets/select.html": _select,
    "django/forms/widgets/textarea.html": _textarea,
    **{name: _included_input for name, source in SOURCES.items() if source == _INCLUDE_INPUT},
}
#: The templates each writer stands for (a writer is used only when all of them are as above).
_WRITES = {
    "django/forms/widgets/input.html": ("django/forms/widgets/input.html", "django/forms/widgets/attrs.html"),
    "django/forms/widgets/select.html": (
        "django/forms/widgets/select.html",
        "django/forms/widgets/attrs.html",
        _OPTION,
    ),
    "django/forms/widgets/textarea.html": ("django/forms/widgets/textarea.html", "django/forms/widgets/attrs.html"),
}


class QuickSelect(forms.Select):
    """Django's ``Select``, whose options a :class:`QuickWidgetRenderer` writes straight from its
    choices: without the dictionary per option (``optgroups``) its template context holds, which
    cost more than writing them (a member's form has about a hundred options). The same HTML as
    Django's templates; any other renderer, or a select of its own templates, renders as Django's."""

    def render(self, name, value, attrs=None, renderer=None):
        renderer = renderer or get_default_renderer()
        if (
            not isinstance(renderer, QuickWidgetRenderer)
            or self.allow_multiple_selected
            or self.template_name != Select.template_name
            or self.option_template_name != _OPTION
            or Select.template_name not in renderer.writers()
        ):
            return super().render(name, value, attrs, renderer)
        chosen = self.format_value(value)
        parts = [f'<select name="{_shown(name)}"{_attrs(self.build_attrs(self.attrs, attrs))}>']
        has_selected = False
        for option_value, option_label in self.choices:
            grouped = isinstance(option_label, list | tuple)
            if grouped:
                parts.append(f'\n  <optgroup label="{_shown(option_value)}">')
            for subvalue, sublabel in (
                option_label if grouped else [("" if option_value is None else option_value, option_label)]
            ):
                selected = not has_selected and str(subvalue) in chosen
                has_selected |= selected
                shown = " selected" if selected else ""
                parts.append(f'\n  <option value="{_string(subvalue)}"{shown}>{_shown(sublabel)}</option>\n')
            if grouped:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>\n")
        return mark_safe("".join(parts).strip())  # noqa: S308 (values and labels escaped as the templates do)


class QuickWidgetRenderer(DjangoTemplates):
    """Django's template renderer, writing the common widgets' templates in Python."""

    def __init__(self):
        super().__init__()
        self._writers = None

    def writers(self):
        """The writers whose templates are Django's as written above (read once)."""
        if self._writers is None:
            self._writers = {name: write for name, write in _WRITERS.items() if self._as_written(name)}
        return self._writers

    def _as_written(self, name):
        names = _WRITES.get(name) or (name, *_WRITES["django/forms/widgets/input.html"])
        try:
            return all(self.get_template(each).template.source == SOURCES[each] for each in names)
        except (TemplateDoesNotExist, AttributeError):
            return False

    def render(self, template_name, context, request=None):
        write = self.writers().get(template_name) if request is None else None
        widget = context.get("widget") if write is not None else None
        if isinstance(widget, dict):
            html = write(widget)
            if html is not None:
                return html.strip()  # as BaseRenderer.render strips the template's output
        return super().render(template_name, context, request)
