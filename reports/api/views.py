"""API of yearly targets (set through ``reports.services.set_targets``) and of the reports."""

import django_filters
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from branches.filtersets import SubtreeFilter
from core.api import ScopedViewSet, service_errors, validated_payload
from core.scoping import scope_for
from reports import engine, statistics
from reports import serializers as report_serializers
from reports.access import report_organization
from reports.api.serializers import (
    BulkTargetsSerializer,
    DatedReportQuerySerializer,
    FulfilmentQuerySerializer,
    FulfilmentReportSerializer,
    GapsQuerySerializer,
    GapsReportSerializer,
    StatutoryQuerySerializer,
    StructureReportSerializer,
    TargetSerializer,
    TargetValueSerializer,
)
from reports.metrics import Metric
from reports.models import Target
from reports.services import set_targets


class TargetFilterSet(django_filters.FilterSet):
    year = django_filters.NumberFilter(field_name="year", label=_("year"))
    metric = django_filters.ChoiceFilter(choices=Metric.choices, label=_("metric"))
    committee = SubtreeFilter(lookup_path="committee__path", label=_("committee (and those below it)"))

    class Meta:
        model = Target
        fields = ["year", "metric", "committee"]


def _set_one(user, committee, year, metric, value):
    with service_errors(**{f"{committee.code}:{metric}": "value"}):
        set_targets(user, year=year, values={(committee, metric): value})


@extend_schema_view(
    list=extend_schema(summary="Yearly targets in your scope"),
    retrieve=extend_schema(summary="One yearly target"),
    partial_update=extend_schema(summary="Change a target's value", request=TargetValueSerializer),
    destroy=extend_schema(summary="Remove a target"),
)
class TargetViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    ScopedViewSet,
):
    """Targets of committees. Department staff set those of the committees directly below theirs."""

    model = Target
    serializer_class = TargetSerializer
    filterset_class = TargetFilterSet
    ordering = ("year", "committee__path", "metric", "id")
    list_relations = ("committee",)

    def may_create(self, user):
        """Those who set targets (the scope answers); which committees is ``set_targets``' row gate."""
        return scope_for(user).sets_targets

    @extend_schema(
        summary="Set one target (creates it, or changes the value of the existing one)",
        request=TargetSerializer,
        responses={201: TargetSerializer, 200: TargetSerializer},
    )
    def create(self, request):
        data = validated_payload(TargetSerializer, request)
        committee, year, metric = data["committee"], data["year"], data["metric"]
        existed = Target.objects.filter(committee=committee, year=year, metric=metric).exists()
        _set_one(request.user, committee, year, metric, data["value"])
        target = self.get_queryset().get(committee=committee, year=year, metric=metric)
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(self.get_serializer(target).data, status=code)

    def partial_update(self, request, pk=None):
        target = self.get_object()
        data = validated_payload(TargetValueSerializer, request)
        _set_one(request.user, target.committee, target.year, target.metric, data["value"])
        target.refresh_from_db()
        return Response(self.get_serializer(target).data)

    def perform_destroy(self, instance):
        _set_one(self.request.user, instance.committee, instance.year, instance.metric, None)

    @extend_schema(
        summary="Set a year's targets in one go (null removes one); nothing is written unless all are valid",
        request=BulkTargetsSerializer,
        responses=TargetSerializer(many=True),
    )
    @action(detail=False, methods=["post"], filterset_class=None, pagination_class=None)
    @transaction.atomic
    def bulk(self, request):
        data = validated_payload(BulkTargetsSerializer, request)
        values = {(item["committee"], item["metric"]): item["value"] for item in data["targets"]}
        set_targets(request.user, year=data["year"], values=values)
        committees = {committee.pk for committee, _metric in values}
        targets = self.get_queryset().filter(year=data["year"], committee__in=committees)
        return Response(self.get_serializer(targets, many=True).data)


# Reports ----------------------------------------------------------------------------------


class ReadsReports(BasePermission):
    message = _("Your role reads no reports.")

    def has_permission(self, request, view):
        return scope_for(request.user).reads_reports


class ReportView(APIView):
    """A report of one organisation's subtree, exactly the JSON of ``manage.py report … --format json``.

    Whose reports the user reads is ``reports.access``'s, as for the dashboard page: a user who
    reads none gets 403, an organisation outside their reports 404 (403 if they see it);
    ``display`` and ``label`` strings are in the language of the ``Accept-Language`` header.
    """

    query_serializer = None

    def get_permissions(self):
        return [*super().get_permissions(), ReadsReports()]

    def get(self, request):
        query = self.query_serializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = dict(query.validated_data)
        organization = report_organization(request.user, params.pop("organization"))
        return Response(self.build(organization, params))


class FulfilmentReportView(ReportView):
    query_serializer = FulfilmentQuerySerializer

    @extend_schema(
        summary="Target fulfilment of a year (up to as_of), or the actuals of a start–end range",
        parameters=[FulfilmentQuerySerializer],
        responses=FulfilmentReportSerializer,
        tags=["reports"],
    )
    def get(self, request):
        return super().get(request)

    def build(self, organization, params):
        try:
            if "start" in params:
                report = engine.fulfilment_range(
                    organization, params["start"], params["end"], structure=params["structure"]
                )
            else:
                report = engine.fulfilment(
                    organization, params["year"], as_of=params.get("as_of"), structure=params["structure"]
                )
        except ValueError as exc:
            field = "start" if "start" in params else "as_of"
            raise ValidationError({field: [str(exc)]}) from exc
        return report_serializers.fulfilment_to_dict(report)


class StructureReportView(ReportView):
    query_serializer = DatedReportQuerySerializer

    @extend_schema(
        summary="Organisations, members, enterprises and mass organisations on a date",
        parameters=[DatedReportQuerySerializer],
        responses=StructureReportSerializer,
        tags=["reports"],
    )
    def get(self, request):
        return super().get(request)

    def build(self, organization, params):
        report = engine.structure(organization, params.get("date") or engine.today())
        return report_serializers.structure_to_dict(report)


class GapsReportView(ReportView):
    query_serializer = GapsQuerySerializer

    @extend_schema(
        summary="Where Party building lags on a date, with the enterprises and organisations concerned",
        parameters=[GapsQuerySerializer],
        responses=GapsReportSerializer,
        tags=["reports"],
    )
    def get(self, request):
        return super().get(request)

    def build(self, organization, params):
        date = params.get("date") or engine.today()
        report = engine.gaps(organization, date, stagnant_years=params["stagnant_years"])
        return report_serializers.gaps_to_dict(report)


class MovementReportView(ReportView):
    query_serializer = StatutoryQuerySerializer

    @extend_schema(
        summary="Member movement of a period (form 1-BTCTW), per organisation below and in total",
        parameters=[StatutoryQuerySerializer],
        responses=OpenApiTypes.OBJECT,
        tags=["reports"],
    )
    def get(self, request):
        return super().get(request)

    def build(self, organization, params):
        report = statistics.member_movement(organization, params["start"], params["end"])
        return report_serializers.movement_to_dict(report)


class AdmissionsReportView(ReportView):
    query_serializer = StatutoryQuerySerializer

    @extend_schema(
        summary="New admissions of a period (form 3-BTCTW), per organisation below and in total",
        parameters=[StatutoryQuerySerializer],
        responses=OpenApiTypes.OBJECT,
        tags=["reports"],
    )
    def get(self, request):
        return super().get(request)

    def build(self, organization, params):
        report = statistics.new_admissions(organization, params["start"], params["end"])
        return report_serializers.admissions_to_dict(report)
