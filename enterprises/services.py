"""Every write to localities, enterprises, mass organisations and their membership returns."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from branches import events as branch_events
from branches.approvals import check_all_open, check_open
from branches.choices import OrganizationKind
from branches.models import Member, Organization
from branches.services import check_change_decision, check_reason, check_same_province
from core.dates import today
from core.events import changed_fields, publish, values_of
from core.models import SINGLE_LINE_FORBIDDEN
from core.scoping import scope_for
from core.services import (
    Errors,
    check_version,
    deliberate_row_writes,
    full_clean_into,
    lock_for_update,
    save_with_history,
)
from core.text import display_date
from core.validators import normalize_tax_code
from enterprises import events
from enterprises.choices import LocalityChange, LocalityKind
from enterprises.events import ReturnFacts
from enterprises.models import (
    LOCALITIES_RECORDED_FROM,
    Enterprise,
    EnterpriseLocalityPeriod,
    Locality,
    LocalityVersion,
    ManagingCommitteePeriod,
    MassOrganization,
    MembershipReturn,
)

ENTERPRISE_FIELDS = (
    "tax_code",
    "name",
    "ownership",
    "locality",
    "industrial_park",
    "address",
    "size_class",
    "employees",
    "operating_status",
    "managing_committee",
)


def recording_organization(acting_user):
    """The organisation a secretary records enterprises for (their first secretary assignment)."""
    scope = scope_for(acting_user)
    if scope.everything or not scope.secretary_paths:
        return None
    return Organization.objects.filter(path=scope.secretary_paths[0]).first()


def check_enterprise_record(errors, acting_user, enterprise, *, tax_code_holders=None, assignable_committee_ids=None):
    """The rules of an enterprise record.

    A bulk caller passes ``tax_code_holders`` (tax code → id of the enterprise holding it) and
    ``assignable_committee_ids``, preloaded for a whole file, and its locality already read from
    the database, so the same rules run without a query per row.
    """
    batch = tax_code_holders is not None
    # A tax code with control characters is not looked up (PostgreSQL refuses NUL); full_clean refuses it.
    if enterprise.tax_code and not SINGLE_LINE_FORBIDDEN.search(enterprise.tax_code):
        enterprise.tax_code = normalize_tax_code(enterprise.tax_code) or enterprise.tax_code.strip()
        if batch:
            holder = tax_code_holders.get(enterprise.tax_code)
            duplicate = holder is not None and holder != enterprise.pk
        else:
            duplicates = Enterprise.objects.filter(tax_code=enterprise.tax_code)
            if enterprise.pk:
                duplicates = duplicates.exclude(pk=enterprise.pk)
            duplicate = duplicates.exists()
        if duplicate:
            errors.add(
                "tax_code",
                _("An enterprise with the tax code %(code)s is already recorded.") % {"code": enterprise.tax_code},
            )
    committee = enterprise.managing_committee if enterprise.managing_committee_id else None
    if committee is None:
        errors.add("managing_committee", _("Choose the committee responsible for Party building here."))
    elif committee.kind != OrganizationKind.COMMITTEE:
        errors.add("managing_committee", _("The managing committee must be a committee above grassroots level."))
    elif not (
        committee.pk in assignable_committee_ids
        if assignable_committee_ids is not None
        else Organization.objects.assignable_managing_committees(acting_user).filter(pk=committee.pk).exists()
    ):
        errors.add("managing_committee", _("Choose a committee of your scope."))
    if Enterprise.locality.is_cached(enterprise) and enterprise.locality is not None:
        ended_on = enterprise.locality.ended_on
        if ended_on is not None:  # merged or abolished: its successor holds the enterprises now
            errors.add(
                "locality",
                _("%(locality)s ended on %(date)s; choose the locality that succeeded it.")
                % {"locality": enterprise.locality, "date": display_date(ended_on)},
            )
    exclude = ["managing_committee", "recorded_by"] + (["tax_code"] if "tax_code" in errors else [])
    if batch and enterprise.locality_id is not None:
        exclude.append("locality")
    full_clean_into(enterprise, errors, exclude=exclude, validate_unique=not batch)


def _check_still_editable(acting_user, enterprise):
    if not Enterprise.objects.editable_by(acting_user).filter(pk=enterprise.pk).exists():
        raise PermissionDenied(_("This enterprise would fall outside your scope."))


@transaction.atomic
def create_enterprise(acting_user, *, reason=None, **fields):
    errors = Errors()
    for field in set(fields) - set(ENTERPRISE_FIELDS):
        errors.add(field, _("This field cannot be set here."))
    if not scope_for(acting_user).may_write:
        raise PermissionDenied(_("Your role does not record enterprises."))
    enterprise = Enterprise(**{k: v for k, v in fields.items() if k in ENTERPRISE_FIELDS})
    enterprise.recorded_by = recording_organization(acting_user)
    check_enterprise_record(errors, acting_user, enterprise)
    errors.raise_if_any()
    save_with_history(enterprise, acting_user, reason=reason)
    _check_still_editable(acting_user, enterprise)
    publish(events.EnterprisesRecorded((enterprise.pk,)))
    return enterprise


@transaction.atomic
def check_organizations_stay_in_province(errors, enterprise):
    """An enterprise moved to another locality keeps its Party organisations in their province
    (the rule an organisation's own record follows, ``check_same_province``)."""
    for organization in enterprise.organizations.filter(dissolved_on__isnull=True).select_related("locality"):
        found = Errors()
        check_same_province(found, organization.locality, enterprise)
        if "enterprise" in found:
            errors.add(
                "locality",
                _("%(org)s sits in this enterprise and belongs to another province: move it first.")
                % {"org": organization},
            )


def update_enterprise(acting_user, enterprise, *, reason=None, expected_version=None, **changes):
    if not Enterprise.objects.editable_by(acting_user).filter(pk=enterprise.pk).exists():
        raise PermissionDenied(_("You may not change this enterprise."))
    enterprise = lock_for_update(enterprise)
    check_version(enterprise, expected_version)
    before = values_of(enterprise)
    errors = Errors()
    for field, value in changes.items():
        if field not in ENTERPRISE_FIELDS:
            errors.add(field, _("This field cannot be changed here."))
            continue
        setattr(enterprise, field, value)
    check_enterprise_record(errors, acting_user, enterprise)
    check_enterprise_open(errors, enterprise, before)
    if enterprise.locality_id != before["locality_id"] and "locality" not in errors:
        check_organizations_stay_in_province(errors, enterprise)
    errors.raise_if_any()
    save_with_history(enterprise, acting_user, reason=reason)
    _check_still_editable(acting_user, enterprise)
    announce_enterprise_changes([(enterprise, before)])
    return enterprise


def change_managing_committees(
    acting_user, moves, *, on, decision_number="", decision_date=None, expected_versions=None
):
    """From ``on``, each enterprise of ``moves`` ``[(enterprise, committee)]`` is managed by its
    committee (a restructuring, such as the reform of 1 July 2025). Before ``on`` its mass
    organisations keep counting for the committee of that time (``ManagingCommitteePeriod``); a
    correction of the committee, which moves the history with it, is :func:`update_enterprise`.
    All or nothing: an error names the enterprise. ``expected_versions``: ``{enterprise id:
    version}`` the change was based on (a record changed since is refused)."""
    with transaction.atomic():
        decision_number = (decision_number or "").strip()
        errors = Errors()
        if on is None:
            errors.add("on", _("Give the date the change takes effect."))
            errors.raise_if_any()
        if on > today():
            errors.add("on", _("The date the change takes effect cannot be in the future."))
        if decision_date is not None and decision_date > on:
            errors.add("decision_date", _("The decision cannot be dated after the day it takes effect."))
        editable = set(
            Enterprise.objects.editable_by(acting_user)
            .filter(pk__in=[enterprise.pk for enterprise, _committee in moves])
            .values_list("pk", flat=True)
        )
        open_periods = {
            period.enterprise_id: period
            for period in ManagingCommitteePeriod.objects.select_for_update().filter(
                enterprise__in=[enterprise for enterprise, _committee in moves], valid_to__isnull=True
            )
        }
        changed = []
        for enterprise, committee in moves:
            if enterprise.pk not in editable:
                raise PermissionDenied(_("You may not change this enterprise."))
            enterprise = lock_for_update(enterprise)
            check_version(enterprise, (expected_versions or {}).get(enterprise.pk))
            before = values_of(enterprise)
            field = f"{enterprise.tax_code}: managing_committee" if len(moves) > 1 else "managing_committee"
            old = enterprise.managing_committee
            if committee.pk == old.pk:
                errors.add(
                    field, _("%(org)s already manages %(enterprise)s.") % {"org": committee, "enterprise": enterprise}
                )
                continue
            if not committee.is_active_on(on):
                errors.add(
                    field, _("%(org)s is not active on %(date)s.") % {"org": committee, "date": display_date(on)}
                )
            current = open_periods.get(enterprise.pk)
            if current is not None and current.valid_from is not None and on <= current.valid_from:
                errors.add(
                    field,
                    _("%(enterprise)s passed to its committee on %(date)s; a change takes effect after that day.")
                    % {"enterprise": enterprise, "date": display_date(current.valid_from)},
                )
            enterprise.managing_committee = committee
            check_enterprise_record(errors, acting_user, enterprise)
            dates = {d for d in mass_organization_dates([enterprise.pk]).get(enterprise.pk, ()) if d >= on}
            check_all_open(errors, [(c, d) for c in (old, committee) for d in sorted(dates)], field)
            changed.append((enterprise, before, old, current))
        errors.raise_if_any()
        decision = {"decision_number": decision_number, "decision_date": decision_date}
        for enterprise, _before, old, current in changed:
            if current is None:
                current = ManagingCommitteePeriod(enterprise=enterprise, committee=old, valid_from=None)
            current.valid_to = on
            save_with_history(current, acting_user, reason=_("restructuring"))
            period = ManagingCommitteePeriod(
                enterprise=enterprise, committee=enterprise.managing_committee, valid_from=on, **decision
            )
            save_with_history(period, acting_user, reason=_("restructuring"))
            save_with_history(
                enterprise,
                acting_user,
                reason=_("managed by %(org)s from %(date)s")
                % {"org": enterprise.managing_committee.code, "date": display_date(on)},
            )
        announce_enterprise_changes([(enterprise, before) for enterprise, before, _old, _current in changed])
        return [enterprise for enterprise, *_rest in changed]


def change_managing_committee(
    acting_user, enterprise, committee, *, on, decision_number="", decision_date=None, expected_version=None
):
    """One enterprise of :func:`change_managing_committees` (``expected_version``: the version the
    change was based on, refused when the record changed since); returns it."""
    return change_managing_committees(
        acting_user,
        [(enterprise, committee)],
        on=on,
        decision_number=decision_number,
        decision_date=decision_date,
        expected_versions={enterprise.pk: expected_version},
    )[0]


def admissions_at(enterprise_ids):
    """``{enterprise id: [(admitting organisation's path, admission date)]}`` of the members working
    there: the new-admissions report counts them by the ownership of their workplace. One query."""
    facts = {}
    for enterprise_id, path, admitted_on in Member.objects.filter(enterprise_id__in=enterprise_ids).values_list(
        "enterprise_id", "admitted_by__path", "admitted_on"
    ):
        facts.setdefault(enterprise_id, []).append((path, admitted_on))
    return facts


def mass_organization_dates(enterprise_ids):
    """``{enterprise id: {dates}}``: the establishments, returns and dissolutions of the enterprise's
    mass organisations, which count for its managing committee. Two queries."""
    dates = {}
    for enterprise_id, established_on, dissolved_on in MassOrganization.objects.filter(
        enterprise_id__in=enterprise_ids
    ).values_list("enterprise_id", "established_on", "dissolved_on"):
        dates.setdefault(enterprise_id, set()).update(d for d in (established_on, dissolved_on) if d)
    for enterprise_id, date in MembershipReturn.objects.filter(
        mass_organization__enterprise_id__in=enterprise_ids
    ).values_list("mass_organization__enterprise_id", "date"):
        dates.setdefault(enterprise_id, set()).add(date)
    return dates


def enterprise_change_facts(enterprise, *, ownership_changed, committees, admissions=None, dates=None):
    """``[(organisation or path, date)]`` an enterprise's change touches in the reports: a new
    ownership the admissions of its members, a new managing committee (``committees``: before and
    after) its mass organisations' history under both. Bulk callers preload ``admissions`` and
    ``dates`` (see :func:`admissions_at`, :func:`mass_organization_dates`)."""
    facts = []
    if ownership_changed:
        admissions = admissions_at([enterprise.pk]) if admissions is None else admissions
        facts += admissions.get(enterprise.pk, [])
    if committees:
        dates = mass_organization_dates([enterprise.pk]) if dates is None else dates
        facts += [(committee, date) for committee in committees for date in sorted(dates.get(enterprise.pk, ()))]
    return facts


def check_enterprise_open(errors, enterprise, before):
    """Refuse a change of ownership or of managing committee that would change an approved period's figures."""
    if enterprise.pk is None:
        return
    ownership_changed = enterprise.ownership != before["ownership"]
    committees = []
    if enterprise.managing_committee_id != before["managing_committee_id"]:
        committees = [
            *Organization.objects.filter(pk=before["managing_committee_id"]),
            enterprise.managing_committee,
        ]
    if not ownership_changed and not committees:
        return
    facts = enterprise_change_facts(enterprise, ownership_changed=ownership_changed, committees=committees)
    check_all_open(errors, facts, "managing_committee" if committees else "ownership")


def _check_mass_organization_open(errors, mass_organization, field):
    """A mass organisation's kind counts in every period it has an establishment or a return."""
    dates = {mass_organization.established_on, mass_organization.dissolved_on}
    dates |= set(MembershipReturn.objects.filter(mass_organization=mass_organization).values_list("date", flat=True))
    committee = mass_organization.enterprise.managing_committee
    check_all_open(errors, [(committee, date) for date in sorted(dates - {None})], field)


def announce_enterprise_changes(changed):
    """Publish what changed in ``changed`` ``[(enterprise, values before)]`` (see ``core.events.values_of``):
    one ``EnterprisesChanged`` and, for those that passed to another committee, one ``ManagingCommitteesChanged``."""
    fields, ids, committees = set(), [], []
    for enterprise, before in changed:
        changed_here = changed_fields(enterprise, before)
        if not changed_here:
            continue
        fields |= changed_here
        ids.append(enterprise.pk)
        if "managing_committee_id" in changed_here:
            committees.append(
                events.CommitteeChange(enterprise.pk, before["managing_committee_id"], enterprise.managing_committee_id)
            )
    if committees:
        publish(events.ManagingCommitteesChanged(tuple(committees)))
    if ids:
        publish(events.EnterprisesChanged(tuple(ids), frozenset(fields)))


# Mass organisations -----------------------------------------------------------------------


def _require_enterprise_editable(acting_user, enterprise):
    if not Enterprise.objects.editable_by(acting_user).filter(pk=enterprise.pk).exists():
        raise PermissionDenied(_("You may not change the records of this enterprise."))


@transaction.atomic
def establish_mass_organization(acting_user, *, enterprise, kind, name, established_on, founding_members):
    """A mass organisation is founded with its founding return (all its founding members count as admitted)."""
    _require_enterprise_editable(acting_user, enterprise)
    errors = Errors()
    if established_on is not None and established_on > today():
        errors.add("established_on", _("The date of establishment cannot be in the future."))
    if founding_members is None or founding_members < 1:
        errors.add("founding_members", _("A mass organisation is founded with at least one member."))
    check_open(errors, enterprise.managing_committee, established_on, "established_on")
    mass_organization = MassOrganization(
        enterprise=enterprise, kind=kind, name=(name or "").strip(), established_on=established_on
    )
    full_clean_into(mass_organization, errors)
    errors.raise_if_any()
    save_with_history(mass_organization, acting_user)
    founding = MembershipReturn(
        mass_organization=mass_organization,
        date=established_on,
        members_total=founding_members,
        members_admitted=founding_members,
        is_founding=True,
    )
    save_with_history(founding, acting_user)
    publish(events.MassOrganizationsEstablished.of([mass_organization]))
    publish(events.MembershipReturnsRecorded.of([founding]))
    return mass_organization


@transaction.atomic
def update_mass_organization(acting_user, mass_organization, *, expected_version=None, **changes):
    _require_enterprise_editable(acting_user, mass_organization.enterprise)
    mass_organization = lock_for_update(mass_organization)
    check_version(mass_organization, expected_version)
    before = values_of(mass_organization), events.MassOrganizationFacts.of(mass_organization)
    errors = Errors()
    for field, value in changes.items():
        if field not in ("name", "kind"):
            errors.add(field, _("This field cannot be changed here."))
            continue
        setattr(mass_organization, field, value)
    if mass_organization.kind != before[0]["kind"]:
        _check_mass_organization_open(errors, mass_organization, "kind")
    full_clean_into(mass_organization, errors)
    errors.raise_if_any()
    save_with_history(mass_organization, acting_user)
    _mass_organization_changed(mass_organization, *before)
    return mass_organization


def _mass_organization_changed(mass_organization, before, facts):
    publish(
        events.MassOrganizationChanged(
            changed_fields(mass_organization, before), facts, events.MassOrganizationFacts.of(mass_organization)
        )
    )


def check_membership_return(
    errors, mass_organization, *, date, members_total, members_admitted, recorded_dates=None, locks=None, committee=None
):
    """The rules of a return; bulk callers preload ``recorded_dates`` (dates already recorded for
    it), ``locks`` (``branches.approvals.Locks``) and the path of the managing ``committee``."""
    if date is None:
        errors.add("date", _("Give the date of the return."))
    else:
        if date > today():
            errors.add("date", _("The date of the return cannot be in the future."))
        if date <= mass_organization.established_on:
            errors.add(
                "date",
                _("A return comes after the founding of %(org)s (%(date)s).")
                % {"org": mass_organization, "date": display_date(mass_organization.established_on)},
            )
        if mass_organization.dissolved_on is not None and date > mass_organization.dissolved_on:
            errors.add(
                "date",
                _("%(org)s was dissolved on %(date)s.")
                % {"org": mass_organization, "date": display_date(mass_organization.dissolved_on)},
            )
        if (
            date in recorded_dates
            if recorded_dates is not None
            else MembershipReturn.objects.filter(mass_organization=mass_organization, date=date).exists()
        ):
            errors.add("date", _("A return for this date is already recorded."))
        if locks is None:
            check_open(errors, mass_organization.enterprise.managing_committee, date, "date")
        else:
            locks.check(errors, committee, date, "date")
    for field, value in (("members_total", members_total), ("members_admitted", members_admitted)):
        if value is None or value < 0:
            errors.add(field, _("Give a number of members, zero or more."))


@transaction.atomic
def record_membership_return(acting_user, mass_organization, *, date, members_total, members_admitted, reason=None):
    """Record a dated return: members in total and those admitted since the previous return."""
    _require_enterprise_editable(acting_user, mass_organization.enterprise)
    mass_organization = lock_for_update(mass_organization)
    errors = Errors()
    check_membership_return(
        errors, mass_organization, date=date, members_total=members_total, members_admitted=members_admitted
    )
    errors.raise_if_any()
    membership_return = MembershipReturn(
        mass_organization=mass_organization, date=date, members_total=members_total, members_admitted=members_admitted
    )
    save_with_history(membership_return, acting_user, reason=reason)
    publish(events.MembershipReturnsRecorded.of([membership_return]))
    return membership_return


def _managing_committee(mass_organization):
    return mass_organization.enterprise.managing_committee


@transaction.atomic
def correct_membership_return(
    acting_user, membership_return, *, reason, date=None, members_total=None, members_admitted=None
):
    """Correct a membership return recorded by mistake (its date, its counts), with the reason kept
    in the history; the reports recount (``MembershipReturnsCorrected``). A date, old or new, inside
    a period whose figures the managing committee's approval locked is refused (``check_open``).
    The founding return keeps the founding date (change the mass organisation for that)."""
    _require_enterprise_editable(acting_user, membership_return.mass_organization.enterprise)
    membership_return = lock_for_update(membership_return)
    mass_organization = membership_return.mass_organization
    before = ReturnFacts.of(membership_return)
    errors = Errors()
    reason = check_reason(errors, reason)
    date = membership_return.date if date is None else date
    members_total = membership_return.members_total if members_total is None else members_total
    members_admitted = membership_return.members_admitted if members_admitted is None else members_admitted
    if membership_return.is_founding:
        if date != membership_return.date:
            errors.add("date", _("The founding return is dated on the founding of the mass organisation."))
        if members_admitted != members_total:
            errors.add("members_admitted", _("The founding return counts every founding member as admitted."))
        if members_total is not None and members_total < 1:
            errors.add("members_total", _("A mass organisation is founded with at least one member."))
    else:
        recorded = set(
            MembershipReturn.objects.filter(mass_organization=mass_organization)
            .exclude(pk=membership_return.pk)
            .values_list("date", flat=True)
        )
        check_membership_return(
            errors,
            mass_organization,
            date=date,
            members_total=members_total,
            members_admitted=members_admitted,
            recorded_dates=recorded,
        )
    if (date, members_total, members_admitted) == (
        before.date,
        membership_return.members_total,
        before.members_admitted,
    ):
        errors.add("members_total", _("Nothing was changed."))
    committee = _managing_committee(mass_organization)
    if committee is not None:
        check_open(errors, committee, before.date, "date")
        if date is not None and date != before.date:
            check_open(errors, committee, date, "date")
    errors.raise_if_any()
    membership_return.date = date
    membership_return.members_total = members_total
    membership_return.members_admitted = members_admitted
    save_with_history(membership_return, acting_user, reason=reason)
    after = ReturnFacts.of(membership_return)
    publish(events.MembershipReturnsCorrected((before,), (after,)))
    return membership_return


@transaction.atomic
def dissolve_mass_organization(acting_user, mass_organization, *, on, expected_version=None):
    _require_enterprise_editable(acting_user, mass_organization.enterprise)
    mass_organization = lock_for_update(mass_organization)
    check_version(mass_organization, expected_version)
    errors = Errors()
    if mass_organization.dissolved_on is not None:
        errors.add(
            "dissolved_on", _("Already dissolved on %(date)s.") % {"date": display_date(mass_organization.dissolved_on)}
        )
    if on is None or on < mass_organization.established_on:
        errors.add("dissolved_on", _("It cannot be dissolved before it was established."))
    elif on > today():
        errors.add("dissolved_on", _("The date of dissolution cannot be in the future."))
    else:
        check_open(errors, mass_organization.enterprise.managing_committee, on, "dissolved_on")
    errors.raise_if_any()
    before = values_of(mass_organization), events.MassOrganizationFacts.of(mass_organization)
    mass_organization.dissolved_on = on
    save_with_history(mass_organization, acting_user)
    _mass_organization_changed(mass_organization, *before)
    return mass_organization


# Localities -------------------------------------------------------------------------------


def _require_administrator(acting_user):
    if not scope_for(acting_user).administers:
        raise PermissionDenied(_("Only administrators manage localities."))


#: The level of each kind of locality: a locality sits only under one of a higher level (a lower number).
LOCALITY_LEVEL = {
    LocalityKind.PROVINCE: 1,
    LocalityKind.DISTRICT: 2,
    LocalityKind.COMMUNE: 3,
    LocalityKind.WARD: 3,
    LocalityKind.SPECIAL_ZONE: 3,
}


def check_locality_level(errors, kind, parent, children_kinds=()):
    """A province is a root; a district sits under a province; a commune, ward or special zone under a
    province or a district (the district level was abolished on 1 July 2025). Never above."""
    level = LOCALITY_LEVEL.get(kind)
    if level is None:
        return
    if parent is None:
        if level != 1:
            errors.add("parent", _("A %(kind)s sits under a province.") % {"kind": LocalityKind(kind).label})
    elif LOCALITY_LEVEL.get(parent.kind, 0) >= level:
        errors.add(
            "parent",
            _("A %(kind)s cannot sit under a %(parent_kind)s.")
            % {"kind": LocalityKind(kind).label, "parent_kind": LocalityKind(parent.kind).label},
        )
    for child_kind in set(children_kinds):
        if LOCALITY_LEVEL.get(child_kind, 99) <= level:
            errors.add(
                "kind",
                _("A %(kind)s cannot be above a %(child_kind)s.")
                % {"kind": LocalityKind(kind).label, "child_kind": LocalityKind(child_kind).label},
            )


@transaction.atomic
def create_locality(acting_user, *, code, name, kind, parent=None, on=None, decision_number="", decision_date=None):
    """Add a locality; with ``on``, one established on that date (a new commune of a reform), which
    the tree as of an earlier date leaves out. Without it, one recorded as it stands, read back to
    ``LOCALITIES_RECORDED_FROM``."""
    _require_administrator(acting_user)
    decision_number = (decision_number or "").strip()
    errors = Errors()
    if Locality.objects.filter(code=code).exists():
        errors.add("code", _("A locality with the code %(code)s already exists.") % {"code": code})
    locality = Locality(code=(code or "").strip(), name=(name or "").strip(), kind=kind)
    check_locality_level(errors, kind, parent)
    if on is not None and on > today():
        errors.add("on", _("The date the change takes effect cannot be in the future."))
    if parent is not None:
        _check_locality_exists(errors, parent, on or today(), "parent")
    check_change_decision(errors, decision_number, decision_date, on)
    full_clean_into(locality, errors, exclude=["path", "depth", "numchild"] + (["code"] if "code" in errors else []))
    errors.raise_if_any()
    locality._history_user = acting_user
    if parent is None:
        locality = Locality.objects.add_root(instance=locality)
    else:
        locality = Locality.objects.add_child(Locality.objects.get(pk=parent.pk), instance=locality)
    if on is not None:
        version = LocalityVersion(
            locality=locality,
            parent=parent,
            name=locality.name,
            valid_from=on,
            change=LocalityChange.ESTABLISHED,
            decision_number=decision_number,
            decision_date=decision_date,
        )
        save_with_history(version, acting_user)
    return locality


@transaction.atomic
def update_locality(acting_user, locality, **changes):
    _require_administrator(acting_user)
    locality = lock_for_update(locality)
    errors = Errors()
    for field, value in changes.items():
        if field not in ("name", "kind", "code"):
            errors.add(field, _("This field cannot be changed here."))
            continue
        setattr(locality, field, value)
    if Locality.objects.filter(code=locality.code).exclude(pk=locality.pk).exists():
        errors.add("code", _("A locality with the code %(code)s already exists.") % {"code": locality.code})
    if "kind" in changes:
        check_locality_level(
            errors,
            locality.kind,
            Locality.objects.get_parent(locality),
            Locality.objects.get_children(locality).values_list("kind", flat=True),
        )
    full_clean_into(locality, errors, exclude=["path", "depth", "numchild"])
    errors.raise_if_any()
    if "name" in changes:  # a correction, not a renaming on a date: the current state takes it
        version = LocalityVersion.objects.filter(locality=locality, valid_to__isnull=True).first()
        if version is not None and version.name != locality.name:
            version.name = locality.name
            save_with_history(version, acting_user)
    return save_with_history(locality, acting_user)


# Localities through time ------------------------------------------------------------------


def current_locality_version(locality, *, lock=False):
    """The locality's latest dated state; localities written in bulk (demo data, imports) get theirs
    here, from today's row since ``LOCALITIES_RECORDED_FROM``, the first time a service changes them."""
    versions = LocalityVersion.objects.filter(locality=locality).order_by("-valid_from")
    if lock:
        versions = versions.select_for_update()
    version = versions.first()
    if version is None:
        version = LocalityVersion.objects.create(
            locality=locality,
            parent=Locality.objects.get_parent(locality),
            name=locality.name,
            valid_from=LOCALITIES_RECORDED_FROM,
            change=LocalityChange.ESTABLISHED,
        )
    return version


def _check_locality_date(errors, locality, on, *, field="on"):
    """``locality`` may change from ``on``: a day not in the future, on which it exists, not before
    its latest state. Returns that state (None when it cannot change)."""
    if on is None:
        if field not in errors:
            errors.add(field, _("Give the date the change takes effect."))
        return None
    if on > today() and field not in errors:
        errors.add(field, _("The date the change takes effect cannot be in the future."))
    if locality.ended_on is not None:
        errors.add(
            field,
            _("%(locality)s ended on %(date)s.") % {"locality": locality, "date": display_date(locality.ended_on)},
        )
        return None
    version = current_locality_version(locality, lock=True)
    if on < version.valid_from:
        if version.change == LocalityChange.ESTABLISHED:
            message = _("%(locality)s exists only from %(date)s.")
        else:
            message = _("%(locality)s already changed on %(date)s; a change takes effect on that day or later.")
        errors.add(field, message % {"locality": locality, "date": display_date(version.valid_from)})
    return version


def _check_locality_exists(errors, locality, on, field):
    if on is not None and not locality.exists_on(on):
        errors.add(
            field, _("%(locality)s does not exist on %(date)s.") % {"locality": locality, "date": display_date(on)}
        )


def _next_locality_version(version, acting_user, *, on, change, decision, **facts):
    """Close ``version`` the day before ``on`` and open the next state; on the same day, amend it."""
    if version.valid_from == on:
        for field, value in facts.items():
            setattr(version, field, value)
        version.change = change
        version.decision_number, version.decision_date = decision
        return save_with_history(version, acting_user)
    version.valid_to = on
    version.end_change = change
    save_with_history(version, acting_user)
    return save_with_history(
        LocalityVersion(
            locality_id=version.locality_id,
            parent_id=facts["parent"].pk if "parent" in facts else version.parent_id,
            name=facts.get("name", version.name),
            valid_from=on,
            change=change,
            decision_number=decision[0],
            decision_date=decision[1],
        ),
        acting_user,
    )


def _end_locality(locality, version, acting_user, *, on, change, decision, successor=None):
    """The locality ends on ``on`` (its last state closes; changed the same day, the one before)."""
    if on <= version.valid_from:
        previous = (
            LocalityVersion.objects.filter(locality_id=version.locality_id, valid_to=version.valid_from)
            .order_by("-valid_from")
            .first()
        )
        version._history_user = acting_user
        version.delete()
        version = previous
    if version is not None:
        version.valid_to = on
        version.end_change = change
        version.end_decision_number, version.end_decision_date = decision
        version.successor = successor
        save_with_history(version, acting_user)
    locality.ended_on = on
    reason = _("merged into %(code)s") % {"code": successor.code} if successor else _("abolished")
    save_with_history(locality, acting_user, reason=reason)


def _check_children_under(errors, children, parent, on):
    """The localities below one that ends, which move under ``parent`` on ``on``: of a lower level,
    and free to change on that date."""
    versions = {}
    for child in children:
        check_locality_level(errors, child.kind, parent)
        versions[child.pk] = _check_locality_date(errors, child, on)
    return versions


def _move_children(acting_user, children, versions, parent, on, decision):
    for child in children:
        child = lock_for_update(child)
        Locality.objects.move(child, Locality.objects.get(pk=parent.pk), "last-child")
        child.refresh_from_db()
        _next_locality_version(
            versions[child.pk], acting_user, on=on, change=LocalityChange.MOVED, decision=decision, parent=parent
        )
        save_with_history(child, acting_user, reason=_("moved under %(parent)s") % {"parent": parent.code})


def _check_enterprises_passing(errors, localities, on):
    """The enterprises located in ``localities``, which pass to their successor on ``on``, with
    their open locality periods (one from a restructuring must not begin after ``on``)."""
    enterprises = list(Enterprise.objects.select_for_update().filter(locality__in=[loc.pk for loc in localities]))
    periods = {
        period.enterprise_id: period
        for period in EnterpriseLocalityPeriod.objects.select_for_update().filter(
            enterprise__in=[e.pk for e in enterprises], valid_to__isnull=True
        )
    }
    for enterprise in enterprises:
        period = periods.get(enterprise.pk)
        if on is not None and period is not None and period.valid_from is not None and on < period.valid_from:
            errors.add(
                "on",
                _("%(enterprise)s moved to %(locality)s on %(date)s; a change takes effect on that day or later.")
                % {"enterprise": enterprise, "locality": enterprise.locality, "date": display_date(period.valid_from)},
            )
    return enterprises, periods


def _pass_enterprises(acting_user, enterprises, periods, successor, on, decision):
    """From ``on`` the enterprises are located in ``successor``; before, in their former locality
    (``EnterpriseLocalityPeriod``). Moved already that day (merges in a chain), the period of
    that day takes the successor."""
    changed = []
    for enterprise in enterprises:
        before = values_of(enterprise)
        current = periods.get(enterprise.pk) or EnterpriseLocalityPeriod(
            enterprise=enterprise, locality_id=enterprise.locality_id, valid_from=None
        )
        if current.valid_from == on:
            current.locality = successor
            current.decision_number, current.decision_date = decision
            save_with_history(current, acting_user, reason=_("restructuring"))
        else:
            current.valid_to = on
            save_with_history(current, acting_user, reason=_("restructuring"))
            save_with_history(
                EnterpriseLocalityPeriod(
                    enterprise=enterprise,
                    locality=successor,
                    valid_from=on,
                    decision_number=decision[0],
                    decision_date=decision[1],
                ),
                acting_user,
                reason=_("restructuring"),
            )
        enterprise.locality = successor
        save_with_history(
            enterprise,
            acting_user,
            reason=_("located in %(locality)s from %(date)s") % {"locality": successor.code, "date": display_date(on)},
        )
        changed.append((enterprise, before))
    announce_enterprise_changes(changed)


def _pass_organizations(acting_user, localities, successor, on):
    """The organisations located in ``localities`` that still stand on ``on`` are located in
    ``successor`` from then (their history keeps the former locality and the date)."""
    organizations = Organization.objects.select_for_update().filter(
        Q(dissolved_on__isnull=True) | Q(dissolved_on__gt=on), locality__in=[loc.pk for loc in localities]
    )
    for organization in organizations:
        before = branch_events.Establishment.of(organization)
        organization.locality = successor
        save_with_history(
            organization,
            acting_user,
            reason=_("located in %(locality)s from %(date)s") % {"locality": successor.code, "date": display_date(on)},
        )
        publish(branch_events.OrganizationChanged(organization.pk, frozenset({"locality_id"}), before, before))


def _publish_restructuring(change, localities, on, acting_user, into=None):
    publish(
        events.LocalitiesRestructured(
            change,
            tuple(locality.pk for locality in localities),
            on,
            into.pk if into is not None else None,
            getattr(acting_user, "pk", None),
        )
    )


def _check_new_name(errors, locality, name):
    if not name:
        errors.add("name", _("Give the new name."))
    elif SINGLE_LINE_FORBIDDEN.search(name):
        errors.add("name", _("Remove the control characters from this text."))
    elif len(name) > Locality._meta.get_field("name").max_length:
        errors.add("name", _("The name is too long."))
    elif name == locality.name:
        errors.add("name", _("This is already the locality's name."))


@transaction.atomic
def rename_locality(acting_user, locality, *, name, on=None, decision_number="", decision_date=None):
    """Rename a locality from ``on`` (default today); its earlier name stays on the dates before."""
    _require_administrator(acting_user)
    locality = lock_for_update(locality)
    on = today() if on is None else on
    name = (name or "").strip()
    decision_number = (decision_number or "").strip()
    errors = Errors()
    _check_new_name(errors, locality, name)
    version = _check_locality_date(errors, locality, on)
    check_change_decision(errors, decision_number, decision_date, on)
    errors.raise_if_any()
    decision = (decision_number, decision_date)
    _next_locality_version(version, acting_user, on=on, change=LocalityChange.RENAMED, decision=decision, name=name)
    locality.name = name
    save_with_history(locality, acting_user, reason=_("renamed"))
    _publish_restructuring(LocalityChange.RENAMED, [locality], on, acting_user)
    return locality


@transaction.atomic
def move_locality(acting_user, locality, new_parent, *, on=None, decision_number="", decision_date=None):
    """Move a locality under another from ``on`` (default today): today's tree moves with its
    subtree; the dated states keep the old parent until the day before ``on``."""
    _require_administrator(acting_user)
    locality = lock_for_update(locality)
    new_parent = Locality.objects.get(pk=new_parent.pk)
    on = today() if on is None else on
    decision_number = (decision_number or "").strip()
    errors = Errors()
    if new_parent.path.startswith(locality.path):
        errors.add("parent", _("A locality cannot move under itself."))
    else:
        check_locality_level(errors, locality.kind, new_parent)
        _check_locality_exists(errors, new_parent, on, "parent")
    version = _check_locality_date(errors, locality, on)
    check_change_decision(errors, decision_number, decision_date, on)
    errors.raise_if_any()
    if Locality.objects.get_parent(locality) == new_parent:
        return locality
    decision = (decision_number, decision_date)
    Locality.objects.move(locality, new_parent, "last-child")
    locality.refresh_from_db()
    _next_locality_version(
        version, acting_user, on=on, change=LocalityChange.MOVED, decision=decision, parent=new_parent
    )
    save_with_history(locality, acting_user, reason=_("moved under %(parent)s") % {"parent": new_parent.code})
    _publish_restructuring(LocalityChange.MOVED, [locality], on, acting_user, into=new_parent)
    return locality


def merge_localities(acting_user, sources, into, *, on, decision_number="", decision_date=None):
    """Merge ``sources`` (provinces into a province, communes into a commune, …) into ``into`` on
    ``on``: the localities below them move under ``into``, the enterprises and the standing
    organisations located in them pass to ``into`` from that date, and they end, "merged into" it.
    All or nothing."""
    with transaction.atomic(), deliberate_row_writes():
        _require_administrator(acting_user)
        into = lock_for_update(into)
        sources = [lock_for_update(source) for source in {source.pk: source for source in sources}.values()]
        decision_number = (decision_number or "").strip()
        errors = Errors()
        if not sources:
            errors.add("sources", _("Choose the localities to merge."))
        if on is None:
            errors.add("on", _("Give the date the change takes effect."))
        _check_locality_exists(errors, into, on, "into")
        versions, children = {}, []
        for source in sources:
            if source.pk == into.pk:
                errors.add("into", _("A locality cannot be merged into itself."))
                continue
            if into.path.startswith(source.path):
                errors.add("into", _("%(into)s lies inside %(source)s.") % {"into": into, "source": source})
                continue
            if LOCALITY_LEVEL.get(source.kind) != LOCALITY_LEVEL.get(into.kind):
                errors.add(
                    "into",
                    _("A %(kind)s merges into a locality of its level, not into a %(into_kind)s.")
                    % {"kind": LocalityKind(source.kind).label, "into_kind": LocalityKind(into.kind).label},
                )
            versions[source.pk] = _check_locality_date(errors, source, on)
            below = [child for child in Locality.objects.get_children(source) if child.ended_on is None]
            children += below
        child_versions = _check_children_under(errors, children, into, on)
        enterprises, periods = _check_enterprises_passing(errors, sources, on)
        check_change_decision(errors, decision_number, decision_date, on)
        errors.raise_if_any()
        decision = (decision_number, decision_date)
        _move_children(acting_user, children, child_versions, into, on, decision)
        _pass_enterprises(acting_user, enterprises, periods, into, on, decision)
        _pass_organizations(acting_user, sources, into, on)
        for source in sources:
            _end_locality(
                source, versions[source.pk], acting_user, on=on, change=LocalityChange.MERGED, decision=decision,
                successor=into,
            )  # fmt: skip
        _publish_restructuring(LocalityChange.MERGED, sources, on, acting_user, into=into)
        into.refresh_from_db()
        return into


def abolish_locality(acting_user, locality, *, on, decision_number="", decision_date=None):
    """Abolish a district on ``on`` (the reform of 1 July 2025): its communes and wards move up under
    its province from that date, the enterprises and the standing organisations located in the
    district itself pass to the province, and it ends, "abolished". All or nothing."""
    with transaction.atomic(), deliberate_row_writes():
        _require_administrator(acting_user)
        locality = lock_for_update(locality)
        decision_number = (decision_number or "").strip()
        errors = Errors()
        parent = Locality.objects.get_parent(locality)
        if locality.kind != LocalityKind.DISTRICT or parent is None:
            errors.add(
                "locality",
                _("Only a district is abolished; a %(kind)s is merged.") % {"kind": LocalityKind(locality.kind).label},
            )
            errors.raise_if_any()
        version = _check_locality_date(errors, locality, on)
        children = [child for child in Locality.objects.get_children(locality) if child.ended_on is None]
        child_versions = _check_children_under(errors, children, parent, on)
        enterprises, periods = _check_enterprises_passing(errors, [locality], on)
        check_change_decision(errors, decision_number, decision_date, on)
        errors.raise_if_any()
        decision = (decision_number, decision_date)
        _move_children(acting_user, children, child_versions, parent, on, decision)
        _pass_enterprises(acting_user, enterprises, periods, parent, on, decision)
        _pass_organizations(acting_user, [locality], parent, on)
        _end_locality(locality, version, acting_user, on=on, change=LocalityChange.ABOLISHED, decision=decision)
        _publish_restructuring(LocalityChange.ABOLISHED, [locality], on, acting_user, into=parent)
        locality.refresh_from_db()
        return locality
