"""Django admin for yearly targets: every write goes through ``reports.services.set_targets``."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.admin import PartyModelAdmin, ServiceForm
from reports import services
from reports.models import Target


class TargetForm(ServiceForm):
    """Adds or changes one target; ``set_targets`` checks the committee, metric and value."""

    class Meta:
        model = Target
        fields = ["committee", "year", "metric", "value"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "committee" in self.fields:
            self.fields["committee"].queryset = Target.assignable_committees(self.acting_user)

    def _key(self):
        target = self.instance if self.instance.pk else None
        committee = target.committee if target else self.cleaned_data.get("committee")
        year = target.year if target else self.cleaned_data.get("year")
        metric = target.metric if target else self.cleaned_data.get("metric")
        return committee, year, metric

    def apply(self, data):
        committee, year, metric = self._key()
        if self.instance.pk is None and Target.objects.filter(committee=committee, year=year, metric=metric).exists():
            raise ValidationError({"metric": [_("This target is already set: change it instead.")]})
        services.set_targets(self.acting_user, year=year, values={(committee, metric): data["value"]})
        return Target.objects.get(committee=committee, year=year, metric=metric)

    def field_for_error(self, key):
        # set_targets names its errors "<committee code>:<metric>": they concern the value.
        return "value" if ":" in key else super().field_for_error(key)


@admin.register(Target)
class TargetAdmin(PartyModelAdmin):
    form = TargetForm
    allow_delete = True
    list_display = ["committee", "year", "metric", "value"]
    list_select_related = ["committee"]
    list_filter = ["year", "metric"]
    search_fields = ["committee__code", "committee__search_name"]

    def get_readonly_fields(self, request, obj=None):
        return ["committee", "year", "metric"] if obj is not None else []

    def delete_model(self, request, obj):
        services.set_targets(request.user, year=obj.year, values={(obj.committee, obj.metric): None})

    def delete_queryset(self, request, queryset):
        for target in queryset.select_related("committee"):
            self.delete_model(request, target)
