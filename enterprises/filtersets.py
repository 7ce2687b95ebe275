"""Filters of the enterprise and mass-organisation lists (pages, exports and API alike)."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from branches.filtersets import SubtreeFilter
from core.filtersets import TreeWithinFilter, YesNoFilter, search_names
from enterprises.choices import MassOrganizationKind, OperatingStatus, Ownership, SizeClass
from enterprises.models import Enterprise, Locality, MassOrganization


class LocalityWithinFilter(TreeWithinFilter):
    """Filter by a locality including the units below it."""

    default_lookup_path = "locality__path"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("queryset", Locality.objects.only("id", "name", "path"))
        super().__init__(*args, **kwargs)


class LocalityFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    within = LocalityWithinFilter(lookup_path="path", label=_("within"))

    class Meta:
        model = Locality
        fields = ["q", "kind", "within"]

    def search(self, queryset, name, value):
        return search_names(queryset, value, icontains=["code"])


class EnterpriseFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Name or tax code"))
    ownership = django_filters.ChoiceFilter(choices=Ownership.choices, label=_("ownership"))
    size_class = django_filters.ChoiceFilter(choices=SizeClass.choices, label=_("size class"))
    operating_status = django_filters.ChoiceFilter(choices=OperatingStatus.choices, label=_("operating status"))
    locality = LocalityWithinFilter(label=_("locality"))
    managing_committee = SubtreeFilter(lookup_path="managing_committee__path", label=_("managing committee"))
    has_party_organization = YesNoFilter(method="filter_has_org", label=_("has a Party organisation"))

    class Meta:
        model = Enterprise
        fields = ["q", "ownership", "size_class", "operating_status", "locality", "managing_committee"]

    def search(self, queryset, name, value):
        return search_names(queryset, value, prefix=["tax_code"])

    def filter_has_org(self, queryset, name, value):
        if value is None:
            return queryset
        with_org = Q(organizations__dissolved_on__isnull=True, organizations__isnull=False)
        return queryset.filter(with_org).distinct() if value else queryset.exclude(with_org)


class MassOrganizationFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Name"))
    kind = django_filters.ChoiceFilter(choices=MassOrganizationKind.choices, label=_("kind"))
    active = YesNoFilter(field_name="dissolved_on", lookup_expr="isnull", label=_("active"))
    managing_committee = SubtreeFilter(
        lookup_path="enterprise__managing_committee__path", label=_("managing committee")
    )
    established_year = django_filters.NumberFilter(
        field_name="established_on", lookup_expr="year", label=_("year established"), min_value=1930, max_value=2200
    )

    class Meta:
        model = MassOrganization
        fields = ["q", "kind", "active", "managing_committee", "established_year"]

    def search(self, queryset, name, value):
        return search_names(queryset, value)
