"""Filters of the organisation, member and prospect lists: the same filtersets drive the list
pages, the exports and the API list endpoints.

Choices of foreign keys come from the request user's scope (``visible_to``), so a filter
never lists an organisation the user may not see.
"""

import django_filters
from django.utils.translation import gettext_lazy as _

from branches.choices import MemberStatus, OrganizationKind, Position, ProspectStage
from branches.models import Member, Organization, Prospect, enterprise_model
from core.filtersets import TreeWithinFilter, YesNoFilter, search_names


def _user(request):
    return getattr(request, "user", None)


def visible_organizations(request):
    return Organization.objects.visible_to(_user(request)).only("id", "code", "name", "path", "depth")


def visible_enterprises(request):
    return enterprise_model().objects.visible_to(_user(request)).only("id", "tax_code", "name")


class SubtreeFilter(TreeWithinFilter):
    """Filter by an organisation including everything below it."""

    default_lookup_path = "organization__path"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("queryset", visible_organizations)
        super().__init__(*args, **kwargs)


class OrganizationFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    kind = django_filters.ChoiceFilter(choices=OrganizationKind.choices, label=_("kind"))
    within = SubtreeFilter(lookup_path="path", label=_("within"))
    active = YesNoFilter(field_name="dissolved_on", lookup_expr="isnull", label=_("active"))
    enterprise = django_filters.ModelChoiceFilter(queryset=visible_enterprises, label=_("enterprise"))

    class Meta:
        model = Organization
        fields = ["q", "kind", "within", "active", "enterprise"]

    def search(self, queryset, name, value):
        return search_names(queryset, value, icontains=["code"])


class MemberFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Name or card number"))
    status = django_filters.ChoiceFilter(choices=MemberStatus.choices, label=_("status"))
    official = YesNoFilter(
        field_name="official_on", lookup_expr="isnull", exclude=True, label=_("official (not probationary)")
    )
    is_business_owner = YesNoFilter(label=_("business owner"))
    position = django_filters.ChoiceFilter(choices=Position.choices, label=_("position"))
    admitted_year = django_filters.NumberFilter(
        field_name="admitted_on", lookup_expr="year", label=_("year of admission"), min_value=1930, max_value=2200
    )
    organization = SubtreeFilter(label=_("organisation"))
    enterprise = django_filters.ModelChoiceFilter(queryset=visible_enterprises, label=_("workplace enterprise"))

    class Meta:
        model = Member
        fields = [
            "q",
            "status",
            "official",
            "is_business_owner",
            "position",
            "admitted_year",
            "organization",
            "enterprise",
        ]

    def search(self, queryset, name, value):
        return search_names(queryset, value, exact=["party_card_number"])


class ProspectFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Name"))
    stage = django_filters.ChoiceFilter(choices=ProspectStage.choices, label=_("stage"))
    organization = SubtreeFilter(label=_("sponsoring organisation"))
    enterprise = django_filters.ModelChoiceFilter(queryset=visible_enterprises, label=_("workplace enterprise"))

    class Meta:
        model = Prospect
        fields = ["q", "stage", "organization", "enterprise"]

    def search(self, queryset, name, value):
        return search_names(queryset, value)
