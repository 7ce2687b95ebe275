"""Forms of the report pages: the period pickers and the grid of yearly targets."""

import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import DateInput
from core.text import display_date
from reports.engine import METRICS, ReportStructure, today
from reports.services import MAX_TARGET


class ReportPeriodForm(forms.Form):
    """``?organization=<code>&year=2024&as_of=2024-09-30`` of the dashboard and its exports.

    Without a year: the current one, up to today. An as-of date outside the year is refused."""

    organization = forms.CharField(label=_("committee (code)"), required=False, max_length=40)
    year = forms.IntegerField(label=_("year"), required=False, min_value=1930, max_value=2200)
    as_of = forms.DateField(
        label=_("as of"),
        required=False,
        widget=DateInput(),
        help_text=_("Count the events up to this date; the target stays the whole year's."),
    )
    structure = forms.ChoiceField(
        label=_("organisations"), required=False, choices=ReportStructure.choices, initial=ReportStructure.END_DATE
    )

    def clean(self):
        data = super().clean()
        data["structure"] = data.get("structure") or ReportStructure.END_DATE
        if data.get("year") is None:
            data["year"] = (data.get("as_of") or today()).year
        as_of = data.get("as_of")
        if as_of is not None and as_of.year != data["year"]:
            self.add_error(
                "as_of",
                _("The as-of date must fall in %(year)s: from %(start)s to %(end)s.")
                % {
                    "year": data["year"],
                    "start": display_date(datetime.date(data["year"], 1, 1)),
                    "end": display_date(datetime.date(data["year"], 12, 31)),
                },
            )
        return data


class TargetYearForm(forms.Form):
    organization = forms.CharField(label=_("committee (code)"), required=False, max_length=40)
    year = forms.IntegerField(label=_("year"), required=False, min_value=1930, max_value=2200)

    def clean(self):
        data = super().clean()
        if data.get("year") is None:
            data["year"] = today().year
        return data


def target_field_name(committee, metric):
    return f"target-{committee.pk}-{metric}"


class TargetGridForm(forms.Form):
    """One whole-number field per committee and metric; an empty cell removes the target."""

    def __init__(self, *args, committees, existing=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.committees = list(committees)
        existing = existing or {}
        for committee in self.committees:
            for metric in METRICS:
                name = target_field_name(committee, metric)
                self.fields[name] = forms.IntegerField(
                    label=f"{committee.code}: {metric.label}",
                    required=False,
                    min_value=0,
                    max_value=MAX_TARGET,
                    initial=existing.get((committee.pk, metric.value)),
                    widget=forms.NumberInput(attrs={"class": "form-control form-control-sm", "min": 0, "step": 1}),
                )

    def grid(self):
        """``[(committee, [bound field per metric])]`` for the template; cells in error marked invalid."""
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
                widget.attrs["aria-invalid"] = "true"
        return [
            (committee, [self[target_field_name(committee, metric)] for metric in METRICS])
            for committee in self.committees
        ]

    def values(self):
        """``{(committee, metric): value or None}`` for ``reports.services.set_targets``."""
        return {
            (committee, metric.value): self.cleaned_data.get(target_field_name(committee, metric))
            for committee in self.committees
            for metric in METRICS
        }

    def field_for_error(self, key):
        """The cell of a ``set_targets`` error keyed ``"<code>:<metric>"`` (None: on top of the grid)."""
        code, _sep, metric = key.partition(":")
        committee = {committee.code: committee for committee in self.committees}.get(code)
        name = target_field_name(committee, metric) if committee is not None else None
        return name if name in self.fields else None


class StatutoryPeriodForm(forms.Form):
    """``?organization=<code>&year=2024&half=1`` or ``&start=…&end=…`` of the statutory forms' page."""

    organization = forms.CharField(label=_("committee (code)"), required=False, max_length=40)
    year = forms.IntegerField(label=_("year"), required=False, min_value=1930, max_value=2200)
    half = forms.TypedChoiceField(
        label=_("half-year"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("the whole year")), (1, _("first half")), (2, _("second half"))],
    )
    start = forms.DateField(label=_("from"), required=False, widget=DateInput())
    end = forms.DateField(label=_("to"), required=False, widget=DateInput())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            css = "form-select form-select-sm" if name == "half" else "form-control form-control-sm"
            field.widget.attrs["class"] = f"{css} is-invalid" if self.is_bound and name in self.errors else css

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start or end:
            if not (start and end):
                raise forms.ValidationError(_("Give both the start and the end, or a year."))
            if start > end:
                self.add_error("end", _("The end comes before the start."))
            for name in ("start", "end"):
                if data.get(name) and not 1930 <= data[name].year <= 2200:
                    self.add_error(name, _("Give a date between 1930 and 2200."))
            return data
        year = data.get("year") or today().year
        if data.get("half") == 1:
            data["start"], data["end"] = datetime.date(year, 1, 1), datetime.date(year, 6, 30)
        elif data.get("half") == 2:
            data["start"], data["end"] = datetime.date(year, 7, 1), datetime.date(year, 12, 31)
        else:
            data["start"], data["end"] = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
        data["year"] = year
        return data


class DeadlinesForm(forms.Form):
    """``?organization=<code>&date=…&kind=…&state=…`` of the "due and overdue" pages."""

    STATES = [("", _("due and overdue")), ("due", _("due")), ("overdue", _("overdue"))]

    organization = forms.CharField(label=_("organisation (code)"), required=False, max_length=40)
    date = forms.DateField(label=_("on"), required=False, widget=DateInput())
    kind = forms.ChoiceField(label=_("kind"), required=False)
    state = forms.ChoiceField(label=_("state"), required=False, choices=STATES)

    def __init__(self, *args, kinds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("all kinds")), *kinds]


class ApprovalActionForm(forms.Form):
    """A button of the dashboard's approval panel: submit, approve, return or reopen a period's figures."""

    organization = forms.CharField(label=_("organisation (code)"), max_length=40)
    year = forms.IntegerField(label=_("year"), min_value=1930, max_value=2200)
    half = forms.TypedChoiceField(label=_("half-year"), choices=[(0, "0"), (1, "1"), (2, "2")], coerce=int, initial=0)
    action = forms.ChoiceField(
        label=_("action"),
        choices=[("submit", "submit"), ("approve", "approve"), ("return", "return"), ("reopen", "reopen")],
    )
    comment = forms.CharField(label=_("comment"), required=False, max_length=1000)
