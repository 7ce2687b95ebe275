"""Serializers of localities, enterprises, mass organisations and their membership returns.

Writes go through ``enterprises.services``; enterprises are referenced by ``tax_code``,
committees and organisations by ``code``, localities by their official ``code``.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from branches.api.serializers import DecisionMixin, enterprise_field, locality_field
from branches.models import Organization
from core.api import (
    MAX_INTEGER,
    ParentCodeField,
    ScopedSlugRelatedField,
    ServiceModelSerializer,
    VersionedActionSerializer,
    VersionField,
)
from enterprises import services
from enterprises.models import Enterprise, Locality, MassOrganization, MembershipReturn


class LocalitySerializer(ServiceModelSerializer):
    parent = ParentCodeField(
        slug_field="code",
        queryset=Locality.objects.all(),
        scope=lambda user: Locality.objects.visible_to(user),
        required=False,
        allow_null=True,
        help_text=_("Official code of the unit above; empty for a province. Set on creation; then use move."),
    )

    class Meta:
        model = Locality
        fields = ["id", "code", "name", "kind", "parent", "depth", "ended_on"]
        read_only_fields = ["depth", "ended_on"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if getattr(instance, "name_as_of", None):  # the list as of a date: the name of that date
            data["name"] = instance.name_as_of
        return data

    def create(self, validated_data):
        return services.create_locality(self.acting_user, **validated_data)

    def update(self, instance, validated_data):
        return services.update_locality(self.acting_user, instance, **validated_data)


class MoveLocalitySerializer(DecisionMixin, serializers.Serializer):
    parent = locality_field(help_text=_("Official code of the new unit above."))
    on = serializers.DateField(required=False, help_text=_("Date the move takes effect (default today)."))


class RenameLocalitySerializer(DecisionMixin, serializers.Serializer):
    name = serializers.CharField(max_length=200, help_text=_("The new name."))
    on = serializers.DateField(required=False, help_text=_("Date the new name takes effect (default today)."))


class MergeLocalitiesSerializer(DecisionMixin, serializers.Serializer):
    sources = serializers.ListField(
        child=locality_field(),
        min_length=1,
        max_length=200,
        help_text=_("Official codes of the localities merged into this one."),
    )
    on = serializers.DateField(help_text=_("Date the merge takes effect."))


class AbolishLocalitySerializer(DecisionMixin, serializers.Serializer):
    on = serializers.DateField(help_text=_("Date the district is abolished."))


class EnterpriseSerializer(ServiceModelSerializer):
    locality = locality_field(help_text=_("Official code of the locality."))
    managing_committee = ScopedSlugRelatedField(
        slug_field="code",
        queryset=Organization.objects.all(),
        scope=lambda user: Organization.objects.assignable_managing_committees(user),
        help_text=_("Code of the committee responsible for Party building here."),
    )
    recorded_by = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    version = VersionField()

    class Meta:
        model = Enterprise
        fields = [
            "id",
            "tax_code",
            "name",
            "ownership",
            "locality",
            "industrial_park",
            "address",
            "size_class",
            "employees",
            "operating_status",
            "managing_committee",
            "recorded_by",
            "version",
        ]
        read_only_fields = ["recorded_by"]

    def create(self, validated_data):
        validated_data.pop("version", None)
        return services.create_enterprise(self.acting_user, **validated_data)

    def update(self, instance, validated_data):
        version = validated_data.pop("version", None)
        changes = self.changed_fields(instance, validated_data)
        if not changes:
            return instance
        return services.update_enterprise(self.acting_user, instance, expected_version=version, **changes)


class PassToCommitteeSerializer(VersionedActionSerializer):
    """Payload of ``enterprises/{id}/pass/``: the committee that manages it from a date (a restructuring)."""

    committee = ScopedSlugRelatedField(
        slug_field="code",
        queryset=Organization.objects.all(),
        scope=lambda user: Organization.objects.assignable_managing_committees(user),
        help_text=_("Code of the committee that manages it from that date."),
    )
    on = serializers.DateField(help_text=_("The day the change takes effect."))
    decision_number = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    decision_date = serializers.DateField(required=False, allow_null=True, default=None)


class MembershipReturnSerializer(ServiceModelSerializer):
    class Meta:
        model = MembershipReturn
        fields = ["id", "date", "members_total", "members_admitted", "is_founding"]
        read_only_fields = ["id", "is_founding"]


class CorrectReturnSerializer(serializers.Serializer):
    changes_a_record = True
    reason = serializers.CharField(max_length=200, help_text=_("Why the return is corrected."))
    date = serializers.DateField(required=False)
    members_total = serializers.IntegerField(required=False, min_value=0, max_value=MAX_INTEGER)
    members_admitted = serializers.IntegerField(required=False, min_value=0, max_value=MAX_INTEGER)


class MassOrganizationSerializer(ServiceModelSerializer):
    enterprise = enterprise_field(help_text=_("Tax code of the enterprise."))
    founding_members = serializers.IntegerField(
        write_only=True,
        min_value=1,
        max_value=MAX_INTEGER,
        help_text=_("Members at the founding; they count as admitted. Required on creation."),
    )
    returns = MembershipReturnSerializer(many=True, read_only=True)
    version = VersionField()

    class Meta:
        model = MassOrganization
        fields = [
            "id",
            "kind",
            "name",
            "enterprise",
            "established_on",
            "dissolved_on",
            "founding_members",
            "returns",
            "version",
        ]
        read_only_fields = ["dissolved_on", "returns"]

    def create(self, validated_data):
        validated_data.pop("version", None)
        return services.establish_mass_organization(self.acting_user, **validated_data)

    def update(self, instance, validated_data):
        version = validated_data.pop("version", None)
        changes = self.changed_fields(instance, validated_data)
        if not changes:
            return instance
        return services.update_mass_organization(self.acting_user, instance, expected_version=version, **changes)


class DissolveSerializer(VersionedActionSerializer):
    on = serializers.DateField(help_text=_("Date of dissolution."))
