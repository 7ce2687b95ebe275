"""Form plumbing: date inputs and the bridge from a service's errors to a form.

Forms only collect and type the input; every rule lives in a service."""

from django import forms
from django.utils.translation import gettext_lazy as _

from core.renderers import QuickSelect
from core.services import errors_by_field


class DateInput(forms.DateInput):
    """A date typed as Vietnam writes it, dd/mm/yyyy, in both languages (issue 16).

    A text field rather than the browser's ``type=date`` picker: that one shows the browser's own
    order (mm/dd/yyyy in an English browser), so the same page would read differently per machine.
    The value is shown in the first of ``DATE_INPUT_FORMATS`` (config/formats) and read in any of
    them: 25/10/2026, 25-10-2026, 25.10.2026 and ISO 2026-10-25. A button beside it opens a
    calendar that writes dd/mm/yyyy (flatpickr, ``static/js/datepicker.js``).
    """

    input_type = "text"

    def __init__(self, attrs=None):
        attrs = {
            "placeholder": _("dd/mm/yyyy"),
            "autocomplete": "off",
            "class": "date-input",
            "data-calendar-label": _("Open the calendar"),
            **(attrs or {}),
        }
        super().__init__(attrs=attrs)


def date_field(label, required=True, **kwargs):
    return forms.DateField(label=label, required=required, widget=DateInput(), **kwargs)


def apply_service_errors(form, error):
    """Put a service's ``ValidationError`` on the form: on the field it names, or at the top.

    A form may map the service's field names to its own (``field_for_error``); an error about a
    model field the form does not show goes on top, prefixed with that field's label.
    """
    field_for = getattr(form, "field_for_error", lambda key: key)
    for key, messages in errors_by_field(error):
        field = field_for(key) if key is not None else None
        if field is not None and field in form.fields:
            form.add_error(field, messages)
        elif field is None:
            form.add_error(None, messages)
        else:
            form.add_error(None, [f"{str(field_label(form, field)).capitalize()}: {message}" for message in messages])


def field_label(form, name):
    """The verbose name of the form's model field ``name``, or ``name`` itself."""
    model = getattr(getattr(form, "_meta", None), "model", None)
    try:
        return model._meta.get_field(name).verbose_name
    except Exception:  # noqa: BLE001 - any key a service uses
        return name


class CodeChoiceField(forms.ModelChoiceField):
    """A ``ModelChoiceField`` whose value is ``to_field_name`` (a code) matched without regard to
    case ("br-b" finds "BR-B"). Give it a picker (``core.widgets.use_picker``): its choices may be
    every organisation in the country, never to be listed in a page."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        key = self.to_field_name or "pk"
        value = str(value).strip()
        found = self.queryset.filter(**{f"{key}__iexact": value}).first() if key != "pk" else None
        if found is None and key == "pk" and value.isdigit():
            found = self.queryset.filter(pk=value).first()
        if found is None:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return found


DASHES = "---------"


def label_empty_choice(field):
    """A select's empty choice says what it means instead of Django's "---------": "— choose —"
    where a value is needed, "— none —" where it may stay empty."""
    label = _("— choose —") if field.required else _("— none —")
    if isinstance(field, forms.ModelChoiceField):
        if field.empty_label is not None:
            field.empty_label = label
    elif isinstance(field, forms.ChoiceField):
        choices = list(field.choices)
        if choices and choices[0][0] in ("", None) and str(choices[0][1]) == DASHES:
            field.choices = [("", label), *choices[1:]]
    return field


def label_empty_choices(form):
    """:func:`label_empty_choice` for every field of ``form``."""
    for field in form.fields.values():
        label_empty_choice(field)
    return form


class ServiceModelForm(forms.ModelForm):
    """A ModelForm for labels, widgets and initial values only: it never saves or validates the model.

    The view hands ``cleaned_data`` to a service function, which is the one place the rules live.
    """

    def __init__(self, *args, user=None, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.DateField):
                field.widget = DateInput()
            elif type(field.widget) is forms.Select:
                quick = QuickSelect(attrs=field.widget.attrs, choices=field.widget.choices)
                quick.is_required, quick.is_localized = field.widget.is_required, field.widget.is_localized
                field.widget = quick
        label_empty_choices(self)

    def _post_clean(self):
        pass

    def values(self):
        return {name: self.cleaned_data[name] for name in self.fields if name in self.cleaned_data}
