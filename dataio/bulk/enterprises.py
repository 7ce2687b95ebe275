"""Bulk creation and update of enterprises (the enterprises import)."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.approvals import Locks
from branches.models import Organization
from core.dates import same_day
from core.events import publish
from core.services import Errors
from dataio.bulk.common import CREATE, UNCHANGED, UPDATE, chunks, counted, finish, has_errors, ids_in, report_duplicates
from dataio.bulk.members import same_value
from dataio.bulk.writers import attnames, insert_with_history, update_with_history
from enterprises import events as enterprise_events
from enterprises.models import Enterprise

# Enterprises ------------------------------------------------------------------------------


def _nearest_committee(organization):
    """The organisation itself when it is a committee, else the nearest committee above it."""
    prefixes = [organization.path[:end] for end in range(Organization.steplen, len(organization.path) + 1, 4)]
    return Organization.objects.committees().filter(path__in=prefixes).order_by("-depth").first()


@same_day()
def plan_enterprises(acting_user, *, organization, items, lock=False, progress=None):
    """Decide, for each item, whether it records a new enterprise, updates one (same tax code) or
    changes nothing, with the rules of ``create_enterprise`` / ``update_enterprise``.

    An enterprise without a managing committee in its row is managed by ``organization``'s
    nearest committee. Existing enterprises must be editable by ``acting_user`` and belong to
    ``organization``'s subtree.
    """
    from enterprises.models import enterprise_scope_q
    from enterprises.services import ENTERPRISE_FIELDS, check_enterprise_record, recording_organization

    if not Organization.objects.editable_by(acting_user).filter(pk=organization.pk).exists():
        raise PermissionDenied(
            _("You may not change the records of %(organization)s.") % {"organization": organization}
        )
    default_committee = _nearest_committee(organization)
    recorded_by = recording_organization(acting_user)
    tax_codes = {item.values.get("tax_code") for item in items} - {"", None}
    existing = {}
    matched = Enterprise.objects.select_related("locality", "managing_committee")
    if lock:
        matched = matched.select_for_update(of=("self",))
    for chunk in chunks(sorted(tax_codes)):
        existing.update({enterprise.tax_code: enterprise for enterprise in matched.filter(tax_code__in=chunk)})
    holders = {code: enterprise.pk for code, enterprise in existing.items()}
    in_scope = ids_in(
        Enterprise.objects.editable_by(acting_user).filter(enterprise_scope_q([organization.path])),
        {enterprise.pk for enterprise in existing.values()},
    )
    committee_ids = {item.values["managing_committee"].pk for item in items if item.values.get("managing_committee")}
    if default_committee is not None:
        committee_ids.add(default_committee.pk)
    assignable = ids_in(Organization.objects.assignable_managing_committees(acting_user), committee_ids)
    report_duplicates(
        items,
        lambda item: item.values.get("tax_code"),
        "tax_code",
        _("This tax code is also on row(s) %(rows)s of the file."),
    )
    for item in counted(items, progress):
        values = item.values
        if "managing_committee" not in item.given or values.get("managing_committee") is None:
            if "managing_committee" not in item.errors:
                values["managing_committee"] = default_committee
        enterprise = existing.get(values.get("tax_code"))
        errors = Errors()
        if enterprise is None:
            enterprise = Enterprise(**{k: v for k, v in values.items() if k in ENTERPRISE_FIELDS and v is not None})
            enterprise.recorded_by = recorded_by
            item.action = CREATE
        else:
            if enterprise.pk not in in_scope:
                item.error(
                    "tax_code",
                    _(
                        "This enterprise is already recorded outside the organisation you import into; "
                        "the organisation keeping the record must change it."
                    ),
                )
                item.instance = enterprise
                continue
            for name in ENTERPRISE_FIELDS:
                if name in item.given and name not in item.errors:
                    after = values.get(name)
                    if after is None and name in ("industrial_park", "address"):
                        after = ""
                    if after is None and name == "employees":
                        after = 0
                    before = getattr(enterprise, name)
                    if after is not None and not same_value(before, after):
                        item.changes[name] = (before, after)
            if not item.changes:
                item.action = UNCHANGED
                item.instance = enterprise
                continue
            for name, (_before, after) in item.changes.items():
                setattr(enterprise, name, after)
            item.action = UPDATE
        check_enterprise_record(
            errors, acting_user, enterprise, tax_code_holders=holders, assignable_committee_ids=assignable
        )
        item.merge(errors)
        item.instance = enterprise
    _check_locks([item for item in items if item.action == UPDATE])
    _check_provinces([item for item in items if item.action == UPDATE and "locality" in item.changes])
    return finish(items)


def _check_provinces(moved):
    """An enterprise moved to a locality of another province keeps no Party organisation of its old
    province in it (``check_organizations_stay_in_province``, read for all rows in two queries)."""
    if not moved:
        return
    from enterprises.models import Locality

    steplen = Locality.steplen
    sitting = {}
    for chunk in chunks([item.instance.pk for item in moved]):
        for enterprise_id, code, name, path in Organization.objects.filter(
            enterprise_id__in=chunk, dissolved_on__isnull=True
        ).values_list("enterprise_id", "code", "name", "locality__path"):
            sitting.setdefault(enterprise_id, []).append((code, name, path[:steplen]))
    if not sitting:
        return
    roots = {item.instance.locality.path[:steplen] for item in moved}
    roots |= {province for rows in sitting.values() for *_rest, province in rows}
    provinces = set(Locality.objects.filter(path__in=roots, kind="province").values_list("path", flat=True))
    for item in moved:
        province = item.instance.locality.path[:steplen]
        for code, name, own in sitting.get(item.instance.pk, ()):
            if own in provinces and own != province:
                item.error(
                    "locality",
                    _("%(org)s sits in this enterprise and belongs to another province: move it first.")
                    % {"org": f"{name} ({code})"},
                )


def _check_locks(updates):
    """Refuse the updates whose new ownership or managing committee would change an approved
    period's figures, with the facts of all of them read at once."""
    from enterprises.services import admissions_at, enterprise_change_facts, mass_organization_dates

    owned = [item.instance.pk for item in updates if "ownership" in item.changes]
    moved = [item.instance.pk for item in updates if "managing_committee" in item.changes]
    if not owned and not moved:
        return
    locks = Locks()
    if not locks.approvals:
        return
    admissions, dates = {}, {}
    for chunk in chunks(owned):
        admissions.update(admissions_at(chunk))
    for chunk in chunks(moved):
        dates.update(mass_organization_dates(chunk))
    for item in updates:
        committees = [c for c in item.changes.get("managing_committee", ()) if c is not None]
        facts = enterprise_change_facts(
            item.instance,
            ownership_changed="ownership" in item.changes,
            committees=committees,
            admissions=admissions,
            dates=dates,
        )
        errors = Errors()
        locks.check_all(errors, facts, "managing_committee" if committees else "ownership")
        item.merge(errors)


def write_enterprises(acting_user, items, *, reason, history_date=None):
    """Write planned enterprises with history; refuse (roll back) any that would leave the user's scope."""
    if has_errors(items):
        raise PermissionDenied(_("The rows with errors must be corrected before anything is written."))
    history = {"user": acting_user, "reason": reason, "date": history_date or timezone.now()}
    created = [item.instance for item in items if item.action == CREATE]
    insert_with_history(Enterprise, created, **history)
    if created:
        publish(enterprise_events.EnterprisesRecorded(tuple(enterprise.pk for enterprise in created)))
    updates = [item for item in items if item.action == UPDATE]
    if updates:
        fields = {name for item in updates for name in item.changes}
        update_with_history(Enterprise, [item.instance for item in updates], fields, **history)
        moved = tuple(
            enterprise_events.CommitteeChange(item.instance.pk, getattr(before, "pk", None), getattr(after, "pk", None))
            for item in updates
            if "managing_committee" in item.changes
            for before, after in [item.changes["managing_committee"]]
        )
        if moved:
            publish(enterprise_events.ManagingCommitteesChanged(moved))
        publish(
            enterprise_events.EnterprisesChanged(
                tuple(item.instance.pk for item in updates), attnames(Enterprise, fields)
            )
        )
    written = {enterprise.pk for enterprise in created} | {item.instance.pk for item in updates}
    if len(ids_in(Enterprise.objects.editable_by(acting_user), written)) != len(written):
        raise PermissionDenied(_("This enterprise would fall outside your scope."))
    return items


@transaction.atomic
def import_enterprises(acting_user, *, organization, items, reason, dry_run=False, progress=None):
    """Plan the items and, unless ``dry_run`` or any item has an error, write them: all or nothing.
    ``progress(rows checked, rows in total)`` is called as the rows are checked."""
    plan_enterprises(acting_user, organization=organization, items=items, lock=not dry_run, progress=progress)
    if not dry_run and not has_errors(items):
        write_enterprises(acting_user, items, reason=reason)
    return items
