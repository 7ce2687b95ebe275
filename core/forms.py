"""Form plumbing: date inputs and the bridge from a service's errors to a form.

Forms only collect and type the input; every rule lives in a service."""

from django import forms

from core.services import errors_by_field


class DateInput(forms.DateInput):
    """The browser's date picker; the value travels as ISO 8601 whatever the language."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


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

    def _post_clean(self):
        pass

    def values(self):
        return {name: self.cleaned_data[name] for name in self.fields if name in self.cleaned_data}
