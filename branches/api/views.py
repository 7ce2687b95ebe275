"""API of organisations, members, prospects, users and role assignments.

Every queryset comes from ``visible_to(request.user)`` (outsiders get 404), every write goes
through ``branches.services`` (a read-only role gets 403, invalid input 400 with a message per
field). Lifecycle steps are actions: ``members/{id}/recognize/``, ``…/transfer/``, ``…/leave/``,
``…/correct-admission/``, ``…/undo-leaving/``, ``transfers/{id}/confirm/``, ``…/cancel/``, ``…/redirect/``,
``prospects/{id}/admit/``, ``…/withdraw/``, ``organizations/{id}/dissolve/``, ``…/move/``,
``…/rename/``, ``…/merge/`` (restructuring with effective dates and decisions).
"""

import datetime

from django.contrib.auth import authenticate, get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Exists, OuterRef, Prefetch, Subquery, When
from django.db.models.functions import Length, Substr
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from branches import approvals, services
from branches.api.serializers import (
    AdmitProspectSerializer,
    ApiTokenSerializer,
    CancelTransferSerializer,
    CeremonySerializer,
    ConfirmTransferSerializer,
    CorrectAdmissionSerializer,
    DissolveOrganizationSerializer,
    LeaveSerializer,
    MemberSerializer,
    MergeSerializer,
    MoveSerializer,
    ObtainTokenSerializer,
    OrganizationSerializer,
    ProspectSerializer,
    RecognizeSerializer,
    RedirectTransferSerializer,
    RenameSerializer,
    RoleAssignmentSerializer,
    SplitSerializer,
    TokenSerializer,
    TransferRecordSerializer,
    TransferSerializer,
    UndoLeavingSerializer,
    UserSerializer,
    WithdrawProspectSerializer,
)
from branches.badges import badge_rows, upcoming_presentations
from branches.choices import TransferKind, TransferStatus
from branches.deadlines import deadlines_for
from branches.filtersets import MemberFilterSet, OrganizationFilterSet, ProspectFilterSet
from branches.models import (
    Member,
    MembershipPeriod,
    Organization,
    OrganizationVersion,
    Prospect,
    RoleAssignment,
    Transfer,
)
from core.api import AsOfMixin, ScopedViewSet, VersionedActionSerializer, service_errors, validated_payload
from core.dates import today
from core.models import display_name
from core.scoping import scope_for
from security.access import issue_token, log_permission_denied, logger, otp_required_for, revoke_token
from security.models import ApiToken
from security.services import must_change_password

User = get_user_model()


class CitizenIdContextMixin:
    """Single-record responses may show the citizen ID in full (to editors: see CitizenIdMixin)."""

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["citizen_id_in_full"] = bool(getattr(self, "detail", False)) or self.action == "create"
        return context


# Organisations ----------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List Party organisations in your scope",
        parameters=[
            OpenApiParameter(
                "as_of",
                OpenApiTypes.DATE,
                description="The tree of this date: the organisations in force then, with their parents and "
                "names of that date (default today).",
            )
        ],
    ),
    retrieve=extend_schema(summary="One Party organisation, by id"),
    create=extend_schema(summary="Establish a Party organisation (administrators)"),
    partial_update=extend_schema(summary="Correct an organisation's facts (administrators)"),
)
class OrganizationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    AsOfMixin,
    ScopedViewSet,
):
    """Party organisations. ``organizations/{id}/`` by id, ``organizations/by-code/{code}/`` by code."""

    model = Organization
    serializer_class = OrganizationSerializer
    filterset_class = OrganizationFilterSet
    ordering = ("path",)
    list_relations = ("locality", "enterprise")

    def get_queryset(self):
        parent = Organization.objects.filter(path=Substr(OuterRef("path"), 1, Length(OuterRef("path")) - 4))
        parent_code = Subquery(parent.values("code")[:1])
        as_of = self.as_of() if self.action == "list" else None
        if as_of is None:
            return super().get_queryset().annotate(parent_code=parent_code)
        # The tree of that date: dated states where they exist, today's row for organisations never
        # restructured (written in bulk).
        states = OrganizationVersion.objects.on(as_of).filter(organization=OuterRef("pk"))
        dated = OrganizationVersion.objects.filter(organization=OuterRef("pk"))
        return (
            super()
            .get_queryset()
            .active_on(as_of)
            .filter(Exists(states) | ~Exists(dated))
            .annotate(
                parent_code=Case(
                    When(Exists(states), then=Subquery(states.values("parent__code")[:1])), default=parent_code
                ),
                name_as_of=Subquery(states.values("name")[:1]),
            )
        )

    def may_create(self, user):
        return scope_for(user).administers

    def editable_queryset(self):
        """Only administrators change the tree: others get 403 before their payload is read."""
        return Organization.objects.all() if scope_for(self.request.user).administers else Organization.objects.none()

    @extend_schema(
        summary="One Party organisation, by its code",
        parameters=[OpenApiParameter("code", OpenApiTypes.STR, OpenApiParameter.PATH, description="The code.")],
        responses=OrganizationSerializer,
    )
    @action(detail=False, methods=["get"], url_path=r"by-code/(?P<code>[^/]+)", filterset_class=None)
    def by_code(self, request, code):
        if "\x00" in code:
            raise Http404
        organization = get_object_or_404(self.get_queryset(), code=code)
        return Response(self.get_serializer(organization).data)

    @extend_schema(
        summary="Dissolve an organisation (administrators)",
        request=DissolveOrganizationSerializer,
        responses=OrganizationSerializer,
    )
    @action(detail=True, methods=["post"])
    def dissolve(self, request, pk=None):
        organization = self.get_object()
        data = validated_payload(DissolveOrganizationSerializer, request)
        with service_errors(dissolved_on="on"):
            organization = services.dissolve_organization(
                request.user,
                organization,
                on=data["on"],
                destination=data.get("destination"),
                decision_number=data.get("decision_number", ""),
                decision_date=data.get("decision_date"),
                expected_version=data.get("version"),
            )
        return Response(self.get_serializer(organization).data)

    @extend_schema(
        summary="Move an organisation, with its subtree and history, under another (administrators)",
        request=MoveSerializer,
        responses=OrganizationSerializer,
    )
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        organization = self.get_object()
        data = validated_payload(MoveSerializer, request)
        with service_errors():
            organization = services.move_organization(
                request.user,
                organization,
                data["parent"],
                on=data.get("on"),
                decision_number=data.get("decision_number", ""),
                decision_date=data.get("decision_date"),
                expected_version=data.get("version"),
            )
        return Response(self.get_serializer(organization).data)

    @extend_schema(
        summary="Rename an organisation from a date (administrators)",
        request=RenameSerializer,
        responses=OrganizationSerializer,
    )
    @action(detail=True, methods=["post"])
    def rename(self, request, pk=None):
        organization = self.get_object()
        data = validated_payload(RenameSerializer, request)
        with service_errors():
            organization = services.rename_organization(
                request.user,
                organization,
                name=data["name"],
                on=data.get("on"),
                decision_number=data.get("decision_number", ""),
                decision_date=data.get("decision_date"),
                expected_version=data.get("version"),
            )
        return Response(self.get_serializer(organization).data)

    @extend_schema(
        summary="Merge organisations into this one on a date (administrators)",
        request=MergeSerializer,
        responses=OrganizationSerializer,
    )
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        successor = self.get_object()
        data = validated_payload(MergeSerializer, request)
        with service_errors():
            successor = services.merge_organizations(
                request.user,
                data["sources"],
                successor,
                on=data["on"],
                decision_number=data.get("decision_number", ""),
                decision_date=data.get("decision_date"),
            )
        return Response(self.get_serializer(successor).data)

    @extend_schema(
        summary="Split this organisation on a date: each child and member to its destination (administrators)",
        request=SplitSerializer,
        responses=OrganizationSerializer,
    )
    @action(detail=True, methods=["post"])
    def split(self, request, pk=None):
        source = self.get_object()
        if not scope_for(request.user).administers:
            raise PermissionDenied(_("Only administrators change the organisation tree."))
        data = validated_payload(SplitSerializer, request)
        children = {o.code: o for o in Organization.objects.children_of(source)}
        members = {m.citizen_id: m for m in Member.objects.filter(organization=source)}
        codes = {d["to"] for d in data["destinations"]} | {s["to"] for s in data.get("shares", [])}
        destinations = {o.code: o for o in Organization.objects.filter(code__in=codes)}
        missing = sorted(codes - set(destinations))
        if missing:
            raise exceptions.ValidationError(
                {"destinations": [_("No organisation has the code %(code)s.") % {"code": code} for code in missing]}
            )
        to_children, to_members, unknown = {}, {}, []
        for destination in data["destinations"]:
            item, to = destination["item"].strip(), destinations[destination["to"]]
            if item in children:
                to_children[children[item]] = to
            elif item in members:
                to_members[members[item]] = to
            else:
                unknown.append(item)
        if unknown:
            raise exceptions.ValidationError(
                {
                    "destinations": [
                        _("%(item)s is not part of %(org)s.") % {"item": item, "org": source.code} for item in unknown
                    ]
                }
            )
        with service_errors(children="destinations", members="destinations"):
            services.split_organization(
                request.user,
                source,
                on=data["on"],
                children=to_children,
                members=to_members,
                shares={destinations[share["to"]]: share["percent"] for share in data.get("shares", [])},
                decision_number=data.get("decision_number", ""),
                decision_date=data.get("decision_date"),
            )
        source.refresh_from_db()
        return Response(self.get_serializer(source).data)


# Members ----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List Party members in your scope, with their membership periods"),
    retrieve=extend_schema(summary="One Party member"),
    create=extend_schema(summary="Admit a Party member"),
    partial_update=extend_schema(summary="Correct a member's personal and workplace facts"),
)
class MemberViewSet(
    CitizenIdContextMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedViewSet,
):
    """Party members; ``POST members/`` admits one, lifecycle steps are actions."""

    model = Member
    serializer_class = MemberSerializer
    filterset_class = MemberFilterSet
    ordering = ("sort_name", "id")
    list_relations = ("organization", "admitted_by", "enterprise")

    @staticmethod
    def _with_periods(queryset):
        periods = MembershipPeriod.objects.select_related("organization").order_by("started_on", "id")
        return queryset.prefetch_related(Prefetch("periods", queryset=periods))

    def get_queryset(self):
        return self._with_periods(super().get_queryset())

    def _respond(self, member, status_code=status.HTTP_200_OK):
        """The member as the step left them, read again with their periods, even when the step
        took them out of the user's scope (a transfer to another subtree)."""
        member = self._with_periods(Member.objects.with_list_relations()).get(pk=member.pk)
        return Response(self.get_serializer(member).data, status=status_code)

    @extend_schema(summary="Recognise a probationary member as official", request=RecognizeSerializer)
    @action(detail=True, methods=["post"])
    def recognize(self, request, pk=None):
        member = self.get_object()
        data = validated_payload(RecognizeSerializer, request)
        member = services.recognize_official(
            request.user,
            member,
            official_on=data.get("official_on"),
            decision_number=data.get("decision_number", ""),
            decided_on=data.get("decided_on"),
            expected_version=data.get("version"),
        )
        return self._respond(member)

    @extend_schema(summary="Record the admission ceremony of a probationary member", request=CeremonySerializer)
    @action(detail=True, methods=["post"])
    def ceremony(self, request, pk=None):
        member = self.get_object()
        data = validated_payload(CeremonySerializer, request)
        member = services.record_ceremony(
            request.user, member, ceremony_on=data["ceremony_on"], expected_version=data.get("version")
        )
        return self._respond(member)

    @extend_schema(
        summary="Transfer Party activity to another organisation, or to the place of residence (null)",
        request=TransferSerializer,
    )
    @action(detail=True, methods=["post"])
    def transfer(self, request, pk=None):
        member = self.get_object()
        data = validated_payload(TransferSerializer, request)
        member = services.transfer_member(
            request.user,
            member,
            on=data["on"],
            to_organization=data["to_organization"],
            decision_number=data.get("decision_number", ""),
            decided_on=data.get("decided_on"),
            kind=data.get("kind") or TransferKind.OFFICIAL,
            ends_on=data.get("ends_on"),
            presented_on=data.get("presented_on"),
            expected_version=data.get("version"),
        )
        return self._respond(member)

    @extend_schema(
        summary="Correct an admission's dates and decision (the reports recount)", request=CorrectAdmissionSerializer
    )
    @action(detail=True, methods=["post"], url_path="correct-admission")
    def correct_admission(self, request, pk=None):
        member = self.get_object()
        data = dict(validated_payload(CorrectAdmissionSerializer, request))
        version = data.pop("version", None)
        member = services.correct_admission(request.user, member, expected_version=version, **data)
        return self._respond(member)

    @extend_schema(summary="Undo a leaving recorded by mistake", request=UndoLeavingSerializer)
    @action(detail=True, methods=["post"], url_path="undo-leaving")
    def undo_leaving(self, request, pk=None):
        member = self.get_object()
        data = validated_payload(UndoLeavingSerializer, request)
        member = services.undo_leaving(
            request.user, member, reason=data["reason"], expected_version=data.get("version")
        )
        return self._respond(member)

    @extend_schema(summary="Record that a member left the Party", request=LeaveSerializer)
    @action(detail=True, methods=["post"])
    def leave(self, request, pk=None):
        member = self.get_object()
        data = validated_payload(LeaveSerializer, request)
        member = services.record_leaving(
            request.user,
            member,
            on=data["on"],
            reason=data["reason"],
            decision_number=data.get("decision_number", ""),
            decided_on=data.get("decided_on"),
            expected_version=data.get("version"),
        )
        return self._respond(member)


# Transfers --------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Transfers sent from or received by your organisations (in transit and past)"),
    retrieve=extend_schema(summary="One transfer"),
)
class TransferViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Transfers of Party activity: both sides see the row (the member's name, the letter, the
    dates); the receiving side confirms, the sending side cancels or redirects while in transit.
    Issue one with ``members/{id}/transfer/``."""

    model = Transfer
    serializer_class = TransferRecordSerializer
    ordering = ("-letter_date", "-id")
    list_relations = ("member", "from_organization", "to_organization")

    def get_queryset(self):
        queryset = super().get_queryset()
        status_filter = self.request.query_params.get("status")
        if status_filter in TransferStatus.values:
            queryset = queryset.filter(status=status_filter)
        return queryset

    def may_create(self, user):
        return False

    def _respond(self, transfer):
        transfer = Transfer.objects.select_related(*self.list_relations).get(pk=transfer.pk)
        return Response(self.get_serializer(transfer).data)

    @extend_schema(summary="Confirm the date the introduction letter was presented", request=ConfirmTransferSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        transfer = self.get_object()
        data = validated_payload(ConfirmTransferSerializer, request)
        transfer = services.confirm_transfer(
            request.user, transfer, presented_on=data["presented_on"], expected_version=data.get("version")
        )
        return self._respond(transfer)

    @extend_schema(summary="Cancel a transfer still in transit (the sending side)", request=CancelTransferSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        transfer = self.get_object()
        data = validated_payload(CancelTransferSerializer, request)
        transfer = services.cancel_transfer(
            request.user, transfer, reason=data["reason"], expected_version=data.get("version")
        )
        return self._respond(transfer)

    @extend_schema(summary="End a temporary transfer (either side)", request=VersionedActionSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        transfer = self.get_object()
        data = validated_payload(VersionedActionSerializer, request)
        transfer = services.end_temporary_transfer(request.user, transfer, expected_version=data.get("version"))
        return self._respond(transfer)

    @extend_schema(
        summary="Send a transfer still in transit to the right organisation (the sending side)",
        request=RedirectTransferSerializer,
    )
    @action(detail=True, methods=["post"])
    def redirect(self, request, pk=None):
        transfer = self.get_object()
        data = validated_payload(RedirectTransferSerializer, request)
        transfer = services.redirect_transfer(
            request.user,
            transfer,
            to_organization=data["to_organization"],
            reason=data["reason"],
            expected_version=data.get("version"),
        )
        return self._respond(transfer)


# Prospects --------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List prospects in your scope"),
    retrieve=extend_schema(summary="One prospect"),
    create=extend_schema(summary="Record a prospect (the stage follows from the dates given)"),
    partial_update=extend_schema(summary="Update a prospect's facts and stage dates"),
)
class ProspectViewSet(
    CitizenIdContextMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedViewSet,
):
    model = Prospect
    serializer_class = ProspectSerializer
    filterset_class = ProspectFilterSet
    ordering = ("sort_name", "id")
    list_relations = ("organization", "enterprise")

    @extend_schema(
        summary="Admit a prospect: creates the member",
        request=AdmitProspectSerializer,
        responses={201: MemberSerializer},
    )
    @action(detail=True, methods=["post"])
    def admit(self, request, pk=None):
        prospect = self.get_object()
        data = validated_payload(AdmitProspectSerializer, request)
        member = services.admit_prospect(request.user, prospect, **data)
        member = Member.objects.visible_to(request.user).filter(pk=member.pk).first() or member
        context = {**self.get_serializer_context(), "citizen_id_in_full": True}
        return Response(MemberSerializer(member, context=context).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="The prospect withdrew or left the enterprise", request=WithdrawProspectSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        prospect = self.get_object()
        data = validated_payload(WithdrawProspectSerializer, request)
        with service_errors(closed_on="on"):
            prospect = services.withdraw_prospect(
                request.user, prospect, on=data["on"], expected_version=data.get("version")
            )
        return Response(self.get_serializer(prospect).data)


# Users and role assignments (administrators) ----------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Users (administrators see all; others themselves)"),
    retrieve=extend_schema(summary="One user"),
    create=extend_schema(summary="Create a user (administrators)"),
    partial_update=extend_schema(summary="Change a user (administrators)"),
)
class UserViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedViewSet,
):
    serializer_class = UserSerializer
    ordering = ("username", "id")

    def get_queryset(self):
        user = self.request.user
        users = User.objects.all() if scope_for(user).administers else User.objects.filter(pk=user.pk)
        return users.prefetch_related(
            Prefetch("role_assignments", queryset=RoleAssignment.objects.select_related("organization").order_by("id"))
        ).order_by(*self.ordering)

    def editable_queryset(self):
        return User.objects.all() if scope_for(self.request.user).administers else User.objects.none()

    def may_create(self, user):
        return scope_for(user).administers

    @extend_schema(
        summary="Issue a new API token for a user without two-factor authentication (administrators)",
        request=None,
        responses=TokenSerializer,
    )
    @action(detail=True, methods=["post"])
    def token(self, request, pk=None):
        user = self.get_object()
        if not scope_for(request.user).administers:
            raise PermissionDenied(_("Only administrators issue tokens for others."))
        if otp_required_for(user):
            raise ValidationError(
                {
                    "non_field_errors": [
                        _(
                            "This account uses two-factor authentication: its owner asks for a token at "
                            "auth/token/ with their code."
                        )
                    ]
                }
            )
        token, key = issue_token(user, second_factor=False, created_by=request.user)
        return Response({"token": key, "expires_at": token.expires_at})


@extend_schema_view(
    list=extend_schema(summary="API tokens (administrators see all; others their own)"),
    retrieve=extend_schema(summary="One API token (never its key)"),
    destroy=extend_schema(summary="Revoke an API token (its owner or an administrator)"),
)
class ApiTokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, ScopedViewSet):
    model = ApiToken
    serializer_class = ApiTokenSerializer
    ordering = ("-created", "-id")
    list_relations = ("user", "created_by")

    def may_create(self, user):
        return False

    def perform_destroy(self, instance):
        revoke_token(instance, self.request.user.get_username())


class ObtainTokenView(APIView):
    """Username and password (and the TOTP code for two-factor accounts) → a new API token.

    Whether the code is needed is decided on the user ``authenticate()`` returned, so no spelling
    of the username (spaces, tabs, case the backend accepts) skips it. Failures count towards the
    sign-in lockout like the sign-in page's.
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(summary="Obtain an API token", request=ObtainTokenSerializer, responses=TokenSerializer)
    def post(self, request):
        data = validated_payload(ObtainTokenSerializer, request)
        http_request = request._request  # the lockout (django-axes) marks the request its middleware sees
        user = authenticate(http_request, username=data["username"], password=data["password"])
        if user is None or not user.is_active:
            raise ValidationError({"non_field_errors": [_("Unable to sign in with these credentials.")]})
        second_factor = False
        if otp_required_for(user):
            refusal = self.check_second_factor(request, user, (data.get("otp_token") or "").replace(" ", ""))
            if refusal is not None:
                log_permission_denied(http_request, f"API token refused: {refusal}")
                raise PermissionDenied(refusal)
            second_factor = True
        if must_change_password(user):
            raise PermissionDenied(_("An administrator set your password: choose your own before you go on."))
        token, key = issue_token(user, second_factor=second_factor, created_by=user)
        return Response({"token": key, "expires_at": token.expires_at})

    def check_second_factor(self, request, user, code):
        """``None`` when ``code`` is the user's current TOTP code, else why not."""
        devices = list(TOTPDevice.objects.filter(user=user, confirmed=True))
        if not devices:
            return _("This account needs two-factor authentication: set it up on the web page first.")
        if not code:
            return _("This account uses two-factor authentication: send the code of your app as otp_token.")
        if not any(device.verify_is_allowed()[0] for device in devices):
            return _("Too many wrong codes. Wait a little, then enter the code your app shows now.")
        if match_token(user, code) is None:
            logger.warning("otp failed user=%s (API token)", user.get_username())
            return _("This code is not valid. Check the time on your phone and try again.")
        return None


@extend_schema_view(
    list=extend_schema(summary="Role assignments (administrators see all; others their own)"),
    retrieve=extend_schema(summary="One role assignment"),
    create=extend_schema(summary="Grant a role (administrators)"),
    destroy=extend_schema(summary="Revoke a role (administrators)"),
)
class RoleAssignmentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    ScopedViewSet,
):
    model = RoleAssignment
    serializer_class = RoleAssignmentSerializer
    ordering = ("user__username", "role", "id")
    list_relations = ("user", "organization")

    def may_create(self, user):
        return scope_for(user).administers

    def perform_destroy(self, instance):
        services.revoke_role(self.request.user, instance)


# Deadlines --------------------------------------------------------------------------------


@extend_schema(
    summary="What is due within 60 days or overdue in an organisation's subtree",
    parameters=[
        OpenApiParameter("organization", OpenApiTypes.STR, required=True, description="Code of the organisation."),
        OpenApiParameter("date", OpenApiTypes.DATE, description="YYYY-MM-DD (default: today)."),
    ],
    responses={200: OpenApiTypes.OBJECT},
)
class DeadlineViewSet(viewsets.ViewSet):
    """``GET deadlines/?organization=CODE[&date=YYYY-MM-DD]``: the items of ``branches.deadlines``,
    read through the user's scope (an organisation outside it: 404)."""

    permission_classes = [IsAuthenticated]

    def list(self, request):
        code = request.query_params.get("organization", "")
        if not code or "\x00" in code:
            raise exceptions.ValidationError({"organization": [_("Give the code of an organisation.")]})
        organization = get_object_or_404(Organization.objects.visible_to(request.user), code=code)
        on = today()
        if request.query_params.get("date"):
            try:
                on = datetime.date.fromisoformat(request.query_params["date"])
            except ValueError:
                raise exceptions.ValidationError({"date": [_("Give the date as YYYY-MM-DD.")]}) from None
        items = deadlines_for(
            organization,
            on,
            members=Member.objects.visible_to(request.user),
            prospects=Prospect.objects.visible_to(request.user),
            transfers=Transfer.objects.visible_to(request.user),
        )
        return Response(
            {"organization": organization.code, "date": on.isoformat(), "items": [item.as_dict() for item in items]}
        )


@extend_schema(
    summary="Members reaching a Party badge age for a presentation date, with the awards recorded",
    parameters=[
        OpenApiParameter("organization", OpenApiTypes.STR, required=True, description="Code of the organisation."),
        OpenApiParameter(
            "date",
            OpenApiTypes.DATE,
            description="YYYY-MM-DD: the next presentation on or after it (default: today).",
        ),
    ],
    responses={200: OpenApiTypes.OBJECT},
)
class BadgeViewSet(viewsets.ViewSet):
    """``GET badges/?organization=CODE[&date=YYYY-MM-DD]``: ``branches.badges`` through the user's scope."""

    permission_classes = [IsAuthenticated]

    def list(self, request):
        code = request.query_params.get("organization", "")
        if not code or "\x00" in code:
            raise exceptions.ValidationError({"organization": [_("Give the code of an organisation.")]})
        organization = get_object_or_404(Organization.objects.visible_to(request.user), code=code)
        on = today()
        if request.query_params.get("date"):
            try:
                on = datetime.date.fromisoformat(request.query_params["date"])
            except ValueError:
                raise exceptions.ValidationError({"date": [_("Give the date as YYYY-MM-DD.")]}) from None
        presentation = upcoming_presentations(on, count=1)[0]
        rows = badge_rows(organization, presentation, Member.objects.visible_to(request.user))
        return Response(
            {
                "organization": organization.code,
                "presentation": presentation.isoformat(),
                "members": [
                    {
                        "years": row.years,
                        "member": row.member.pk,
                        "full_name": row.member.full_name,
                        "organization": row.member.organization.code,
                        "admitted_on": row.member.admitted_on.isoformat(),
                        "reaches_on": row.reached_on.isoformat(),
                        "presented_on": row.award.presented_on.isoformat() if row.award else None,
                        "decision_number": row.award.decision_number if row.award else None,
                    }
                    for row in rows
                ],
            }
        )


# Approval of a period's figures -------------------------------------------------------------


class ApprovalQuerySerializer(serializers.Serializer):
    organization = serializers.CharField(
        max_length=40, help_text=gettext_lazy("Code of an organisation in your scope.")
    )
    year = serializers.IntegerField(min_value=1930, max_value=2200)
    half = serializers.ChoiceField(choices=[0, 1, 2], required=False, default=0)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    def validate_organization(self, value):
        if "\x00" in value:
            raise serializers.ValidationError(_("Give a code as text."))
        return value


def _approval_to_dict(organization, record):
    return {
        "organization": {"code": organization.code, "name": organization.name},
        "status": record.status if record else "open",
        "submitted_by": record.submitted_by.get_username() if record and record.submitted_by_id else None,
        "submitted_by_name": display_name(record.submitted_by) if record and record.submitted_by_id else None,
        "submitted_at": record.submitted_at.isoformat() if record and record.submitted_at else None,
        "decided_by": record.decided_by.get_username() if record and record.decided_by_id else None,
        "decided_by_name": display_name(record.decided_by) if record and record.decided_by_id else None,
        "decided_at": record.decided_at.isoformat() if record and record.decided_at else None,
        "comment": record.comment if record else "",
    }


class ApprovalView(APIView):
    """``GET /api/v1/approvals/?organization=&year=&half=``: the status of the organisation and each one
    below; ``POST /api/v1/approvals/<action>/`` (submit, approve, return, reopen) with the same fields
    and ``comment`` (the reason of a return or a reopening). Organisations outside the user's scope: 404."""

    step = None

    def _organization(self, request, code):
        organization = Organization.objects.visible_to(request.user).filter(code=code).first()
        if organization is None:
            raise Http404(_("No such organisation."))
        return organization

    @extend_schema(
        summary="Approval status of a period's figures",
        parameters=[ApprovalQuerySerializer],
        responses=OpenApiTypes.OBJECT,
        tags=["approvals"],
    )
    def get(self, request):
        query = ApprovalQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        organization = self._organization(request, data["organization"])
        rows, counts = approvals.status_below(organization, data["year"], int(data["half"]))
        return Response(
            {
                "year": data["year"],
                "half": int(data["half"]),
                "organization": _approval_to_dict(*rows[0]),
                "children": [_approval_to_dict(org, record) for org, record in rows[1:]],
                "counts": counts,
            }
        )

    @extend_schema(
        summary="Submit, approve, return or reopen a period's figures",
        request=ApprovalQuerySerializer,
        responses=OpenApiTypes.OBJECT,
        tags=["approvals"],
    )
    def post(self, request):
        if self.step is None:
            return Response({"detail": _("Post to approvals/submit/, approve/, return/ or reopen/.")}, status=405)
        payload = ApprovalQuerySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        organization = self._organization(request, data["organization"])
        period = {"year": data["year"], "half": int(data["half"])}
        comment = data.get("comment", "")
        calls = {
            "submit": lambda: approvals.submit(request.user, organization, **period),
            "approve": lambda: approvals.approve(request.user, organization, **period),
            "return": lambda: approvals.return_figures(request.user, organization, comment=comment, **period),
            "reopen": lambda: approvals.reopen(request.user, organization, reason=comment, **period),
        }
        with service_errors(reason="comment"):
            calls[self.step]()
        record = approvals.approval_for(organization, **period)
        return Response(_approval_to_dict(organization, record if record.pk else None))
