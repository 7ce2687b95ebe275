"""Forms of the enterprise and mass-organisation pages; every rule lives in ``enterprises.services``."""

from django import forms
from django.utils.translation import gettext_lazy as _

from branches.forms import enterprise_picker, organization_picker
from branches.models import Organization
from branches.services import today
from core.forms import DateInput, ServiceModelForm, date_field
from core.scoping import scope_for
from core.widgets import Autocomplete, use_picker
from enterprises.models import Enterprise, Locality, MassOrganization
from enterprises.services import ENTERPRISE_FIELDS

#: The enterprise pickers' querysets (enterprises:enterprise_autocomplete ``?set=``).
ENTERPRISE_CHOICE_SETS = {
    "": lambda user: Enterprise.objects.visible_to(user),
    "editable": lambda user: Enterprise.objects.editable_by(user),
}

#: The locality pickers' querysets (enterprises:locality_autocomplete ``?set=``); the whole
#: geography is public to signed-in users, the provinces-and-districts set is for administrators.
LOCALITY_CHOICE_SETS = {
    "": lambda user: Locality.objects.visible_to(user),
    "admin": lambda user: Locality.objects.all() if scope_for(user).administers else Locality.objects.none(),
}


def locality_picker(choice_set="", **kwargs):
    return Autocomplete("enterprises:locality_autocomplete", choice_set=choice_set, **kwargs)


class EnterpriseForm(ServiceModelForm):
    class Meta:
        model = Enterprise
        fields = list(ENTERPRISE_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["managing_committee"].queryset = Organization.objects.assignable_managing_committees(
            self.user
        ).order_by("path")
        use_picker(self.fields["managing_committee"], organization_picker("managing"))
        self.fields["locality"].queryset = Locality.objects.visible_to(self.user).order_by("path")
        use_picker(self.fields["locality"], locality_picker())


class MassOrganizationCreateForm(ServiceModelForm):
    """Establish a mass organisation together with its founding return."""

    founding_members = forms.IntegerField(label=_("founding members"), min_value=1, max_value=1_000_000)

    class Meta:
        model = MassOrganization
        fields = ["enterprise", "kind", "name", "established_on"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["enterprise"].queryset = Enterprise.objects.editable_by(self.user).order_by("sort_name")
        use_picker(self.fields["enterprise"], enterprise_picker("editable"))
        self.fields["established_on"].widget = DateInput()


class MassOrganizationEditForm(ServiceModelForm):
    class Meta:
        model = MassOrganization
        fields = ["name", "kind"]


class MembershipReturnForm(forms.Form):
    date = date_field(_("date"))
    members_total = forms.IntegerField(label=_("members in total"), min_value=0, max_value=10_000_000)
    members_admitted = forms.IntegerField(
        label=_("members admitted since the previous return"), min_value=0, max_value=10_000_000
    )

    def __init__(self, *args, mass_organization=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["date"].initial = today()


class MembershipReturnCorrectForm(forms.Form):
    date = date_field(_("date"))
    members_total = forms.IntegerField(label=_("members in total"), min_value=0, max_value=10_000_000)
    members_admitted = forms.IntegerField(
        label=_("members admitted since the previous return"), min_value=0, max_value=10_000_000
    )
    reason = forms.CharField(label=_("reason for the correction"), max_length=200)

    def __init__(self, *args, membership_return=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound and membership_return is not None:
            for name in ("date", "members_total", "members_admitted"):
                self.fields[name].initial = getattr(membership_return, name)


class MassOrganizationDissolveForm(forms.Form):
    dissolved_on = date_field(_("dissolved on"))

    def __init__(self, *args, mass_organization=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["dissolved_on"].initial = today()
