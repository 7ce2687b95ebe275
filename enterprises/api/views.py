"""API of localities, enterprises and mass organisations (with their membership returns).

Querysets from ``visible_to(request.user)``; writes through ``enterprises.services``.
``enterprises/{id}/`` by id, ``enterprises/by-tax-code/{tax_code}/`` by tax code.
"""

from django.db.models import F, OuterRef, Prefetch, Subquery
from django.db.models.functions import Length, Substr
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import AsOfMixin, ScopedViewSet, service_errors, validated_payload
from core.scoping import scope_for
from enterprises import services
from enterprises.api.serializers import (
    AbolishLocalitySerializer,
    CorrectReturnSerializer,
    DissolveSerializer,
    EnterpriseSerializer,
    LocalitySerializer,
    MassOrganizationSerializer,
    MembershipReturnSerializer,
    MergeLocalitiesSerializer,
    MoveLocalitySerializer,
    PassToCommitteeSerializer,
    RenameLocalitySerializer,
)
from enterprises.filtersets import EnterpriseFilterSet, LocalityFilterSet, MassOrganizationFilterSet
from enterprises.models import Enterprise, Locality, MassOrganization, MembershipReturn


@extend_schema_view(
    list=extend_schema(
        summary="List localities",
        parameters=[
            OpenApiParameter(
                "as_of",
                OpenApiTypes.DATE,
                description="The localities of this date: those that existed then, with their parents and names "
                "of that date (default today).",
            )
        ],
    ),
    retrieve=extend_schema(summary="One locality"),
    create=extend_schema(summary="Add a locality (administrators)"),
    partial_update=extend_schema(summary="Correct a locality (administrators)"),
)
class LocalityViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    AsOfMixin,
    ScopedViewSet,
):
    model = Locality
    serializer_class = LocalitySerializer
    filterset_class = LocalityFilterSet
    ordering = ("path",)

    def get_queryset(self):
        as_of = self.as_of() if self.action == "list" else None
        if as_of is not None:
            return super().get_queryset().as_of(as_of).annotate(parent_code=F("parent_code_as_of"))
        parent = Locality.objects.filter(path=Substr(OuterRef("path"), 1, Length(OuterRef("path")) - 4))
        return super().get_queryset().annotate(parent_code=Subquery(parent.values("code")[:1]))

    def may_create(self, user):
        return scope_for(user).administers

    def _decision(self, data):
        return {"decision_number": data.get("decision_number", ""), "decision_date": data.get("decision_date")}

    @extend_schema(
        summary="Move a locality under another from a date (administrators)",
        request=MoveLocalitySerializer,
        responses=LocalitySerializer,
    )
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        locality = self.get_object()
        data = validated_payload(MoveLocalitySerializer, request)
        with service_errors():
            locality = services.move_locality(
                request.user, locality, data["parent"], on=data.get("on"), **self._decision(data)
            )
        return Response(self.get_serializer(locality).data)

    @extend_schema(
        summary="Rename a locality from a date (administrators)",
        request=RenameLocalitySerializer,
        responses=LocalitySerializer,
    )
    @action(detail=True, methods=["post"])
    def rename(self, request, pk=None):
        locality = self.get_object()
        data = validated_payload(RenameLocalitySerializer, request)
        with service_errors():
            locality = services.rename_locality(
                request.user, locality, name=data["name"], on=data.get("on"), **self._decision(data)
            )
        return Response(self.get_serializer(locality).data)

    @extend_schema(
        summary="Merge localities into this one on a date: their localities and enterprises pass to it "
        "(administrators)",
        request=MergeLocalitiesSerializer,
        responses=LocalitySerializer,
    )
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        into = self.get_object()
        data = validated_payload(MergeLocalitiesSerializer, request)
        with service_errors():
            into = services.merge_localities(request.user, data["sources"], into, on=data["on"], **self._decision(data))
        return Response(self.get_serializer(into).data)

    @extend_schema(
        summary="Abolish this district on a date: its communes move up under its province (administrators)",
        request=AbolishLocalitySerializer,
        responses=LocalitySerializer,
    )
    @action(detail=True, methods=["post"])
    def abolish(self, request, pk=None):
        locality = self.get_object()
        data = validated_payload(AbolishLocalitySerializer, request)
        with service_errors():
            locality = services.abolish_locality(request.user, locality, on=data["on"], **self._decision(data))
        return Response(self.get_serializer(locality).data)


@extend_schema_view(
    list=extend_schema(summary="List enterprises in your scope"),
    retrieve=extend_schema(summary="One enterprise, by id"),
    create=extend_schema(summary="Record an enterprise"),
    partial_update=extend_schema(summary="Update an enterprise"),
)
class EnterpriseViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedViewSet,
):
    model = Enterprise
    serializer_class = EnterpriseSerializer
    filterset_class = EnterpriseFilterSet
    ordering = ("sort_name", "tax_code")
    list_relations = ("locality", "managing_committee", "recorded_by")

    @extend_schema(
        summary="One enterprise, by its tax code",
        parameters=[
            OpenApiParameter(
                "tax_code", OpenApiTypes.STR, OpenApiParameter.PATH, description="10 digits, or 10 + '-' + 3."
            )
        ],
        responses=EnterpriseSerializer,
    )
    @action(detail=False, methods=["get"], url_path=r"by-tax-code/(?P<tax_code>[^/]+)", filterset_class=None)
    def by_tax_code(self, request, tax_code):
        if "\x00" in tax_code:
            raise Http404
        enterprise = get_object_or_404(self.get_queryset(), tax_code=tax_code)
        return Response(self.get_serializer(enterprise).data)

    @extend_schema(
        summary="Pass an enterprise to another managing committee from a date (a restructuring; "
        "reports of earlier dates keep counting it for the committee of then)",
        request=PassToCommitteeSerializer,
        responses=EnterpriseSerializer,
    )
    @action(detail=True, methods=["post"], url_path="pass")
    def pass_to_committee(self, request, pk=None):
        enterprise = self.get_object()
        data = validated_payload(PassToCommitteeSerializer, request)
        committee, version = data.pop("committee"), data.pop("version", None)
        with service_errors(managing_committee="committee"):
            enterprise = services.change_managing_committee(
                request.user, enterprise, committee, expected_version=version, **data
            )
        return Response(self.get_serializer(enterprise).data)


@extend_schema_view(
    list=extend_schema(summary="List mass organisations in your scope, with their membership returns"),
    retrieve=extend_schema(summary="One mass organisation"),
    create=extend_schema(summary="Establish a mass organisation with its founding return"),
    partial_update=extend_schema(summary="Rename a mass organisation or correct its kind"),
)
class MassOrganizationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedViewSet,
):
    model = MassOrganization
    serializer_class = MassOrganizationSerializer
    filterset_class = MassOrganizationFilterSet
    ordering = ("id",)
    list_relations = ("enterprise",)

    def get_queryset(self):
        returns = MembershipReturn.objects.order_by("date", "id")
        return super().get_queryset().prefetch_related(Prefetch("returns", queryset=returns))

    def _respond(self, mass_organization, status_code=status.HTTP_200_OK):
        fresh = self.get_queryset().filter(pk=mass_organization.pk).first() or mass_organization
        return Response(self.get_serializer(fresh).data, status=status_code)

    @extend_schema(
        summary="Record a membership return",
        request=MembershipReturnSerializer,
        responses={201: MembershipReturnSerializer},
    )
    @action(detail=True, methods=["post"])
    def returns(self, request, pk=None):
        mass_organization = self.get_object()
        data = validated_payload(MembershipReturnSerializer, request)
        membership_return = services.record_membership_return(request.user, mass_organization, **data)
        return Response(MembershipReturnSerializer(membership_return).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Correct a membership return recorded by mistake (the reports recount)",
        request=CorrectReturnSerializer,
        responses={200: MembershipReturnSerializer},
        parameters=[OpenApiParameter("return_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
    )
    @action(detail=True, methods=["post"], url_path=r"returns/(?P<return_id>[0-9]+)/correct")
    def correct_return(self, request, pk=None, return_id=None):
        mass_organization = self.get_object()
        membership_return = get_object_or_404(MembershipReturn, pk=return_id, mass_organization=mass_organization)
        data = validated_payload(CorrectReturnSerializer, request)
        membership_return = services.correct_membership_return(request.user, membership_return, **data)
        return Response(MembershipReturnSerializer(membership_return).data)

    @extend_schema(summary="Dissolve a mass organisation", request=DissolveSerializer)
    @action(detail=True, methods=["post"])
    def dissolve(self, request, pk=None):
        mass_organization = self.get_object()
        data = validated_payload(DissolveSerializer, request)
        with service_errors(dissolved_on="on"):
            mass_organization = services.dissolve_mass_organization(
                request.user, mass_organization, on=data["on"], expected_version=data.get("version")
            )
        return self._respond(mass_organization)
