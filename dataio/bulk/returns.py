"""Bulk recording of mass organisations' membership returns (the returns import)."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.approvals import Locks
from branches.models import Organization
from core.dates import same_day
from core.events import publish
from core.services import Errors
from dataio.bulk.common import CREATE, ERROR, UNCHANGED, chunks, counted, finish, has_errors, ids_in, report_duplicates
from dataio.bulk.writers import insert_with_history
from enterprises import events as enterprise_events
from enterprises.models import Enterprise

# Membership returns of mass organisations --------------------------------------------------


@same_day()
def plan_returns(acting_user, *, organization, items, progress=None):
    """Check each dated return with the rules of ``record_membership_return``.

    ``values["mass_organization"]`` is resolved by the caller; it must sit in an enterprise the
    user may change within ``organization``'s subtree. A return already recorded with the same
    figures is unchanged; with other figures it is the service's error.
    """
    from enterprises.models import MembershipReturn, enterprise_scope_q
    from enterprises.services import check_membership_return

    if not Organization.objects.editable_by(acting_user).filter(pk=organization.pk).exists():
        raise PermissionDenied(
            _("You may not change the records of %(organization)s.") % {"organization": organization}
        )
    mass_organizations = {item.values["mass_organization"] for item in items if item.values.get("mass_organization")}
    editable_enterprises = ids_in(
        Enterprise.objects.editable_by(acting_user).filter(enterprise_scope_q([organization.path])),
        {mass_organization.enterprise_id for mass_organization in mass_organizations},
    )
    committees = {}  # enterprise → its managing committee's path: a return counts there
    for chunk in chunks(sorted({mass_organization.enterprise_id for mass_organization in mass_organizations})):
        committees.update(Enterprise.objects.filter(pk__in=chunk).values_list("pk", "managing_committee__path"))
    locks = Locks()
    recorded = {}
    for chunk in chunks(sorted(mass_organization.pk for mass_organization in mass_organizations)):
        for mass_organization_id, date, total, admitted in MembershipReturn.objects.filter(
            mass_organization_id__in=chunk
        ).values_list("mass_organization_id", "date", "members_total", "members_admitted"):
            recorded.setdefault(mass_organization_id, {})[date] = (total, admitted)
    report_duplicates(
        items,
        lambda item: (
            (item.values["mass_organization"].pk, item.values.get("date"))
            if item.values.get("mass_organization") and item.values.get("date")
            else None
        ),
        "date",
        _("The same return is also on row(s) %(rows)s of the file."),
    )
    for item in counted(items, progress):
        values = item.values
        mass_organization = values.get("mass_organization")
        if mass_organization is None:
            item.action = ERROR
            continue
        if mass_organization.enterprise_id not in editable_enterprises:
            item.error("tax_code", _("You may not change the records of this enterprise."))
            continue
        dates = recorded.get(mass_organization.pk, {})
        figures = (values.get("members_total"), values.get("members_admitted"))
        if values.get("date") in dates and dates[values["date"]] == figures:
            item.action = UNCHANGED
            continue
        errors = Errors()
        check_membership_return(
            errors,
            mass_organization,
            date=values.get("date"),
            members_total=values.get("members_total"),
            members_admitted=values.get("members_admitted"),
            recorded_dates=dates,
            locks=locks,
            committee=committees.get(mass_organization.enterprise_id),
        )
        item.merge(errors)
        item.instance = MembershipReturn(
            mass_organization=mass_organization,
            date=values.get("date"),
            members_total=values.get("members_total"),
            members_admitted=values.get("members_admitted"),
        )
        item.action = CREATE
    return finish(items)


@transaction.atomic
def import_returns(acting_user, *, organization, items, reason, dry_run=False, progress=None):
    """Plan the items and, unless ``dry_run`` or any item has an error, write them: all or nothing.
    ``progress(rows checked, rows in total)`` is called as the rows are checked."""
    from enterprises.models import MassOrganization, MembershipReturn

    if not dry_run:
        ids = {item.values["mass_organization"].pk for item in items if item.values.get("mass_organization")}
        for chunk in chunks(sorted(ids)):
            list(MassOrganization.objects.select_for_update().filter(pk__in=chunk).values_list("pk"))
    plan_returns(acting_user, organization=organization, items=items, progress=progress)
    if not dry_run and not has_errors(items):
        created = [item.instance for item in items if item.action == CREATE]
        insert_with_history(MembershipReturn, created, user=acting_user, reason=reason, date=timezone.now())
        if created:
            publish(enterprise_events.MembershipReturnsRecorded.of(created))
    return items
