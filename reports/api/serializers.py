"""Serializers of yearly targets; writes go through ``reports.services.set_targets``."""

import datetime

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from branches.api.serializers import organization_field
from branches.models import Organization
from reports.engine import ReportStructure
from reports.metrics import Metric
from reports.models import Target
from reports.services import MAX_TARGET
from reports.statistics import half_year


def visible_committees(user):
    return Organization.objects.visible_to(user).committees()


class TargetSerializer(serializers.ModelSerializer):
    committee = organization_field(scope=visible_committees, help_text=_("Code of the committee."))
    year = serializers.IntegerField(min_value=1930, max_value=2200)
    metric = serializers.ChoiceField(choices=Metric.choices)
    value = serializers.IntegerField(min_value=0, max_value=MAX_TARGET)

    class Meta:
        model = Target
        fields = ["id", "committee", "year", "metric", "value"]
        validators = []


class TargetValueSerializer(serializers.Serializer):
    value = serializers.IntegerField(min_value=0, max_value=MAX_TARGET)


class BulkTargetItemSerializer(serializers.Serializer):
    committee = serializers.CharField(max_length=40, help_text=_("Code of the committee."))
    metric = serializers.ChoiceField(choices=Metric.choices)
    value = serializers.IntegerField(
        min_value=0, max_value=MAX_TARGET, allow_null=True, help_text=_("null removes the target.")
    )


class BulkTargetsSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=1930, max_value=2200)
    targets = BulkTargetItemSerializer(many=True, allow_empty=False, max_length=2_000)

    def validate_targets(self, items):
        """Find every committee in one query (in the user's scope); each code and metric once."""
        codes = {item["committee"] for item in items}
        user = self.context["request"].user
        committees = {
            c.code: c for c in visible_committees(user).filter(code__in=[c for c in codes if "\x00" not in c])
        }
        errors, seen = [], set()
        for item in items:
            error = {}
            committee = committees.get(item["committee"])
            if committee is None:
                error["committee"] = [
                    _("No committee with the code “%(code)s” in your scope.") % {"code": item["committee"]}
                ]
            elif (committee.pk, item["metric"]) in seen:
                error["metric"] = [_("This committee and metric are given twice.")]
            else:
                seen.add((committee.pk, item["metric"]))
                item["committee"] = committee
            errors.append(error)
        if any(errors):
            raise serializers.ValidationError(errors)
        return items


# Reports: the query parameters, and the shapes of reports.serializers' dicts (for the schema) -----


class ReportQuerySerializer(serializers.Serializer):
    organization = serializers.CharField(max_length=40, help_text=_("Code of an organisation in your scope."))

    def validate_organization(self, value):
        if "\x00" in value:
            raise serializers.ValidationError(_("Give a code as text."))
        return value


class FulfilmentQuerySerializer(ReportQuerySerializer):
    year = serializers.IntegerField(required=False, min_value=1930, max_value=2200)
    as_of = serializers.DateField(
        required=False, help_text=_("End the year on this date (default 31 December, or today).")
    )
    start = serializers.DateField(
        required=False, help_text=_("Start of a range, instead of year (both ends included).")
    )
    end = serializers.DateField(required=False, help_text=_("End of a range."))
    structure = serializers.ChoiceField(
        choices=ReportStructure.choices,
        default=ReportStructure.END_DATE,
        help_text=_(
            "end: the organisations as they stood on the end date; historical: each event counted "
            "where its organisation stood on the event's date."
        ),
    )

    def validate(self, attrs):
        ranged = "start" in attrs or "end" in attrs
        if ranged and ("year" in attrs or "as_of" in attrs):
            raise serializers.ValidationError(_("Give either year (with as_of) or start and end, not both."))
        if ranged and not ("start" in attrs and "end" in attrs):
            raise serializers.ValidationError(_("Give both start and end for a range."))
        if not ranged and "year" not in attrs:
            raise serializers.ValidationError({"year": [_("Give a year, or start and end.")]})
        for name in ("as_of", "start", "end"):
            if name in attrs and not 1930 <= attrs[name].year <= 2200:
                raise serializers.ValidationError({name: [_("Give a date between 1930 and 2200.")]})
        return attrs


class DatedReportQuerySerializer(ReportQuerySerializer):
    date = serializers.DateField(required=False, help_text=_("The date of the figures (default today)."))

    def validate_date(self, value):
        if not 1930 <= value.year <= 2200:
            raise serializers.ValidationError(_("Give a date between 1930 and 2200."))
        return value


class GapsQuerySerializer(DatedReportQuerySerializer):
    stagnant_years = serializers.IntegerField(
        required=False, default=3, min_value=1, max_value=50, help_text=_("No admission in this many years.")
    )


class StatutoryQuerySerializer(ReportQuerySerializer):
    """A statutory form's period: start and end (both included), or a year or one of its halves."""

    start = serializers.DateField(required=False, help_text=_("First day of the period."))
    end = serializers.DateField(required=False, help_text=_("Last day of the period (included)."))
    year = serializers.IntegerField(required=False, min_value=1930, max_value=2200)
    half = serializers.ChoiceField(required=False, choices=[1, 2], help_text=_("With year: its first or second half."))

    def validate(self, attrs):
        ranged = "start" in attrs or "end" in attrs
        if ranged and ("year" in attrs or "half" in attrs):
            raise serializers.ValidationError(_("Give either year (with half) or start and end, not both."))
        if ranged and not ("start" in attrs and "end" in attrs):
            raise serializers.ValidationError(_("Give both start and end for a range."))
        if not ranged and "year" not in attrs:
            raise serializers.ValidationError({"year": [_("Give a year, or start and end.")]})
        for name in ("start", "end"):
            if name in attrs and not 1930 <= attrs[name].year <= 2200:
                raise serializers.ValidationError({name: [_("Give a date between 1930 and 2200.")]})
        if not ranged:
            year, half = attrs.pop("year"), attrs.pop("half", None)
            if half:
                attrs["start"], attrs["end"] = half_year(year, int(half))
            else:
                attrs["start"], attrs["end"] = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
        if attrs["start"] > attrs["end"]:
            raise serializers.ValidationError({"end": [_("The end comes before the start.")]})
        return attrs


class ReportOrganizationSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class FulfilmentRowSerializer(serializers.Serializer):
    metric = serializers.ChoiceField(choices=Metric.choices)
    actual = serializers.IntegerField()
    target = serializers.IntegerField(allow_null=True, help_text=_("The effective target; null when none is set."))
    percent = serializers.FloatField(
        allow_null=True, help_text=_("Rounded half-up to one decimal; null without target.")
    )
    display = serializers.CharField(help_text=_("actual/target (percent%) in the request's language."))


class FulfilmentPartSerializer(serializers.Serializer):
    organization = ReportOrganizationSerializer()
    rows = FulfilmentRowSerializer(many=True)
    ended_on = serializers.DateField(
        allow_null=True, help_text=_("Historical structure: the last day it stood there, when before the end.")
    )


class FulfilmentReportSerializer(serializers.Serializer):
    organization = ReportOrganizationSerializer()
    start = serializers.DateField()
    end = serializers.DateField()
    structure = serializers.ChoiceField(choices=ReportStructure.choices)
    rows = FulfilmentRowSerializer(many=True)
    children = FulfilmentPartSerializer(many=True, help_text=_("One entry per organisation directly below."))


class FigureRowSerializer(serializers.Serializer):
    metric = serializers.CharField()
    label = serializers.CharField()
    value = serializers.IntegerField()
    display = serializers.CharField()


class StructurePartSerializer(serializers.Serializer):
    organization = ReportOrganizationSerializer()
    rows = FigureRowSerializer(many=True)


class StructureReportSerializer(serializers.Serializer):
    organization = ReportOrganizationSerializer()
    date = serializers.DateField()
    rows = FigureRowSerializer(many=True)
    children = StructurePartSerializer(many=True)


class GapRowSerializer(FigureRowSerializer):
    total = serializers.IntegerField(allow_null=True)
    percent = serializers.FloatField(allow_null=True)


class GapsPartSerializer(serializers.Serializer):
    organization = ReportOrganizationSerializer()
    rows = GapRowSerializer(many=True)


class GapEnterpriseSerializer(serializers.Serializer):
    tax_code = serializers.CharField()
    name = serializers.CharField()
    managing_committee = serializers.CharField()


class EligibleEnterpriseSerializer(GapEnterpriseSerializer):
    official_members = serializers.IntegerField()


class SmallEnterpriseSerializer(GapEnterpriseSerializer):
    active_members = serializers.IntegerField()


class StagnantOrganizationSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    established_on = serializers.DateField()
    last_admitted_on = serializers.DateField(allow_null=True)


class GapsReportSerializer(serializers.Serializer):
    organization = ReportOrganizationSerializer()
    date = serializers.DateField()
    stagnant_years = serializers.IntegerField()
    rows = GapRowSerializer(many=True)
    children = GapsPartSerializer(many=True)
    eligible_enterprises = EligibleEnterpriseSerializer(many=True)
    small_enterprises = SmallEnterpriseSerializer(many=True)
    stagnant_organizations = StagnantOrganizationSerializer(many=True)
