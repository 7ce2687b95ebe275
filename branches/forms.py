"""Forms of the member, prospect and lifecycle pages.

Forms only collect and type the input: every rule lives in ``branches.services``. Choices of
foreign keys come from the user's scope (``visible_to`` / ``editable_by``), so a foreign key
from another scope is refused as an invalid choice before any service runs.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from branches.choices import GRASSROOTS_KINDS, LEAVING_REASONS, PeriodEndReason
from branches.models import Member, Organization, Prospect, enterprise_model
from branches.services import (
    MEMBER_ADMISSION_FIELDS,
    MEMBER_EDITABLE_FIELDS,
    PROSPECT_FIELDS,
    default_official_date,
    today,
)
from core.forms import ServiceModelForm, date_field


class AsOfForm(forms.Form):
    """``?as_of=2025-06-30`` of the organisation tree: the tree of that date (default today)."""

    as_of = date_field(_("as of"), required=False, help_text=_("Show the tree as it stood on this date."))

    def clean_as_of(self):
        value = self.cleaned_data.get("as_of")
        if value is not None and not 1930 <= value.year <= 2200:
            raise forms.ValidationError(_("Give a date between 1930 and 2200."))
        return value

    def date(self):
        """The date asked for, or today (also when the input is invalid: the form shows why)."""
        if self.is_valid() and self.cleaned_data.get("as_of"):
            return self.cleaned_data["as_of"]
        return today()


def visible_enterprises(user):
    return enterprise_model().objects.visible_to(user).order_by("sort_name")


def editable_grassroots(user):
    """Organisations a user may admit members to or sponsor prospects in."""
    return (
        Organization.objects.editable_by(user)
        .filter(kind__in=GRASSROOTS_KINDS, dissolved_on__isnull=True)
        .order_by("path")
    )


class MemberAdmitForm(ServiceModelForm):
    """Admit a member directly (not from a prospect)."""

    class Meta:
        model = Member
        fields = list(MEMBER_ADMISSION_FIELDS)
        labels = {"organization": _("admitting organisation")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        organizations = editable_grassroots(self.user)
        self.fields["organization"].queryset = organizations
        self.fields["enterprise"].queryset = visible_enterprises(self.user)
        if not self.is_bound and len(organizations) == 1:
            self.fields["organization"].initial = organizations[0].pk
        self.fields["admitted_on"].initial = today()


class MemberEditForm(ServiceModelForm):
    class Meta:
        model = Member
        fields = list(MEMBER_EDITABLE_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["enterprise"].queryset = visible_enterprises(self.user)


class RecognizeOfficialForm(forms.Form):
    official_on = date_field(_("official on"))

    def __init__(self, *args, member=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if member is not None and not self.is_bound:
            self.fields["official_on"].initial = min(default_official_date(member.admitted_on), today())


class TransferForm(forms.Form):
    """Transfer to another organisation (named by its code: no list of foreign organisations) or home."""

    TO_ORGANIZATION = "organization"
    TO_RESIDENCE = "residence"

    destination = forms.ChoiceField(
        label=_("transfer to"),
        choices=[(TO_ORGANIZATION, _("another Party organisation")), (TO_RESIDENCE, _("the place of residence"))],
        widget=forms.RadioSelect,
        initial=TO_ORGANIZATION,
    )
    to_organization = forms.CharField(
        label=_("code of the receiving organisation"),
        required=False,
        max_length=40,
        help_text=_("Ask the receiving organisation for its code."),
    )
    on = date_field(_("date of transfer"))

    def __init__(self, *args, member=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.member = member
        if not self.is_bound:
            self.fields["on"].initial = today()

    def clean(self):
        cleaned = super().clean()
        code = (cleaned.get("to_organization") or "").strip()
        if cleaned.get("destination") == self.TO_ORGANIZATION:
            if not code:
                self.add_error("to_organization", _("Give the code of the receiving organisation."))
                return cleaned
            organization = Organization.objects.transfer_destinations().filter(code__iexact=code).first()
            if organization is None:
                self.add_error("to_organization", _("No grassroots organisation has this code."))
            cleaned["to_organization"] = organization
        else:
            cleaned["to_organization"] = None
        return cleaned


class LeavingForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("why the member left"),
        choices=[(value, PeriodEndReason(value).label) for value in LEAVING_REASONS],
    )
    on = date_field(_("date"))

    def __init__(self, *args, member=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["on"].initial = today()


class ProspectForm(ServiceModelForm):
    class Meta:
        model = Prospect
        fields = list(PROSPECT_FIELDS)
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        organizations = editable_grassroots(self.user)
        self.fields["organization"].queryset = organizations
        self.fields["enterprise"].queryset = visible_enterprises(self.user)
        if not self.is_bound and self.instance.pk is None:
            if len(organizations) == 1:
                self.fields["organization"].initial = organizations[0].pk
            self.fields["identified_on"].initial = today()


class ProspectWithdrawForm(forms.Form):
    closed_on = date_field(_("withdrawn or left on"))

    def __init__(self, *args, prospect=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["closed_on"].initial = today()


class ProspectAdmitForm(forms.Form):
    admitted_on = date_field(_("admitted on"))
    citizen_id = forms.CharField(
        label=_("citizen ID"),
        max_length=12,
        required=False,
        help_text=_("Leave empty to keep the citizen ID recorded with the prospect."),
    )
    party_card_number = forms.CharField(label=_("Party card number"), max_length=20, required=False)
    official_on = date_field(_("official on"), required=False)

    def __init__(self, *args, prospect=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["admitted_on"].initial = today()
