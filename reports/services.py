"""Writes of the reports app: yearly targets, and their carrying when committees merge or split."""

import datetime
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from branches import events as branch_events
from branches.approvals import check_year_open
from branches.models import Organization
from core import events
from core.services import Errors, save_with_history
from reports.dated_tree import DatedTree
from reports.engine import METRICS, EffectiveTargets
from reports.events import TargetsChanged
from reports.metrics import Metric
from reports.models import Target, TargetCarry

MAX_TARGET = 10_000_000

#: ``(part metrics, whole metric)``: the targets of the parts together may not exceed the whole's.
#: Business owners are among the members admitted; trade unions and youth unions are mass organisations.
PARTS_OF_A_WHOLE = (
    ((Metric.OWNERS_ADMITTED,), Metric.MEMBERS_ADMITTED),
    ((Metric.TRADE_UNIONS_ESTABLISHED, Metric.YOUTH_UNIONS_ESTABLISHED), Metric.MASS_ORGS_ESTABLISHED),
    (
        (Metric.TRADE_UNION_MEMBERS_ADMITTED, Metric.YOUTH_UNION_MEMBERS_ADMITTED),
        Metric.MASS_ORG_MEMBERS_ADMITTED,
    ),
)


def check_parts_of_wholes(errors, committee, targets):
    """Refuse targets whose parts exceed their whole (``targets``: ``{metric: value}`` after the change)."""
    for parts, whole in PARTS_OF_A_WHOLE:
        given = [part for part in parts if targets.get(part) is not None]
        if not given or targets.get(whole) is None:
            continue
        total = sum(targets[part] for part in given)
        if total > targets[whole]:
            errors.add(
                f"{committee.code}:{given[0]}",
                _("%(parts)s (%(total)s) cannot exceed %(whole)s (%(value)s).")
                % {
                    "parts": " + ".join(str(Metric(part).label) for part in given),
                    "total": total,
                    "whole": Metric(whole).label,
                    "value": targets[whole],
                },
            )


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
    after = {}
    for (committee_id, metric), target in existing.items():
        after.setdefault(committee_id, {})[metric] = target.value
    committees = {}
    for (committee, metric), value in values.items():
        committees[committee.pk] = committee
        after.setdefault(committee.pk, {})[metric] = value
    for committee_id, committee in committees.items():
        check_parts_of_wholes(errors, committee, after[committee_id])
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
    if changed:
        events.publish(TargetsChanged(year))
    return changed


# Carrying targets through restructurings (issue 13) -----------------------------------------


def _fraction(share):
    try:
        return Fraction(share) if isinstance(share, int | Fraction) else Fraction(Decimal(str(share)))
    except (InvalidOperation, ValueError, TypeError):
        return None


def _split(value, shares):
    """``value`` cut in ``shares`` ``[(key, fraction)]`` by largest remainder: whole parts adding up to ``value``."""
    exact = [(key, value * share) for key, share in shares]
    parts = {key: int(amount) for key, amount in exact}
    left = value - sum(parts.values())
    by_remainder = sorted(range(len(exact)), key=lambda i: exact[i][1] - int(exact[i][1]), reverse=True)
    for i in by_remainder[:left]:
        parts[exact[i][0]] += 1
    return parts


def _carry(acting_user, parts, on):
    """Carry the targets of ``on``'s year of each source to its successors: ``parts`` is
    ``{source: [(successor, fraction)]}``. The effective targets are read on the tree of the day
    before ``on``; a successor's own row becomes its effective target then plus what it receives,
    for every metric some source or successor has an own row of (the others follow the
    organisations moved below the successors)."""
    year = on.year
    tree = DatedTree(on - datetime.timedelta(days=1))
    successors = {successor.pk: successor for shares in parts.values() for successor, _share in shares}
    effective = {committee.pk: EffectiveTargets(committee, year, tree) for committee in [*parts, *successors.values()]}
    own_rows = {
        (target.committee_id, target.metric): target
        for target in Target.objects.select_for_update().filter(year=year, committee__in=list(successors))
    }
    written = []
    for metric in METRICS:
        committees = [*parts, *successors.values()]
        if all(effective[c.pk].own(c.path, metric) is None for c in committees):
            continue  # the targets below them moved with their organisations
        received = defaultdict(list)  # successor id → [(source, value)]
        for source, shares in parts.items():
            value = effective[source.pk].get(source.path, metric)
            if value is None:
                continue
            for successor_id, part in _split(value, [(s.pk, share) for s, share in shares]).items():
                received[successor_id].append((source, part))
        for successor_id, carried in received.items():
            successor = successors[successor_id]
            target = own_rows.get((successor_id, str(metric)))
            previous = target.value if target is not None else None
            base = previous if previous is not None else (effective[successor_id].get(successor.path, metric) or 0)
            if target is None:
                target = Target(committee=successor, year=year, metric=metric, value=0)
            target.value = base + sum(value for _source, value in carried)
            save_with_history(target, acting_user, reason=_("targets carried by a restructuring"))
            for source, value in carried:
                carry = TargetCarry(
                    source=source, successor=successor, year=year, metric=metric, on=on, value=value, previous=previous
                )
                written.append(save_with_history(carry, acting_user))
    if written:
        events.publish(TargetsChanged(year))
    return written


@transaction.atomic
def carry_targets(acting_user, source, shares, *, on):
    """Carry ``source``'s targets of ``on``'s year to its successors in ``shares``
    (``{successor: share}``, fractions of the whole adding up to exactly 1; each metric's target is
    cut into whole parts adding up to it), so the committees above keep the same effective target.
    A split calls it (``branches.events.OrganizationSplit``); shares that do not add up are refused."""
    errors = Errors()
    fractions = []
    for successor, share in (shares or {}).items():
        fraction = _fraction(share)
        if fraction is None or fraction < 0:
            errors.add("shares", _("The share of %(org)s is not a number from 0 to 1.") % {"org": successor})
        elif successor.pk == source.pk:
            errors.add("shares", _("An organisation cannot carry its targets to itself."))
        else:
            fractions.append((successor, fraction))
    if not shares:
        errors.add("shares", _("Give the successors and their shares."))
    elif not errors and sum(fraction for _successor, fraction in fractions) != 1:
        errors.add(
            "shares",
            _("The shares add up to %(total)s, not to the whole (1).")
            % {"total": float(sum(fraction for _successor, fraction in fractions))},
        )
    errors.raise_if_any()
    return _carry(acting_user, {source: fractions}, on)


def carry_merged_targets(acting_user, sources, into, *, on):
    """Carry the targets of ``sources`` of ``on``'s year to ``into``, summed (a merge)."""
    return _carry(acting_user, {source: [(into, Fraction(1))] for source in sources}, on)


def _acting_user(user_id):
    return get_user_model().objects.filter(pk=user_id).first() if user_id is not None else None


def organizations_merged(event):
    organizations = Organization.objects.in_bulk([*event.source_ids, event.into_id])
    carry_merged_targets(
        _acting_user(event.acting_user_id),
        [organizations[pk] for pk in event.source_ids],
        organizations[event.into_id],
        on=event.on,
    )


def organization_split(event):
    organizations = Organization.objects.in_bulk([event.source_id, *(pk for pk, _share in event.shares)])
    carry_targets(
        _acting_user(event.acting_user_id),
        organizations[event.source_id],
        {organizations[pk]: share for pk, share in event.shares},
        on=event.on,
    )


def connect():
    """Carry targets when committees merge or split (``ReportsConfig.ready``)."""
    events.subscribe(branch_events.OrganizationsMerged, organizations_merged)
    events.subscribe(branch_events.OrganizationSplit, organization_split)
