"""Writes of the reports app: yearly targets."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from branches.approvals import check_year_open
from core.services import Errors, save_with_history
from reports.metrics import Metric
from reports.models import Target

MAX_TARGET = 10_000_000


@transaction.atomic
def set_targets(acting_user, *, year, values):
    """Set a year's targets in one go.

    ``values`` maps ``(committee, metric)`` to a whole number, or to ``None`` to remove the target.
    Every committee must be one whose targets ``acting_user`` assigns; nothing is written unless all
    values are valid. Errors are keyed ``"<committee code>:<metric>"``.
    """
    errors = Errors()
    if not isinstance(year, int) or not 1930 <= year <= 2200:
        errors.add("year", _("Give a year between 1930 and 2200."))
    allowed = set(Target.assignable_committees(acting_user).values_list("pk", flat=True))
    for (committee, metric), value in values.items():
        key = f"{committee.code}:{metric}"
        if committee.pk not in allowed:
            raise PermissionDenied(_("You do not set the targets of %(committee)s.") % {"committee": committee})
        if metric not in Metric.values:
            errors.add(key, _("Unknown metric."))
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0 or value > MAX_TARGET
        ):
            errors.add(key, _("A target is a whole number from 0 to %(max)s.") % {"max": f"{MAX_TARGET:,}"})
    errors.raise_if_any()
    existing = {
        (t.committee_id, t.metric): t
        for t in Target.objects.filter(year=year, committee__in=[c for c, _m in values]).select_for_update()
    }
    locked = {}
    for (committee, metric), value in values.items():
        target = existing.get((committee.pk, metric))
        if (target.value if target is not None else None) == value:
            continue
        if committee.pk not in locked:  # a year's targets are part of its approved figures
            locked[committee.pk] = Errors()
            check_year_open(locked[committee.pk], committee, year, "target")
        for message in locked[committee.pk].get("target", []):
            errors.add(f"{committee.code}:{metric}", message)
    errors.raise_if_any()
    changed = []
    for (committee, metric), value in values.items():
        target = existing.get((committee.pk, metric))
        if value is None:
            if target is not None:
                target._history_user = acting_user
                target.delete()
                changed.append(target)
            continue
        if target is None:
            target = Target(committee=committee, year=year, metric=metric, value=value)
        elif target.value == value:
            continue
        target.value = value
        save_with_history(target, acting_user)
        changed.append(target)
    return changed
