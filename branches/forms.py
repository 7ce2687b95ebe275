"""Forms of the member, prospect and lifecycle pages.

Forms only collect and type the input: every rule lives in ``branches.services``. Choices of
foreign keys come from the user's scope (``visible_to`` / ``editable_by``), so a foreign key
from another scope is refused as an invalid choice before any service runs.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from branches.choices import GRASSROOTS_KINDS, LEAVING_REASONS, OrganizationKind, PeriodEndReason, TransferKind
from branches.models import Member, Organization, Prospect, enterprise_model
from branches.services import (
    MEMBER_ADMISSION_FIELDS,
    MEMBER_EDITABLE_FIELDS,
    PROSPECT_FIELDS,
    probation_ends_on,
    today,
)
from core.forms import CodeChoiceField, ServiceModelForm, date_field
from core.scoping import scope_for
from core.widgets import Autocomplete, use_picker


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


def possible_parents():
    """Organisations another may sit under: committees and grassroots committees."""
    return Organization.objects.filter(kind__in=[OrganizationKind.COMMITTEE, OrganizationKind.GRASSROOTS_COMMITTEE])


def transfer_destinations(user):
    """Active grassroots organisations a member may be transferred to (any subtree), for those who write."""
    if not scope_for(user).may_write:
        return Organization.objects.none()
    return Organization.objects.transfer_destinations().filter(dissolved_on__isnull=True)


def _administered(queryset):
    return lambda user: queryset() if scope_for(user).administers else Organization.objects.none()


#: The organisation pickers' querysets (branches:organization_autocomplete ``?set=``), each the
#: one its form validates against.
ORGANIZATION_CHOICE_SETS = {
    "": lambda user: Organization.objects.visible_to(user),
    "committees": lambda user: Organization.objects.visible_to(user).committees(),
    "admitting": editable_grassroots,
    "managing": lambda user: Organization.objects.assignable_managing_committees(user),
    "transfer": transfer_destinations,
    "parents": _administered(possible_parents),
    "active-parents": _administered(lambda: possible_parents().filter(dissolved_on__isnull=True)),
    "active-grassroots": _administered(
        lambda: Organization.objects.filter(kind__in=GRASSROOTS_KINDS, dissolved_on__isnull=True)
    ),
    "active": _administered(lambda: Organization.objects.filter(dissolved_on__isnull=True)),
}


def organization_picker(choice_set="", **kwargs):
    return Autocomplete("branches:organization_autocomplete", choice_set=choice_set, **kwargs)


def enterprise_picker(choice_set="", **kwargs):
    return Autocomplete("enterprises:enterprise_autocomplete", choice_set=choice_set, **kwargs)


class MemberAdmitForm(ServiceModelForm):
    """Admit a member directly (not from a prospect)."""

    class Meta:
        model = Member
        fields = list(MEMBER_ADMISSION_FIELDS)
        labels = {"organization": _("admitting organisation"), "admitted_on": _("date of the admission decision")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        organizations = editable_grassroots(self.user)
        self.fields["organization"].queryset = organizations
        use_picker(self.fields["organization"], organization_picker("admitting"))
        self.fields["enterprise"].queryset = visible_enterprises(self.user)
        use_picker(self.fields["enterprise"], enterprise_picker())
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
        use_picker(self.fields["enterprise"], enterprise_picker())


class DecisionForm(forms.Form):
    """The number and date of the decision (or letter) behind a lifecycle step."""

    decision_number = forms.CharField(label=_("number of the decision"), max_length=50, required=False)
    decided_on = date_field(_("date of the decision"), required=False)


class RecognizeOfficialForm(DecisionForm):
    """Recognition is dated at the end of the 12 months of probation (the service refuses another date)."""

    official_on = date_field(_("official on"), required=False)
    field_order = ["official_on", "decision_number", "decided_on"]

    def __init__(self, *args, member=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if member is not None:
            mark = probation_ends_on(admitted_on=member.admitted_on, ceremony_on=member.ceremony_on)
            self.fields["official_on"].initial = mark
            self.fields["official_on"].help_text = _(
                "The end of the 12 months of probation, %(date)s, even when the meeting or the decision is later."
            ) % {"date": mark.strftime("%d/%m/%Y")}


class CeremonyForm(forms.Form):
    ceremony_on = date_field(_("admission ceremony on"))

    def __init__(self, *args, member=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["ceremony_on"].initial = today()


def destination_label(organization):
    return f"{organization.name} ({organization.code})"


def destination_field(**kwargs):
    """The receiving organisation, anywhere in the country, its value its code; the form gives it
    the picker (:func:`pick_destination`), never a list of every organisation."""
    field = CodeChoiceField(
        Organization.objects.transfer_destinations().filter(dissolved_on__isnull=True),
        to_field_name="code",
        widget=organization_picker("transfer", value_field="code"),
        **kwargs,
    )
    field.label_from_instance = destination_label
    return field


def pick_destination(field, user):
    """The receiving organisation's field shown as the picker (typed part of a name or code, the
    value its code), over the organisations ``user`` may transfer to."""
    use_picker(field, organization_picker("transfer", value_field="code", queryset=transfer_destinations(user)))


class TransferForm(DecisionForm):
    """Issue a transfer: to another organisation or to the place of residence, with the
    introduction letter; official, or temporary for work or study until a date. The receiving
    organisation is picked by typing part of its name or code (active grassroots organisations of
    any subtree, page by page, never a list of them all); the value is its code."""

    TO_ORGANIZATION = "organization"
    TO_RESIDENCE = "residence"

    destination = forms.ChoiceField(
        label=_("transfer to"),
        choices=[(TO_ORGANIZATION, _("another Party organisation")), (TO_RESIDENCE, _("the place of residence"))],
        widget=forms.RadioSelect,
        initial=TO_ORGANIZATION,
    )
    to_organization = destination_field(
        label=_("receiving organisation"),
        required=False,
        help_text=_("Type part of its name or its code."),
    )
    kind = forms.ChoiceField(
        label=_("kind of transfer"), choices=TransferKind.choices, initial=TransferKind.OFFICIAL, required=False
    )
    on = date_field(_("date of transfer"), help_text=_("The membership here ends on this day."))
    ends_on = date_field(
        _("temporary until"),
        required=False,
        help_text=_("Temporary transfers: work away 3 months to under 1 year, study 3 months to 2 years."),
    )
    field_order = ["destination", "to_organization", "kind", "on", "decision_number", "decided_on", "ends_on"]

    def __init__(self, *args, member=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["decision_number"].label = _("number of the introduction letter")
        self.fields["decided_on"].label = _("date of the introduction letter")
        self.fields["decided_on"].help_text = _("Leave empty when it is the date of transfer.")
        self.member = member
        pick_destination(self.fields["to_organization"], user)
        if not self.is_bound:
            self.fields["on"].initial = today()

    def clean(self):
        cleaned = super().clean()
        cleaned["kind"] = cleaned.get("kind") or TransferKind.OFFICIAL
        if cleaned.get("destination") == self.TO_ORGANIZATION:
            if cleaned.get("to_organization") is None and "to_organization" not in self.errors:
                self.add_error("to_organization", _("Choose the receiving organisation."))
        else:
            cleaned["to_organization"] = None
            cleaned["kind"] = TransferKind.OFFICIAL
        return cleaned


class ConfirmTransferForm(forms.Form):
    presented_on = date_field(_("letter presented on"))

    def __init__(self, *args, transfer=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["presented_on"].initial = today()


class CorrectionForm(forms.Form):
    """Every correction says why (kept in the history)."""

    reason = forms.CharField(label=_("reason for the correction"), max_length=200)


class AdmissionCorrectionForm(CorrectionForm):
    """An admission's dates and decision, corrected with a reason."""

    admitted_on = date_field(_("date of the admission decision"))
    admission_decision_number = forms.CharField(
        label=_("number of the admission decision"), max_length=50, required=False
    )
    admission_decided_by = forms.CharField(
        label=_("committee that decided the admission"), max_length=200, required=False
    )
    dossier_reviewed_on = date_field(_("dossier reviewed on"), required=False)
    ceremony_on = date_field(_("admission ceremony on"), required=False)
    field_order = [
        "admitted_on",
        "admission_decision_number",
        "admission_decided_by",
        "dossier_reviewed_on",
        "ceremony_on",
        "reason",
    ]

    def __init__(self, *args, member=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound and member is not None:
            for name in self.fields:
                if name != "reason":
                    self.fields[name].initial = getattr(member, name)


class UndoLeavingForm(CorrectionForm):
    def __init__(self, *args, member=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)


class CancelTransferForm(CorrectionForm):
    def __init__(self, *args, transfer=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)


class EndTemporaryTransferForm(forms.Form):
    def __init__(self, *args, transfer=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)


class RedirectTransferForm(CorrectionForm):
    to_organization = destination_field(
        label=_("the right receiving organisation"), help_text=_("Type part of its name or its code.")
    )
    field_order = ["to_organization", "reason"]

    def __init__(self, *args, transfer=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        pick_destination(self.fields["to_organization"], user)


class LeavingForm(DecisionForm):
    reason = forms.ChoiceField(
        label=_("why the member left"),
        choices=[(value, PeriodEndReason(value).label) for value in LEAVING_REASONS],
    )
    on = date_field(_("date"))
    field_order = ["reason", "on", "decision_number", "decided_on"]

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
        use_picker(self.fields["organization"], organization_picker("admitting"))
        self.fields["enterprise"].queryset = visible_enterprises(self.user)
        use_picker(self.fields["enterprise"], enterprise_picker())
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
    admitted_on = date_field(_("date of the admission decision"))
    citizen_id = forms.CharField(
        label=_("citizen ID"),
        max_length=12,
        required=False,
        help_text=_("Leave empty to keep the citizen ID recorded with the prospect."),
    )
    party_card_number = forms.CharField(label=_("Party card number"), max_length=20, required=False)
    official_on = date_field(_("official on"), required=False)
    dossier_reviewed_on = date_field(_("dossier reviewed on"), required=False)
    over_age_approved = forms.BooleanField(label=_("admission over 60 approved"), required=False)
    over_age_approval_reference = forms.CharField(
        label=_("reference of the approval over 60"), max_length=100, required=False
    )
    admission_decision_number = forms.CharField(
        label=_("number of the admission decision"), max_length=50, required=False
    )
    admission_decided_by = forms.CharField(
        label=_("committee that decided the admission"), max_length=200, required=False
    )
    ceremony_on = date_field(_("admission ceremony on"), required=False)

    def __init__(self, *args, prospect=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["admitted_on"].initial = today()
