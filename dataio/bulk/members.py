"""Bulk admission and update of members (the members import)."""

from operator import attrgetter

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from branches import events as branch_events
from branches.approvals import ADMISSION_REPORT_FIELDS, Locks
from branches.choices import MEMBER_PROFILE_FIELDS
from branches.models import Member, MembershipPeriod, Organization, periods_of_new_members
from branches.services import (
    MEMBER_EDITABLE_FIELDS,
    OUT_OF_SCOPE_HOLDER,
    MemberHolders,
    admitted_member_fields,
    check_admission,
    check_enterprise,
    check_member_facts,
    check_person,
    require_editable,
)
from core.dates import same_day
from core.events import publish
from core.services import Errors
from core.timing import PhaseTimer
from dataio.bulk.common import (
    ADMISSION_EXCLUDE,
    CREATE,
    ERROR,
    MEMBER_FK_FIELDS,
    MEMBER_LIFECYCLE_FIELDS,
    UNCHANGED,
    UPDATE,
    FieldCleaner,
    InstanceBuilder,
    filter_in,
    finish,
    has_errors,
    ids_in,
    pks_of,
    report_duplicates,
    row_counter,
)
from dataio.bulk.writers import (
    CopyThread,
    NewRow,
    attnames,
    connection_for,
    history_fields_of,
    history_values,
    insert_with_history,
    postgres,
    prepare_new,
    reserve_ids,
    update_with_history,
)
from enterprises.models import Enterprise
from security.access import note_scope_probe

# Members ----------------------------------------------------------------------------------


def _clean_text(value):
    return value.strip() if isinstance(value, str) else value


@same_day()
def plan_members(acting_user, *, organization, items, lock=False, progress=None):
    """Decide, for each item, whether it admits a new member, updates one or changes nothing.

    A row is about an existing member when its citizen ID (or else its Party card number) is
    recorded. New members go to ``values["organization"]`` or else ``organization``; both must
    be in ``organization``'s subtree and editable by ``acting_user`` (``PermissionDenied`` when
    ``organization`` itself is not). With ``lock``, matched members are locked (PostgreSQL).
    ``progress(rows checked, rows in total)`` is called as the rows are checked.
    """
    plan = _member_planner(acting_user, organization=organization, items=items, lock=lock)
    tick = row_counter(progress, len(items))
    for item in items:
        plan(item)
        tick()
    return finish(items)


def _member_planner(acting_user, *, organization, items, lock):
    """The queries and the checks across rows of :func:`plan_members`; returns the function that
    plans one item (no queries: it may run while a COPY is open)."""
    require_editable(acting_user, organization)
    citizen_ids, cards = set(), set()
    for item in items:
        values = item.values
        for name in ("citizen_id", "party_card_number", "full_name"):
            if name in values:
                values[name] = _clean_text(values[name] or "")
        citizen_ids.add(values.get("citizen_id"))
        cards.add(values.get("party_card_number"))
    citizen_ids -= {"", None}
    cards -= {"", None}
    # First the ids of the members holding the file's citizen IDs or Party cards (index look-ups
    # only), then, when there are any, those members with their organisation and enterprise. The
    # Party card's unique index is partial (non-empty cards): the query says so, or PostgreSQL
    # cannot use it and reads the whole table.
    holder_ids = set()
    for queryset, lookup, values in (
        (Member.objects.order_by(), "citizen_id", citizen_ids),
        (Member.objects.order_by().exclude(party_card_number=""), "party_card_number", cards),
    ):
        for subset in filter_in(queryset, lookup, values):
            holder_ids.update(subset.values_list("pk", flat=True))
    members = {}
    matched = Member.objects.select_related("organization", "enterprise", "admitted_by")
    if lock:
        matched = matched.select_for_update(of=("self",))
    for subset in filter_in(matched, "pk", holder_ids):
        for member in subset:
            members[member.pk] = member
    by_citizen_id = {member.citizen_id: member for member in members.values()}
    by_card = {member.party_card_number: member for member in members.values() if member.party_card_number}
    editable_members = ids_in(Member.objects.editable_by(acting_user), members)
    visible_members = ids_in(Member.objects.visible_to(acting_user), set(members) - editable_members)
    holders = MemberHolders(
        {cid: member.pk for cid, member in by_citizen_id.items()},
        {card: member.pk for card, member in by_card.items()},
        visible=editable_members | visible_members,
    )

    organization_ids = pks_of(item.values.get("organization") for item in items)
    organization_ids.add(organization.pk)
    editable_organizations = ids_in(Organization.objects.editable_by(acting_user), organization_ids)
    enterprise_ids = pks_of(item.values.get("enterprise") for item in items)
    visible_enterprises = ids_in(Enterprise.objects.visible_to(acting_user), enterprise_ids)

    report_duplicates(
        items,
        lambda item: item.values.get("citizen_id"),
        "citizen_id",
        _("This citizen ID is also on row(s) %(rows)s of the file."),
    )
    report_duplicates(
        items,
        lambda item: item.values.get("party_card_number"),
        "party_card_number",
        _("This Party card number is also on row(s) %(rows)s of the file."),
    )
    for item in items:
        existing = by_citizen_id.get(item.values.get("citizen_id"))
        if existing is None and item.values.get("party_card_number"):
            existing = by_card.get(item.values["party_card_number"])
        item.instance = existing
    report_duplicates(
        items,
        lambda item: item.instance.pk if item.instance is not None and not item.errors else None,
        "citizen_id",
        _("Row(s) %(rows)s of the file are about the same member."),
    )

    context = {
        "acting_user": acting_user,
        "organization": organization,
        "holders": holders,
        "editable_members": editable_members,
        "editable_organizations": editable_organizations,
        "visible_enterprises": visible_enterprises,
        "build_member": InstanceBuilder(Member),
        "clean": FieldCleaner(Member),
        "locks": Locks(),
    }

    def plan(item):
        if item.instance is None:
            _plan_admission(item, **context)
        else:
            _plan_member_update(item, **context)

    return plan


def _check_destination_scope(errors, organization, destination, editable_organizations):
    if not destination.path.startswith(organization.path) or destination.pk not in editable_organizations:
        errors.add(
            "organization",
            _("%(org)s is not within %(scope)s, the organisation you import into.")
            % {"org": destination, "scope": organization},
        )


def _plan_admission(
    item,
    *,
    acting_user,
    organization,
    holders,
    editable_organizations,
    visible_enterprises,
    build_member,
    clean,
    locks,
    **_context,
):
    get = item.values.get
    destination = get("organization") or organization
    admitted_on, date_of_birth, official_on = get("admitted_on"), get("date_of_birth"), get("official_on")
    citizen_id, party_card_number = get("citizen_id") or "", get("party_card_number") or ""
    enterprise = get("enterprise")
    errors = Errors()
    _check_destination_scope(errors, organization, destination, editable_organizations)
    check_admission(
        errors,
        organization=destination,
        admitted_on=admitted_on,
        date_of_birth=date_of_birth,
        official_on=official_on,
        dossier_reviewed_on=get("dossier_reviewed_on"),
        over_age_approved=bool(get("over_age_approved")),
        over_age_approval_reference=get("over_age_approval_reference") or "",
        ceremony_on=get("ceremony_on"),
        position=get("position") or "worker",
        is_business_owner=bool(get("is_business_owner")),
    )
    check_person(
        errors,
        citizen_id=citizen_id,
        party_card_number=party_card_number,
        date_of_birth=date_of_birth,
        holders=holders,
        acting_user=acting_user,
    )
    check_enterprise(errors, acting_user, enterprise, visible_ids=visible_enterprises)
    locks.check(errors, destination, admitted_on, "admitted_on")
    member = build_member(
        admitted_member_fields(
            organization=destination,
            admitted_on=admitted_on,
            full_name=get("full_name"),
            sex=get("sex"),
            date_of_birth=date_of_birth,
            citizen_id=citizen_id,
            party_card_number=party_card_number,
            enterprise=enterprise,
            position=get("position") or "worker",
            is_business_owner=bool(get("is_business_owner")),
            official_on=official_on,
            dossier_reviewed_on=get("dossier_reviewed_on"),
            over_age_approved=bool(get("over_age_approved")),
            over_age_approval_reference=get("over_age_approval_reference") or "",
            admission_decision_number=get("admission_decision_number") or "",
            admission_decided_by=get("admission_decided_by") or "",
            ceremony_on=get("ceremony_on"),
            **{name: get(name) for name in MEMBER_PROFILE_FIELDS if name in item.given},
        )
    )
    # The citizen ID passed validate_citizen_id (12 digits: the field accepts it) or has its error.
    if errors or item.errors:
        exclude = [*ADMISSION_EXCLUDE, *(f for f in ("date_of_birth", "admitted_on") if f in errors)]
        exclude += [name for name in item.errors if name not in exclude]
    else:
        exclude = ADMISSION_EXCLUDE
    clean(member, errors, exclude=exclude)
    item.merge(errors)
    item.instance = member
    item.action = CREATE


def same_value(before, after):
    if hasattr(before, "pk") or hasattr(after, "pk"):
        return getattr(before, "pk", None) == getattr(after, "pk", None)
    return before == after


def _plan_member_update(
    item, *, acting_user, organization, holders, editable_members, visible_enterprises, clean, locks, **_context
):
    member = item.instance
    values = item.values
    if not holders.visible_to(member.pk, acting_user):
        item.error("citizen_id", str(OUT_OF_SCOPE_HOLDER))
        note_scope_probe(acting_user, "citizen_id")
        item.action = ERROR
        return
    if member.pk not in editable_members or not member.organization.path.startswith(organization.path):
        item.error(
            "citizen_id",
            _(
                "This person is already recorded as a member outside the organisation you import into; "
                "the organisation keeping the record must change it."
            ),
        )
        item.action = ERROR
        return
    for name in MEMBER_LIFECYCLE_FIELDS:
        if name in item.given and values.get(name) is not None and name not in item.errors:
            if not same_value(getattr(member, name), values[name]):
                item.error(
                    name,
                    _(
                        "An import does not change this: it was %(before)s. Transfers and recognition "
                        "as an official member are recorded on the member's page."
                    )
                    % {"before": getattr(member, name) or "—"},
                )
    changes = {}
    for name in MEMBER_EDITABLE_FIELDS:
        if name not in item.given or name in item.errors:
            continue
        after = values.get(name)
        if name in (
            "citizen_id",
            "party_card_number",
            "full_name",
            "admission_decision_number",
            "admission_decided_by",
        ):
            after = after or ""
        elif name == "position":
            after = after or "worker"
        elif name == "is_business_owner":
            after = bool(after)
        elif name in MEMBER_PROFILE_FIELDS and name != "youth_union_member_at_admission":
            after = after or ""
        before = getattr(member, name)
        if not same_value(before, after):
            changes[name] = (before, after)
    item.changes = changes
    if not changes:
        item.action = UNCHANGED
        return
    for name, (_before, after) in changes.items():
        setattr(member, name, after)
    errors = Errors()
    check_person(
        errors,
        citizen_id=member.citizen_id,
        party_card_number=member.party_card_number,
        date_of_birth=member.date_of_birth,
        member=member,
        holders=holders,
        acting_user=acting_user,
    )
    if "enterprise" in changes:
        check_enterprise(errors, acting_user, member.enterprise, visible_ids=visible_enterprises)
    check_member_facts(errors, member, changed=changes)
    reported = [name for name in ADMISSION_REPORT_FIELDS if name in changes]
    if reported:  # read by the new-admissions report of the period of the admission
        locks.check(errors, member.admitted_by, member.admitted_on, reported[0])
    exclude = [*MEMBER_FK_FIELDS, "citizen_id", *(f for f in ("date_of_birth",) if f in errors)]
    clean(member, errors, exclude=exclude)
    item.merge(errors)
    item.action = UPDATE


def write_members(acting_user, items, *, reason, history_date=None, written=False, timer=None):
    """Write the planned admissions (members and their first periods) and updates, with history.

    ``written``: the new members, their first periods and the history of both are in their tables
    already (COPYed while planning, see :func:`_plan_writing_members`), each period starting on its
    member's admission; ``history_date`` must then be the date they were written with.
    ``timer``: a :class:`~core.timing.PhaseTimer` receiving the time of the roll-ups (the events'
    subscribers) apart from the rest.
    """
    timer = timer or PhaseTimer()
    if has_errors(items):
        raise PermissionDenied(_("The rows with errors must be corrected before anything is written."))
    history = {"user": acting_user, "reason": reason, "date": history_date or timezone.now()}
    new_members = [item.instance for item in items if item.action == CREATE]
    if new_members:
        if not written:
            insert_with_history(Member, new_members, **history)
            insert_with_history(MembershipPeriod, [_first_period(member) for member in new_members], **history)
        periods = [branch_events.Period(m.pk, m.organization_id, m.admitted_on) for m in new_members]
        with timer.phase("rollups"):
            publish(branch_events.MembersAdmitted.of(new_members, periods, carried=True))
    updates = [item for item in items if item.action == UPDATE]
    if updates:
        fields = {name for item in updates for name in item.changes}
        update_with_history(Member, [item.instance for item in updates], fields, **history)
        previous = {_pk(item.changes["enterprise"][0]) for item in updates if "enterprise" in item.changes}
        changed = branch_events.MembersChanged(
            tuple(item.instance.pk for item in updates),
            attnames(Member, fields),
            tuple(sorted(pk for pk in previous if pk is not None)),
        )
        with timer.phase("rollups"):
            publish(changed)
    return items


def _first_period(member):
    return NewRow(member_id=member.pk, organization_id=member.organization_id, started_on=member.admitted_on)


def _pk(value):
    """The id of a foreign key's value before a change (an instance, an id or None)."""
    return getattr(value, "pk", value)


@transaction.atomic
def import_members(acting_user, *, organization, items, reason, dry_run=False, progress=None, timer=None):
    """Plan the items and, unless ``dry_run`` or any item has an error, write them: all or nothing.

    PostgreSQL: the new members, their first periods and the history of both are COPYed while the
    items are planned (see :func:`_plan_writing_members`), and rolled back when an item has an error.
    ``progress(rows checked, rows in total)`` is called as the rows are checked (it may not use
    this transaction's connection: a COPY may be open, see ``core.jobs.Progress``); ``timer`` (a
    :class:`~core.timing.PhaseTimer`) receives the time of the phases check, write and roll-ups.
    """
    timer = timer or PhaseTimer()
    if dry_run or not postgres(connection_for(Member)):
        with timer.phase("check"):
            plan_members(acting_user, organization=organization, items=items, lock=not dry_run, progress=progress)
        if not dry_run and not has_errors(items):
            with timer.phase("write"):
                write_members(acting_user, items, reason=reason, timer=timer)
        return items
    date = timezone.now()
    with timer.phase("check"), same_day():
        plan = _member_planner(acting_user, organization=organization, items=items, lock=True)
        history = {"user": acting_user, "reason": reason, "date": date}
        written = _plan_writing_members(items, plan, history=history, tick=row_counter(progress, len(items)))
        finish(items)
    if not has_errors(items):
        with timer.phase("write"):
            write_members(acting_user, items, reason=reason, history_date=date, written=written, timer=timer)
    return items


class _Refused(Exception):
    """An item has an error: the writing begun while planning is abandoned."""


#: Admissions per batch of :func:`_plan_writing_members`, and per batch at either end: the server
#: has nothing to write until the first batch is checked, and Python nothing to check while the
#: server writes the last.
WRITE_BATCH, EDGE_BATCH = 5000, 1000


def batch_size(sent, admissions):
    """The size of the next batch of new members once ``sent`` of the ``admissions`` are sent."""
    if sent == 0 or admissions - sent <= WRITE_BATCH:
        return EDGE_BATCH
    return WRITE_BATCH


def _plan_writing_members(items, plan, *, history, tick=lambda: None):
    """Plan each item with ``plan`` (see :func:`_member_planner`) while PostgreSQL writes the new
    members planned so far, their first periods and the history of both, with ids reserved
    beforehand (``history``: the user, reason and date they are written with).

    The rows go in batches to a :class:`~dataio.bulk.writers.CopyThread`: the server writes one
    batch while Python checks the next rows, instead of writing the periods and histories after the
    check, alone. Their foreign keys are checked once for all the rows at the end (see
    :class:`~dataio.bulk.writers.KeyCheck`), or deferred to the commit where the role may not do
    that: checked batch by batch, they would cost the server more. In a savepoint: at the first
    item with an error no more rows are sent, and after the last item the savepoint is rolled back
    and the members are left unsaved, so nothing stays. Returns whether the rows were written.
    Every item is planned either way; ``tick()`` is called after each.
    """
    admissions = sum(1 for item in items if item.instance is None)
    connection = connection_for(Member)
    member_fields, period_fields = Member._meta.concrete_fields, MembershipPeriod._meta.concrete_fields
    member_history = history_fields_of(Member, member_fields)
    period_history = history_fields_of(MembershipPeriod, period_fields)
    if not admissions or any(item.errors for item in items) or None in (member_history, period_history):
        for item in items:
            plan(item)
            tick()
        return False
    date = history["date"]
    member_ids = iter(reserve_ids(connection, Member, admissions))
    period_ids = iter(reserve_ids(connection, MembershipPeriod, admissions))
    member_values = attrgetter(*(field.attname for field in member_fields))
    period_values = attrgetter(*(field.attname for field in period_fields))
    constant = history_values(**history, history_type="+")
    targets = [
        (Member._meta.db_table, member_fields),
        (MembershipPeriod._meta.db_table, period_fields),
        (Member.history.model._meta.db_table, member_history),
        (MembershipPeriod.history.model._meta.db_table, period_history),
    ]
    prepared = []
    refused = False
    sent, size = 0, batch_size(0, admissions)
    try:
        with (
            transaction.atomic(using=connection.alias),
            periods_of_new_members(connection),
            CopyThread(connection, targets) as copier,
        ):
            batch = ([], [], [], [])
            for item in items:
                plan(item)
                tick()
                if refused or item.errors:
                    refused = True
                    continue
                if item.action != CREATE:
                    continue
                member = prepare_new(Member, item.instance, next(member_ids), date, connection)
                period = prepare_new(MembershipPeriod, _first_period(member), next(period_ids), date, connection)
                prepared.append(member)
                member_row, period_row = member_values(member), period_values(period)
                batch[0].append(member_row)
                batch[1].append(period_row)
                batch[2].append(member_row + constant)
                batch[3].append(period_row + constant)
                if len(batch[0]) == size:
                    copier.add(batch)
                    sent += size
                    size = batch_size(sent, admissions)
                    batch = ([], [], [], [])
            if refused:
                raise _Refused
            copier.add(batch)
    except _Refused:
        for member in prepared:
            member.pk = None
            member._state.adding = True
        return False
    return True
