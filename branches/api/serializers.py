"""Serializers of organisations, members, prospects, users and role assignments.

Organisations are referenced by ``code``, enterprises by ``tax_code`` and localities by their
official ``code``; each is looked up in the acting user's scope. ``create``/``update`` call the
services of ``branches.services``, which validate the whole change and write its history.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from branches import services
from branches.choices import LEAVING_REASONS, MEMBER_PROFILE_FIELDS, PeriodEndReason, RoleKey, TransferKind
from branches.models import (
    Member,
    MembershipPeriod,
    Organization,
    Prospect,
    RoleAssignment,
    Transfer,
    enterprise_model,
    locality_model,
)
from core.api import (
    ParentCodeField,
    ScopedSlugRelatedField,
    ServiceModelSerializer,
    VersionedActionSerializer,
    VersionField,
)
from core.models import mask_citizen_id
from security.models import ApiToken

User = get_user_model()


def visible_organizations(user):
    return Organization.objects.visible_to(user)


def visible_enterprises(user):
    return enterprise_model().objects.visible_to(user)


def visible_localities(user):
    return locality_model().objects.visible_to(user)


def organization_field(**kwargs):
    kwargs.setdefault("scope", visible_organizations)
    return ScopedSlugRelatedField(slug_field="code", queryset=Organization.objects.all(), **kwargs)


def enterprise_field(**kwargs):
    kwargs.setdefault("scope", visible_enterprises)
    return ScopedSlugRelatedField(slug_field="tax_code", queryset=enterprise_model().objects.all(), **kwargs)


def locality_field(**kwargs):
    return ScopedSlugRelatedField(
        slug_field="code", queryset=locality_model().objects.all(), scope=visible_localities, **kwargs
    )


# Organisations ----------------------------------------------------------------------------


class OrganizationSerializer(ServiceModelSerializer):
    parent = ParentCodeField(
        slug_field="code",
        queryset=Organization.objects.all(),
        scope=visible_organizations,
        required=False,
        allow_null=True,
        help_text=_("Code of the organisation above; empty for a root committee. Set on creation; then use move."),
    )
    locality = locality_field(help_text=_("Official code of the locality."))
    enterprise = enterprise_field(
        required=False, allow_null=True, help_text=_("Tax code of the enterprise the organisation sits in.")
    )
    version = VersionField()

    class Meta:
        model = Organization
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "parent",
            "depth",
            "locality",
            "enterprise",
            "established_on",
            "dissolved_on",
            "coordination_regulation_signed",
            "version",
        ]
        read_only_fields = ["depth", "dissolved_on"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if getattr(instance, "name_as_of", None):  # the list as of a date: the name of that date
            data["name"] = instance.name_as_of
        return data

    def create(self, validated_data):
        validated_data.pop("version", None)
        return services.establish_organization(self.acting_user, **validated_data)

    def update(self, instance, validated_data):
        version = validated_data.pop("version", None)
        changes = self.changed_fields(instance, validated_data)
        if not changes:
            return instance
        return services.update_organization(self.acting_user, instance, expected_version=version, **changes)


class DecisionMixin(serializers.Serializer):
    decision_number = serializers.CharField(
        required=False, allow_blank=True, max_length=60, help_text=_("Number of the decision.")
    )
    decision_date = serializers.DateField(required=False, allow_null=True, help_text=_("Date of the decision."))


class DissolveOrganizationSerializer(DecisionMixin, VersionedActionSerializer):
    on = serializers.DateField(help_text=_("Date of dissolution."))
    destination = organization_field(
        required=False,
        allow_null=True,
        help_text=_("Code of the organisation the members move to; empty: to their places of residence."),
    )


class MoveSerializer(DecisionMixin, VersionedActionSerializer):
    parent = organization_field(help_text=_("Code of the new parent organisation."))
    on = serializers.DateField(required=False, help_text=_("Date the move takes effect (default today)."))


class RenameSerializer(DecisionMixin, VersionedActionSerializer):
    name = serializers.CharField(max_length=300, help_text=_("The new name."))
    on = serializers.DateField(required=False, help_text=_("Date the new name takes effect (default today)."))


class MergeSerializer(DecisionMixin, serializers.Serializer):
    sources = serializers.ListField(
        child=organization_field(),
        min_length=1,
        max_length=200,
        help_text=_("Codes of the organisations merged into this one."),
    )
    on = serializers.DateField(help_text=_("Date the merge takes effect."))


class SplitDestinationSerializer(serializers.Serializer):
    item = serializers.CharField(
        max_length=40, help_text=_("Code of an organisation directly below, or citizen ID of a member.")
    )
    to = serializers.CharField(max_length=40, help_text=_("Code of its destination."))


class SplitShareSerializer(serializers.Serializer):
    to = serializers.CharField(max_length=40, help_text=_("Code of a destination."))
    percent = serializers.DecimalField(
        max_digits=7, decimal_places=3, min_value=0, max_value=100, help_text=_("Its share of the targets, in %.")
    )


class SplitSerializer(DecisionMixin, serializers.Serializer):
    on = serializers.DateField(help_text=_("Date the split takes effect."))
    destinations = serializers.ListField(
        child=SplitDestinationSerializer(),
        min_length=1,
        max_length=20_000,
        help_text=_("Every organisation directly below and every member, each with its destination."),
    )
    shares = serializers.ListField(
        child=SplitShareSerializer(),
        required=False,
        max_length=500,
        help_text=_("The destinations' shares of the targets (adding up to 100)."),
    )


# Members ----------------------------------------------------------------------------------


class CitizenIdMixin:
    """The citizen ID in full only to those who may edit the record, on single-record responses."""

    citizen_id_field = "citizen_id"

    def to_representation(self, instance):
        data = super().to_representation(instance)
        value = data.get(self.citizen_id_field)
        if value and not self._shows_citizen_id(instance):
            data[self.citizen_id_field] = mask_citizen_id(value)
        return data

    def _shows_citizen_id(self, instance):
        if not self.context.get("citizen_id_in_full"):
            return False
        user = self.context["request"].user
        return type(instance).objects.editable_by(user).filter(pk=instance.pk).exists()


class MembershipPeriodSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="code", read_only=True)
    end_reason = serializers.ChoiceField(choices=PeriodEndReason.choices, allow_blank=True, read_only=True)

    class Meta:
        model = MembershipPeriod
        fields = ["organization", "started_on", "ended_on", "end_reason", "end_decision_number", "end_decided_on"]
        read_only_fields = fields


CITIZEN_ID_HELP = _("12 digits. Shown in full only on one member's own response to those who may edit it; masked else.")


class MemberSerializer(CitizenIdMixin, ServiceModelSerializer):
    organization = organization_field(
        help_text=_("Code of the admitting organisation. Set on admission; then use transfer.")
    )
    enterprise = enterprise_field(required=False, allow_null=True, help_text=_("Tax code of the workplace."))
    admitted_by = serializers.SlugRelatedField(slug_field="code", read_only=True)
    periods = MembershipPeriodSerializer(many=True, read_only=True)
    citizen_id = serializers.CharField(max_length=12, help_text=CITIZEN_ID_HELP)
    version = VersionField()

    class Meta:
        model = Member
        fields = [
            "id",
            "full_name",
            "sex",
            "date_of_birth",
            "citizen_id",
            "party_card_number",
            "enterprise",
            "position",
            "is_business_owner",
            "organization",
            "admitted_on",
            "admitted_by",
            "owner_at_admission",
            "dossier_reviewed_on",
            "over_age_approved",
            "over_age_approval_reference",
            "admission_decision_number",
            "admission_decided_by",
            "ceremony_on",
            "official_on",
            "recognition_decision_number",
            "recognition_decided_on",
            "status",
            *MEMBER_PROFILE_FIELDS,
            "periods",
            "version",
        ]
        read_only_fields = [
            "admitted_by",
            "owner_at_admission",
            "recognition_decision_number",
            "recognition_decided_on",
            "status",
            "periods",
        ]
        extra_kwargs = {"admitted_on": {"help_text": _("Date of the admission decision.")}}

    def create(self, validated_data):
        """Plain creation of a member is an admission."""
        validated_data.pop("version", None)
        return services.admit_member(self.acting_user, **validated_data)

    def update(self, instance, validated_data):
        version = validated_data.pop("version", None)
        changes = self.changed_fields(instance, validated_data)
        if not changes:
            return instance
        return services.update_member(self.acting_user, instance, expected_version=version, **changes)


class RecognizeSerializer(VersionedActionSerializer):
    official_on = serializers.DateField(
        required=False,
        allow_null=True,
        help_text=_("The end of the 12 months of probation (the default); any other date is refused."),
    )
    decision_number = serializers.CharField(
        max_length=50, required=False, allow_blank=True, help_text=_("Number of the recognition decision.")
    )
    decided_on = serializers.DateField(
        required=False, allow_null=True, help_text=_("Date of the recognition decision.")
    )


class CeremonySerializer(VersionedActionSerializer):
    ceremony_on = serializers.DateField(help_text=_("Date the admission ceremony was held."))


class TransferSerializer(VersionedActionSerializer):
    on = serializers.DateField(help_text=_("Date of the transfer."))
    to_organization = organization_field(
        scope=lambda user: Organization.objects.transfer_destinations(),
        allow_null=True,
        help_text=_(
            "Code of the receiving grassroots organisation (in your scope or not), or null for a transfer "
            "to the place of residence."
        ),
    )
    decision_number = serializers.CharField(
        max_length=50, required=False, allow_blank=True, help_text=_("Number of the introduction letter.")
    )
    decided_on = serializers.DateField(required=False, allow_null=True, help_text=_("Date of the introduction letter."))
    kind = serializers.ChoiceField(choices=TransferKind.choices, required=False, default=TransferKind.OFFICIAL)
    ends_on = serializers.DateField(
        required=False, allow_null=True, help_text=_("End of a temporary transfer (work or study).")
    )
    presented_on = serializers.DateField(
        required=False,
        allow_null=True,
        help_text=_(
            "Date the letter was presented, when you act for the receiving organisation too: the transfer is "
            "then received at once; otherwise it stays in transit until the receiving organisation confirms it."
        ),
    )


class TransferRecordSerializer(serializers.ModelSerializer):
    """A transfer as both sides see it: the member's name, the letter and the dates, nothing personal."""

    member_name = serializers.CharField(source="member.full_name", read_only=True)
    from_organization = serializers.SlugRelatedField(slug_field="code", read_only=True)
    to_organization = serializers.SlugRelatedField(slug_field="code", read_only=True)
    from_organization_name = serializers.CharField(source="from_organization.name", read_only=True)
    to_organization_name = serializers.CharField(source="to_organization.name", read_only=True)
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Transfer
        fields = [
            "id",
            "member_name",
            "kind",
            "status",
            "from_organization",
            "from_organization_name",
            "to_organization",
            "to_organization_name",
            "letter_number",
            "letter_date",
            "left_on",
            "due_on",
            "presented_on",
            "ends_on",
            "overdue",
            "version",
        ]
        read_only_fields = fields

    def get_overdue(self, transfer) -> bool:
        return transfer.is_overdue_on(services.today())


class CorrectAdmissionSerializer(VersionedActionSerializer):
    reason = serializers.CharField(max_length=200, help_text=_("Why the admission is corrected."))
    admitted_on = serializers.DateField(required=False, help_text=_("Date of the admission decision."))
    admission_decision_number = serializers.CharField(max_length=50, required=False, allow_blank=True)
    admission_decided_by = serializers.CharField(max_length=200, required=False, allow_blank=True)
    dossier_reviewed_on = serializers.DateField(required=False, allow_null=True)
    ceremony_on = serializers.DateField(required=False, allow_null=True)


class UndoLeavingSerializer(VersionedActionSerializer):
    reason = serializers.CharField(max_length=200, help_text=_("Why the leaving is struck out."))


class ConfirmTransferSerializer(VersionedActionSerializer):
    presented_on = serializers.DateField(help_text=_("Date the introduction letter was presented."))


class CancelTransferSerializer(VersionedActionSerializer):
    reason = serializers.CharField(max_length=200, help_text=_("Why the transfer is cancelled."))


class RedirectTransferSerializer(VersionedActionSerializer):
    to_organization = organization_field(
        scope=lambda user: Organization.objects.transfer_destinations(),
        help_text=_("Code of the right receiving grassroots organisation."),
    )
    reason = serializers.CharField(max_length=200, help_text=_("Why the transfer is redirected."))


class LeaveSerializer(VersionedActionSerializer):
    on = serializers.DateField(help_text=_("Date the member left."))
    reason = serializers.ChoiceField(
        choices=[(value, label) for value, label in PeriodEndReason.choices if value in LEAVING_REASONS]
    )
    decision_number = serializers.CharField(
        max_length=50, required=False, allow_blank=True, help_text=_("Number of the decision (none for a death).")
    )
    decided_on = serializers.DateField(required=False, allow_null=True, help_text=_("Date of the decision."))


# Prospects --------------------------------------------------------------------------------


class ProspectSerializer(CitizenIdMixin, ServiceModelSerializer):
    organization = organization_field(help_text=_("Code of the sponsoring organisation."))
    enterprise = enterprise_field(required=False, allow_null=True, help_text=_("Tax code of the workplace."))
    member = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text=_("The member created on admission.")
    )
    citizen_id = serializers.CharField(max_length=12, required=False, allow_blank=True, help_text=CITIZEN_ID_HELP)
    version = VersionField()

    class Meta:
        model = Prospect
        fields = [
            "id",
            "full_name",
            "sex",
            "date_of_birth",
            "citizen_id",
            "enterprise",
            "position",
            "is_business_owner",
            "organization",
            "stage",
            "identified_on",
            "course_completed_on",
            "dossier_completed_on",
            "closed_on",
            "member",
            "notes",
            "version",
        ]
        read_only_fields = ["stage", "closed_on", "member"]

    def create(self, validated_data):
        validated_data.pop("version", None)
        return services.create_prospect(self.acting_user, **validated_data)

    def update(self, instance, validated_data):
        version = validated_data.pop("version", None)
        changes = self.changed_fields(instance, validated_data)
        if not changes:
            return instance
        return services.update_prospect(self.acting_user, instance, expected_version=version, **changes)


class AdmitProspectSerializer(serializers.Serializer):
    admitted_on = serializers.DateField()
    citizen_id = serializers.CharField(
        max_length=12, required=False, allow_blank=True, help_text=_("Needed when the prospect has none recorded.")
    )
    party_card_number = serializers.CharField(max_length=20, required=False, allow_blank=True)
    official_on = serializers.DateField(required=False, allow_null=True)
    dossier_reviewed_on = serializers.DateField(required=False, allow_null=True)
    over_age_approved = serializers.BooleanField(required=False, default=False)
    over_age_approval_reference = serializers.CharField(max_length=100, required=False, allow_blank=True)
    admission_decision_number = serializers.CharField(max_length=50, required=False, allow_blank=True)
    admission_decided_by = serializers.CharField(max_length=200, required=False, allow_blank=True)
    ceremony_on = serializers.DateField(required=False, allow_null=True)


class WithdrawProspectSerializer(VersionedActionSerializer):
    on = serializers.DateField(help_text=_("Date the prospect withdrew or left the enterprise."))


# Users and role assignments ---------------------------------------------------------------


class RoleOfUserSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = RoleAssignment
        fields = ["id", "role", "organization"]
        read_only_fields = fields


class UserSerializer(serializers.ModelSerializer):
    password = serializers.CharField(
        write_only=True, required=False, max_length=128, style={"input_type": "password"}, trim_whitespace=False
    )
    role_assignments = RoleOfUserSerializer(many=True, read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "email", "is_active", "password", "role_assignments"]
        read_only_fields = ["role_assignments"]

    def validate(self, attrs):
        password = attrs.get("password")
        if password is not None:
            candidate = self.instance or User(**{k: v for k, v in attrs.items() if k != "password"})
            try:
                validate_password(password, candidate)
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"password": exc.messages}) from exc
        return attrs

    @transaction.atomic
    def create(self, validated_data):
        password = validated_data.pop("password", None)
        user = User(**validated_data)
        user.set_password(password) if password else user.set_unusable_password()
        user.save()
        return user

    @transaction.atomic
    def update(self, instance, validated_data):
        password = validated_data.pop("password", None)
        for field, value in validated_data.items():
            setattr(instance, field, value)
        if password:
            instance.set_password(password)
        instance.save()
        return instance


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True, help_text=_("Send as the header “Authorization: Token <token>”."))
    expires_at = serializers.DateTimeField(read_only=True)


class ObtainTokenSerializer(serializers.Serializer):
    """Username, password and, for an account with two-factor authentication, the current TOTP code."""

    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    otp_token = serializers.CharField(
        max_length=8,
        required=False,
        allow_blank=True,
        help_text=_("The six-digit code of your authenticator app (accounts with two-factor authentication)."),
    )


class ApiTokenSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    usable = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "user",
            "prefix",
            "created",
            "created_by",
            "expires_at",
            "revoked_at",
            "second_factor",
            "last_used_at",
            "usable",
        ]
        read_only_fields = fields

    def get_usable(self, token) -> bool:
        from django.utils import timezone

        from security.access import token_usable_by

        return token.revoked_at is None and token.expires_at > timezone.now() and token_usable_by(token)


class RoleAssignmentSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", queryset=User.objects.all())
    organization = organization_field(
        required=False, allow_null=True, help_text=_("Code of the organisation; empty for administrators.")
    )
    role = serializers.ChoiceField(choices=RoleKey.choices)

    class Meta:
        model = RoleAssignment
        fields = ["id", "user", "role", "organization"]
        validators = []

    def create(self, validated_data):
        return services.grant_role(self.context["request"].user, **validated_data)
