"""The autocomplete picker: a ``<select>`` that searches as the user types (issue 16).

:class:`Autocomplete` renders only the chosen option; ``static/js/autocomplete.js`` turns the
select into a Tom Select box (``static/vendor/tom-select/``) that asks the model's JSON endpoint
(:class:`core.views.AutocompleteView`) for the rows matching what is typed. The endpoint scopes
its rows with the same gate as the form's queryset, and the form still validates the value.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _


class Autocomplete(forms.Select):
    """A foreign-key picker searching by name (without marks or case) or code.

    ``url_name``: the model's endpoint (``"branches:organization_autocomplete"``);
    ``choice_set``: which of the endpoint's scoped querysets it offers (``""``: what the user may see);
    ``value_field``: what the option's value is (``"pk"``, or ``"code"`` for fields keyed by code);
    ``queryset``: where a chosen value's label is read when the field is not a model choice field;
    ``placeholder``: what an empty box says (what no choice means, e.g. "the place of residence").
    """

    def __init__(self, url_name, *, choice_set="", value_field="pk", queryset=None, placeholder=None, attrs=None):
        super().__init__(attrs=attrs)
        self.placeholder = placeholder
        self.url_name = url_name
        self.choice_set = choice_set
        self.value_field = value_field
        self.queryset = queryset

    def __deepcopy__(self, memo):
        copy = super().__deepcopy__(memo)
        copy.queryset = self.queryset
        return copy

    def url(self):
        params = {key: value for key, value in (("set", self.choice_set), ("value", self.value_field)) if value}
        if params.get("value") == "pk":
            params.pop("value")
        query = urlencode(params)
        return f"{reverse(self.url_name)}?{query}" if query else reverse(self.url_name)

    def build_attrs(self, base_attrs, extra_attrs=None):
        attrs = super().build_attrs(base_attrs, extra_attrs)
        attrs.update(
            {
                "data-autocomplete-url": self.url(),
                "data-placeholder": str(self.placeholder or _("Type a name or code…")),
                "data-no-results": str(_("Nothing found.")),
                "data-loading": str(_("Loading…")),
                "data-clear": str(_("Clear")),
            }
        )
        return attrs

    def optgroups(self, name, value, attrs=None):
        """The empty option and the chosen one: never the thousands of rows the endpoint pages through."""
        chosen = [str(item) for item in value if item not in ("", None)]
        empty_label = getattr(getattr(self.choices, "field", None), "empty_label", None) or ""
        if str(empty_label) == "---------":
            empty_label = ""
        options = [self.create_option(name, "", empty_label, not chosen, 0)]
        for index, (option_value, label) in enumerate(self.chosen_labels(chosen), start=1):
            options.append(self.create_option(name, option_value, label, True, index))
        return [(None, options, 0)]

    def chosen_labels(self, chosen):
        """``[(value, label)]`` of the chosen values; a malformed value (a NUL, letters for an id)
        has none: the form says why at the field."""
        chosen = [item for item in chosen if "\x00" not in item]
        if not chosen:
            return []
        try:
            return self._read_labels(chosen)
        except (ValueError, TypeError, OverflowError, ValidationError):
            return []

    def _read_labels(self, chosen):
        iterator = self.choices
        field = getattr(iterator, "field", None)
        if field is not None and hasattr(field, "queryset"):
            key = field.to_field_name or "pk"
            rows = field.queryset.filter(**{f"{key}__in": chosen})
            return [(str(field.prepare_value(row)), field.label_from_instance(row)) for row in rows]
        if self.queryset is not None:
            key = self.value_field
            rows = self.queryset.filter(**{f"{key}__in": chosen})
            return [(str(getattr(row, key)), str(row)) for row in rows]
        return [(item, item) for item in chosen]


def use_picker(field, widget):
    """Give a form field (already holding its scoped queryset) the picker ``widget``."""
    widget.is_required = field.required
    widget.attrs.update(field.widget_attrs(widget))
    if hasattr(field, "queryset"):
        widget.choices = field.choices
    field.widget = widget
    return field
