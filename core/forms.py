"""Form plumbing: date inputs and the bridge from a service's errors to a form.

Forms only collect and type the input; every rule lives in a service."""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS


class DateInput(forms.DateInput):
    """The browser's date picker; the value travels as ISO 8601 whatever the language."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def date_field(label, required=True, **kwargs):
    return forms.DateField(label=label, required=required, widget=DateInput(), **kwargs)


def apply_service_errors(form, error):
    """Put a service's ``ValidationError`` on the form: known fields on the field, the rest on top."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            target = field if field in form.fields and field != NON_FIELD_ERRORS else None
            for message in messages:
                form.add_error(target, message)
    else:
        for message in error.messages:
            form.add_error(None, message)



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
