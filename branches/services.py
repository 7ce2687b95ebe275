"""Every write to organisations, members, prospects and role assignments.

Each function takes the acting user, validates the whole change (raising ``ValidationError``
with a message per field, or ``PermissionDenied``), then writes it with its history inside one
transaction. Views, the API, the admin, the importers and the commands all call these.
"""

import dataclasses
from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from treebeard.exceptions import PathOverflow

from branches import events
from branches.approvals import ADMISSION_REPORT_FIELDS, Locks, check_all_open, check_open
from branches.choices import (
    ALLOWED_PARENT_KINDS,
    GRASSROOTS_KINDS,
    LEAVING_REASONS,
    MEMBER_PROFILE_FIELDS,
    OPEN_PROSPECT_STAGES,
    TEMPORARY_TRANSFER_KINDS,
    MemberStatus,
    OrganizationChange,
    OrganizationKind,
    PeriodEndReason,
    Position,
    ProspectStage,
    RoleKey,
    TransferKind,
    TransferStatus,
)
from branches.models import (
    BADGE_YEARS,
    BadgeAward,
    Member,
    MembershipPeriod,
    Organization,
    OrganizationVersion,
    Prospect,
    RoleAssignment,
    Transfer,
    enterprise_model,
)
from core.dates import add_months, add_years, age_on, fixed_today, same_day, today  # noqa: F401 (the services' clock)
from core.events import changed_fields, publish, values_of
from core.models import SINGLE_LINE_FORBIDDEN, TREE_STEPLEN, record_history, update_in_bulk
from core.scoping import forget_scope, scope_for
from core.services import (
    Errors,
    check_version,
    deliberate_row_writes,
    errors_by_field,
    full_clean_into,
    lock_for_update,
    save_with_history,
    without_traceback,
)
from core.text import display_date
from core.validators import validate_citizen_id, validate_organization_code
from core.workdays import add_working_days
from security.access import note_scope_probe

#: Điều lệ Đảng, Điều 4; Hướng dẫn 06-HD/TW (2025), point on the admission age: from 18 to 60 years
#: old on the date the branch meets to review the dossier; older only with the provincial committee's
#: approval.
MINIMUM_ADMISSION_AGE = 18
MAXIMUM_ADMISSION_AGE = 60
#: Quy định 294-QĐ/TW (2025): the admission ceremony within 30 working days of the decision.
CEREMONY_WITHIN_WORKING_DAYS = 30
#: Điều lệ Đảng, Điều 5: twelve months of probation from the day of the ceremony.
PROBATION_MONTHS = 12
#: Hướng dẫn 06-HD/TW: the awareness-course certificate of a prospect stays valid five years.
COURSE_CERTIFICATE_YEARS = 5

#: What an admission sets: ``admit_member``'s keyword arguments less prospect and reason
#: (the admission form, the admin and the importer ask for exactly these).
MEMBER_ADMISSION_FIELDS = (
    "organization",
    "admitted_on",
    "full_name",
    "sex",
    "date_of_birth",
    "citizen_id",
    "party_card_number",
    "enterprise",
    "position",
    "is_business_owner",
    "dossier_reviewed_on",
    "over_age_approved",
    "over_age_approval_reference",
    "admission_decision_number",
    "admission_decided_by",
    "ceremony_on",
    "official_on",
    *MEMBER_PROFILE_FIELDS,
)

MEMBER_EDITABLE_FIELDS = (
    "full_name",
    "sex",
    "date_of_birth",
    "citizen_id",
    "party_card_number",
    "enterprise",
    "position",
    "is_business_owner",
    # The admission decision's number and issuer (records kept before they were asked for); its
    # date, the ceremony and the recognition change the figures or the deadlines: their own services.
    "admission_decision_number",
    "admission_decided_by",
    *MEMBER_PROFILE_FIELDS,
)


def probation_ends_on(*, admitted_on, ceremony_on=None):
    """The 12-month mark: the day a probationary member is recognised as official.

    Điều lệ Đảng, Điều 5 and Hướng dẫn 06-HD/TW: probation lasts twelve months from the admission
    ceremony; the recognition is dated at the mark even when the branch's meeting or the superior
    committee's decision comes later. Records without a ceremony date (kept before it was recorded)
    count from the decision.
    """
    if admitted_on is None:
        return None
    return add_months(ceremony_on or admitted_on, PROBATION_MONTHS)


def ceremony_due_on(admitted_on):
    """The last day for the admission ceremony: 30 working days after the decision (Quy định 294-QĐ/TW)."""
    return add_working_days(admitted_on, CEREMONY_WITHIN_WORKING_DAYS)


def require_editable(acting_user, organization):
    if not Organization.objects.editable_by(acting_user).filter(pk=organization.pk).exists():
        raise PermissionDenied(
            _("You may not change the records of %(organization)s.") % {"organization": organization}
        )


def _require_tree_manager(acting_user):
    if not scope_for(acting_user).administers:
        raise PermissionDenied(_("Only administrators change the organisation tree."))


def _check_parent(errors, kind, parent, on=None):
    allowed = ALLOWED_PARENT_KINDS.get(kind, set())
    parent_kind = parent.kind if parent is not None else None
    if parent_kind not in allowed:
        if parent is None:
            errors.add(
                "parent", _("A %(kind)s must sit under a Party organisation.") % {"kind": OrganizationKind(kind).label}
            )
        else:
            errors.add(
                "parent",
                _("A %(kind)s cannot sit under a %(parent_kind)s.")
                % {"kind": OrganizationKind(kind).label, "parent_kind": OrganizationKind(parent.kind).label},
            )
    if parent is not None and parent.dissolved_on is not None and (on is None or parent.dissolved_on <= on):
        errors.add(
            "parent",
            _("%(parent)s was dissolved on %(date)s.") % {"parent": parent, "date": display_date(parent.dissolved_on)},
        )


def check_same_province(errors, locality, enterprise):
    """An organisation sits in an enterprise of its own province. Its locality decides: only an
    organisation whose locality lies outside every province (a committee of national scope) may
    sit in an enterprise of any province."""
    if locality is None or enterprise is None or enterprise.locality_id is None:
        return
    province = locality.path[:TREE_STEPLEN]
    roots = {
        root.path: root
        for root in type(locality).objects.filter(path__in={province, enterprise.locality.path[:TREE_STEPLEN]})
    }
    own = roots.get(province)
    if own is None or own.kind != "province":
        return
    if enterprise.locality.path[:TREE_STEPLEN] != province:
        errors.add(
            "enterprise",
            _("%(enterprise)s is in %(other)s, not in %(province)s where this organisation is.")
            % {
                "enterprise": enterprise,
                "other": roots.get(enterprise.locality.path[:TREE_STEPLEN], enterprise.locality),
                "province": own,
            },
        )


@transaction.atomic
def establish_organization(
    acting_user,
    *,
    code,
    name,
    kind,
    locality,
    established_on,
    parent=None,
    enterprise=None,
    coordination_regulation_signed=False,
    decision_number="",
    decision_date=None,
):
    """Add a Party organisation to the tree (a root committee when ``parent`` is None), with its
    first dated state. A code is given once: it never changes and is never reused."""
    _require_tree_manager(acting_user)
    errors = Errors()
    code = (code or "").strip()
    if kind not in OrganizationKind.values:
        errors.add("kind", _("Choose a valid kind of organisation."))
    else:
        _check_parent(errors, kind, parent, established_on)
    if code:
        try:
            validate_organization_code(code)
        except ValidationError as error:
            errors.add("code", error.messages[0])
    if code and Organization.objects.filter(code=code).exists():
        errors.add(
            "code",
            _("An organisation with the code %(code)s already exists (codes are never reused).") % {"code": code},
        )
    check_change_decision(errors, (decision_number or "").strip(), decision_date, established_on)
    if kind == OrganizationKind.COMMITTEE and enterprise is not None:
        errors.add("enterprise", _("A committee above grassroots level does not sit in an enterprise."))
    check_same_province(errors, locality, enterprise)
    if established_on is not None:
        if established_on > today():
            errors.add("established_on", _("The date of establishment cannot be in the future."))
        check_open(errors, parent, established_on, "established_on")
        if parent is not None and established_on < parent.established_on:
            errors.add(
                "established_on",
                _("%(parent)s was only established on %(date)s.")
                % {"parent": parent, "date": display_date(parent.established_on)},
            )
    organization = Organization(
        code=code,
        name=(name or "").strip(),
        kind=kind,
        locality=locality,
        enterprise=enterprise,
        established_on=established_on,
        coordination_regulation_signed=coordination_regulation_signed,
    )
    full_clean_into(
        organization,
        errors,
        exclude=["path", "depth", "numchild", "code"] if "code" in errors else ["path", "depth", "numchild"],
    )
    errors.raise_if_any()
    organization._history_user = acting_user
    if parent is None:
        organization = Organization.objects.add_root(instance=organization)
    else:
        organization = Organization.objects.add_child(Organization.objects.get(pk=parent.pk), instance=organization)
    version = OrganizationVersion(
        organization=organization,
        parent=parent,
        name=organization.name,
        valid_from=established_on,
        change=OrganizationChange.ESTABLISHED,
        decision_number=(decision_number or "").strip(),
        decision_date=decision_date,
    )
    save_with_history(version, acting_user)
    publish(events.OrganizationsEstablished.of([organization]))
    return organization


# Dated states of organisations ----------------------------------------------------------------


def current_version(organization, *, lock=False):
    """The organisation's latest dated state; organisations written in bulk (demo data, imports)
    get theirs here, from today's row, the first time a service changes them."""
    version = _current_versions([organization], lock=lock)[organization.pk]
    if version.pk is None:
        version.save()
    return version


def check_change_decision(errors, decision_number, decision_date, on):
    """The decision behind a dated change of the tree (organisations or localities): one line,
    at most 60 characters, dated by the day it takes effect and not in the future."""
    if decision_number and SINGLE_LINE_FORBIDDEN.search(decision_number):
        errors.add("decision_number", _("Remove the control characters from this text."))
    elif decision_number and len(decision_number) > 60:
        errors.add("decision_number", _("Keep the decision number within 60 characters."))
    if decision_date is not None:
        if decision_date > today():
            errors.add("decision_date", _("The date of the decision cannot be in the future."))
        elif on is not None and decision_date > on:
            errors.add("decision_date", _("The decision comes before the date it takes effect."))


def _check_effective_date(errors, organization, on, *, field="on", locks=None, versions=None):
    """``on`` may be changed from: not in the future, not before the organisation's latest state.
    For many organisations, their approvals (``locks``: ``approvals.Locks``) and latest states
    (``versions``: see :func:`_current_versions`) read beforehand."""
    if on is None:
        errors.add(field, _("Give the date the change takes effect."))
        return None
    if on > today():
        errors.add(field, _("The date the change takes effect cannot be in the future."))
    # A restructuring dated in an approved period:
    (locks.check if locks is not None else check_open)(errors, organization, on, field)
    if organization.dissolved_on is not None:
        errors.add(
            field,
            _("%(org)s ended on %(date)s.") % {"org": organization, "date": display_date(organization.dissolved_on)},
        )
        return None
    version = versions[organization.pk] if versions is not None else current_version(organization, lock=True)
    if on < version.valid_from:
        errors.add(
            field,
            _("%(org)s already changed on %(date)s; a change takes effect on that day or later.")
            % {"org": organization, "date": display_date(version.valid_from)},
        )
    return version


def _next_version(version, acting_user, *, on, change, decision_number, decision_date, **facts):
    """Close ``version`` the day before ``on`` and open the next state; on the same day, amend it."""
    if version.valid_from == on:
        for field, value in facts.items():
            setattr(version, field, value)
        version.change = change
        version.decision_number = decision_number
        version.decision_date = decision_date
        return save_with_history(version, acting_user)
    version.valid_to = on
    version.end_change = change
    save_with_history(version, acting_user)
    successor = OrganizationVersion(
        organization_id=version.organization_id,
        parent_id=facts["parent"].pk if "parent" in facts else version.parent_id,
        name=facts.get("name", version.name),
        valid_from=on,
        change=change,
        decision_number=decision_number,
        decision_date=decision_date,
    )
    return save_with_history(successor, acting_user)


def _end_version(version, acting_user, *, on, change, decision_number, decision_date, successor=None):
    if on <= version.valid_from:  # changed and ended the same day: the state before it ends instead
        previous = (
            OrganizationVersion.objects.filter(organization_id=version.organization_id, valid_to=version.valid_from)
            .order_by("-valid_from")
            .first()
        )
        version._history_user = acting_user
        version.delete()
        if previous is None:
            return None
        version = previous
    version.valid_to = on
    version.end_change = change
    version.end_decision_number = decision_number
    version.end_decision_date = decision_date
    version.successor = successor
    return save_with_history(version, acting_user)


ORGANIZATION_EDITABLE_FIELDS = ("name", "locality", "enterprise", "coordination_regulation_signed", "established_on")


@transaction.atomic
def update_organization(acting_user, organization, *, expected_version=None, **changes):
    """Rename an organisation or correct its facts (not its place in the tree: see move_organization)."""
    _require_tree_manager(acting_user)
    organization = lock_for_update(organization)
    check_version(organization, expected_version)
    before, founding = values_of(organization), events.Establishment.of(organization)
    errors = Errors()
    for field, value in changes.items():
        if field not in ORGANIZATION_EDITABLE_FIELDS:
            errors.add(field, _("This field cannot be changed here."))
            continue
        setattr(organization, field, value)
    if organization.established_on != before["established_on"]:
        # Correcting the date of establishment moves it out of one period's figures into another's.
        check_all_open(
            errors, [(organization, before["established_on"]), (organization, organization.established_on)],
            "established_on",
        )  # fmt: skip
    if organization.kind == OrganizationKind.COMMITTEE and organization.enterprise_id:
        errors.add("enterprise", _("A committee above grassroots level does not sit in an enterprise."))
    if "locality" in changes or "enterprise" in changes:
        check_same_province(errors, organization.locality, organization.enterprise)
    if organization.dissolved_on and organization.established_on > organization.dissolved_on:
        errors.add("established_on", _("The organisation cannot be established after it was dissolved."))
    full_clean_into(organization, errors, exclude=["path", "depth", "numchild"])
    errors.raise_if_any()
    _correct_versions(organization, acting_user, changes)
    save_with_history(organization, acting_user)
    publish(
        events.OrganizationChanged(
            organization.pk,
            changed_fields(organization, before),
            founding,
            events.Establishment.of(organization),
            enterprise_ids=tuple(pk for pk in [before["enterprise_id"]] if pk is not None),
        )
    )
    return organization


def _correct_versions(organization, acting_user, changes):
    """A correction (not a dated change) amends the dated states: the name of the current one,
    the start of the first one."""
    if "name" in changes:
        version = current_version(organization, lock=True)
        if version.name != organization.name:
            version.name = organization.name
            save_with_history(version, acting_user)
    if "established_on" in changes:
        first = OrganizationVersion.objects.filter(organization=organization).order_by("valid_from").first()
        if first is not None and first.valid_from != organization.established_on:
            if first.valid_to is not None and organization.established_on >= first.valid_to:
                raise ValidationError(
                    {
                        "established_on": _("The organisation changed on %(date)s; establish it before that.")
                        % {"date": display_date(first.valid_to)}
                    }
                )
            first.valid_from = organization.established_on
            save_with_history(first, acting_user)


@dataclass(frozen=True)
class Move:
    """One move of :func:`move_organizations`: ``organization`` with its subtree under
    ``new_parent`` from ``on`` (default today), by a decision."""

    organization: Organization
    new_parent: Organization
    on: date | None = None
    decision_number: str = ""
    decision_date: date | None = None
    expected_version: int | None = None


class MovesRefused(ValidationError):
    """Moves refused by :func:`move_organizations`: ``refusals`` maps each one's index to its
    ``ValidationError`` (as :func:`move_organization` raises it); the error holds all their
    messages by field."""

    def __init__(self, refusals):
        self.refusals = dict(refusals)
        messages = {}
        for error in self.refusals.values():
            for name, field_messages in errors_by_field(error):
                messages.setdefault(name or NON_FIELD_ERRORS, []).extend(field_messages)
        super().__init__(messages)


def move_organization(
    acting_user, organization, new_parent, *, on=None, decision_number="", decision_date=None, expected_version=None
):
    """Move an organisation under another parent from ``on`` (default today).

    Today's tree moves with its subtree (and so its history, rule 2); the dated states keep the
    old parent until the day before ``on``. One move of :func:`move_organizations`.
    """
    move = Move(organization, new_parent, on, decision_number, decision_date, expected_version)
    try:
        move_organizations(acting_user, [move])
    except MovesRefused as refused:
        raise refused.refusals[0] from None
    return Organization.objects.get(pk=organization.pk)


def move_organizations(acting_user, moves, *, skip_refused=False):
    """Move organisations (``moves``: :class:`Move`), each with its subtree, as if one by one in
    the order given, in one transaction; each is checked as :func:`move_organization` checks it.

    The moves that touch no other's subtree, ancestors or new parent (all of them, as a rule: see
    :func:`independent_moves`) are checked together and written together in a few statements (see
    :func:`_write_moves`); a move that depends on an earlier one waits for the next round. A
    refused move writes nothing: ``MovesRefused`` names every refused move by its index, and
    nothing is kept. With ``skip_refused`` the others are kept and the refusals returned
    (``{index: ValidationError}``): a restructuring plan reports every row's errors against the
    tree its earlier rows left, and keeps nothing itself when any row fails.
    """
    _require_tree_manager(acting_user)
    moves = list(moves)
    refusals = {}
    with transaction.atomic():
        start, window = 0, len(moves)
        while start < len(moves):
            end, refused = _move_round(acting_user, moves[start : start + window], start)
            refusals.update(refused)
            # A round cut short reads fewer moves next time: a chain of moves, each depending on
            # the one before, does not read the whole rest of the plan again for every move.
            window = len(moves) if end - start == window else max(16, 2 * (end - start))
            start = end
        if refusals and not skip_refused:
            raise MovesRefused(refusals)
    return refusals


def _prefixes(path):
    return [path[:end] for end in range(TREE_STEPLEN, len(path) + 1, TREE_STEPLEN)]


def independent_moves(pairs):
    """How many of ``pairs`` ``[(organisation, new parent)]``, from the first, can be checked and
    written together with the outcome of one by one, their paths as the instances hold them (read
    them afresh): no organisation lies inside, above or at an earlier one's subtree or new parent,
    and no new parent inside an earlier one's subtree. A pair without a new parent moves nothing,
    but what its subtree holds is read before the others move (a plan's preview): it may not lie
    above an earlier move or new parent. A pair without an organisation counts for nothing."""
    moved, above_moved, above_parents = set(), set(), set()
    for count, (organization, new_parent) in enumerate(pairs):
        if organization is None:
            continue
        path = organization.path
        if path in above_moved or path in above_parents:
            return count
        if new_parent is None:
            continue
        if moved.intersection(_prefixes(path)) or moved.intersection(_prefixes(new_parent.path)):
            return count
        moved.add(path)
        above_moved.update(_prefixes(path))
        above_parents.update(_prefixes(new_parent.path))
    return len(pairs)


def _move_round(acting_user, moves, start):
    """Check and write together the first of ``moves`` (numbered from ``start``) that
    :func:`independent_moves` admits, at least one: the organisations re-read under lock, their
    parents, latest states and approvals read once. Returns the number after the last one taken
    and the refusals among them."""
    organizations = {
        organization.pk: organization
        for organization in Organization.objects.select_for_update()
        .filter(pk__in={move.organization.pk for move in moves})
        .order_by("pk")
    }
    parents = Organization.objects.in_bulk({move.new_parent.pk for move in moves})
    pairs = [(organizations.get(move.organization.pk), parents.get(move.new_parent.pk)) for move in moves]
    if not all(organization and parent for organization, parent in pairs):
        raise Organization.DoesNotExist("An organisation to move, or its new parent, no longer exists.")
    pairs = pairs[: max(1, independent_moves(pairs))]
    versions = _current_versions([organization for organization, _parent in pairs if organization.dissolved_on is None])
    locks = Locks([node for pair in pairs for node in pair])
    refusals, created, writes = {}, [], []
    for index, (move, (organization, new_parent)) in enumerate(zip(moves, pairs, strict=False), start):
        on = today() if move.on is None else move.on
        decision_number = (move.decision_number or "").strip()
        errors = Errors()
        try:
            check_version(organization, move.expected_version)
        except ValidationError as exc:
            refusals[index] = exc
            continue
        version = _check_move(
            errors, organization, new_parent, on, decision_number, move.decision_date, locks=locks, versions=versions
        )
        if errors:
            refusals[index] = ValidationError(dict(errors))
            continue
        if version.pk is None:
            created.append(version)
        if organization.path[:-TREE_STEPLEN] != new_parent.path:
            reason = _("moved under %(parent)s") % {"parent": new_parent.code}
            writes.append(
                _Moving(organization, new_parent, version, on, OrganizationChange.MOVED, decision_number,
                        move.decision_date, reason)
            )  # fmt: skip
    _create_with_history(created, None)  # as current_version: its history names no one
    _write_moves(acting_user, writes)
    return start + len(pairs), refusals


def _check_move(errors, organization, new_parent, on, decision_number, decision_date, *, locks, versions):
    """The checks of a move (``locks``: the approvals of the organisations and parents involved,
    ``versions``: the latest states, read beforehand); returns the state the move ends."""
    if new_parent.path.startswith(organization.path):
        errors.add("parent", _("An organisation cannot move under itself or its own subtree."))
    else:
        _check_parent(errors, organization.kind, new_parent, on)
        if new_parent.established_on > on:
            errors.add(
                "parent",
                _("%(parent)s was only established on %(date)s.")
                % {"parent": new_parent, "date": display_date(new_parent.established_on)},
            )
    version = None
    if organization.dissolved_on is not None:
        errors.add("parent", _("A dissolved organisation stays where it was dissolved."))
    else:
        version = _check_effective_date(errors, organization, on, locks=locks, versions=versions)
        if "on" not in errors:
            locks.check(errors, new_parent, on, "on")  # the subtree it joins gains its figures from ``on``
    check_change_decision(errors, decision_number, decision_date, on)
    return version


def _current_versions(organizations, *, lock=True):
    """:func:`current_version` of each of ``organizations`` ``{id: state}``, in one query (two when
    some have none): one that has none gets an unsaved one, for the caller to save if it keeps it."""
    latest = {}
    versions = OrganizationVersion.objects.filter(organization__in=[o.pk for o in organizations])
    for version in (versions.select_for_update() if lock else versions).order_by("organization_id", "valid_from"):
        latest[version.organization_id] = version
    missing = [organization for organization in organizations if organization.pk not in latest]
    above = {organization.path[:-TREE_STEPLEN] for organization in missing} - {""}
    parents = Organization.objects.in_bulk(above, field_name="path") if above else {}
    for organization in missing:
        latest[organization.pk] = OrganizationVersion(
            organization=organization,
            parent=parents.get(organization.path[:-TREE_STEPLEN]),
            name=organization.name,
            valid_from=organization.established_on,
            valid_to=organization.dissolved_on,
            change=OrganizationChange.ESTABLISHED,
            end_change=OrganizationChange.DISSOLVED if organization.dissolved_on else "",
        )
    return latest


@dataclass
class _Moving:
    """A checked move, for :func:`_write_moves`."""

    organization: Organization  # read afresh under lock
    new_parent: Organization  # read afresh
    version: OrganizationVersion  # its latest state, saved
    on: date
    change: str
    decision_number: str
    decision_date: date | None
    reason: str  # of its history row


def _move_now(acting_user, organization, new_parent, on, change, decision_number, decision_date, *, reason):
    """Move ``organization`` (read afresh under lock) at once (see :func:`_write_moves`)."""
    version = current_version(organization, lock=True)
    new_parent = Organization.objects.get(pk=new_parent.pk)
    _write_moves(
        acting_user,
        [_Moving(organization, new_parent, version, on, change, decision_number, decision_date, reason)],
    )


def _write_moves(acting_user, movings):
    """Write checked moves that :func:`independent_moves` admits together, each organisation
    going after the last child of its new parent (as treebeard's "last-child" move), in the order
    given: the paths of their subtrees, their parents' numbers of children, the organisations with
    their history (their version raised), their dated states with their history (the current one
    ends the day before ``on``, or, begun that day, is amended), and one ``OrganizationsMoved``.
    About twenty statements however many moves."""
    if not movings:
        return
    steplen = Organization.steplen
    last = {}  # new parent's path → step of its last child
    for path in (
        Organization.objects.children_of_paths({m.new_parent.path for m in movings})
        .order_by()
        .values_list("path", flat=True)
    ):
        last[path[:-steplen]] = max(last.get(path[:-steplen], 0), Organization._str2int(path[-steplen:]))
    new_paths = {}  # old path of a moved organisation → its new path
    for moving in movings:
        parent_path = moving.new_parent.path
        last[parent_path] = step = last.get(parent_path, 0) + 1
        new_path = Organization._get_path(parent_path, len(parent_path) // steplen + 1, step)
        if len(new_path) != len(parent_path) + steplen:
            raise PathOverflow(f"No room for another child under {parent_path}")  # as treebeard says it
        new_paths[moving.organization.path] = new_path

    moved = {moving.organization.pk for moving in movings}
    below = []
    for pk, path in Organization.objects.subtrees(new_paths).order_by().values_list("pk", "path"):
        if pk not in moved:
            old = next(prefix for prefix in _prefixes(path) if prefix in new_paths)
            path = new_paths[old] + path[len(old) :]
            below.append(Organization(pk=pk, path=path, depth=len(path) // steplen))
    update_in_bulk(below, ["path", "depth"])

    children = Counter()
    for moving in movings:
        children[moving.organization.path[:-steplen]] -= 1
        children[moving.new_parent.path] += 1
    by_change = {}
    for path, change in children.items():
        if path and change:
            by_change.setdefault(change, []).append(path)
    if by_change:
        Organization.objects.filter(path__in=[path for paths in by_change.values() for path in paths]).update(
            numchild=F("numchild")
            + Case(
                *(When(path__in=paths, then=Value(change)) for change, paths in by_change.items()),
                default=Value(0),
                output_field=models.IntegerField(),
            )
        )

    now = timezone.now()
    reasons = {}
    changes = []
    for moving in movings:
        organization = moving.organization
        changes.append(events.PathChange(organization.pk, organization.path, new_paths[organization.path]))
        organization.path = new_paths[organization.path]
        organization.depth = len(organization.path) // steplen
        organization.version += 1
        organization.updated = now
        reasons[organization.pk] = moving.reason
    fields = ["path", "depth", "version", "updated"]
    _update_with_history([moving.organization for moving in movings], fields, acting_user, reasons)
    publish(events.OrganizationsMoved(tuple(changes)))

    successors = []
    for moving in movings:
        version = moving.version
        if version.valid_from == moving.on:  # changed already that day: one state
            version.parent = moving.new_parent
            version.change = moving.change
            version.decision_number, version.decision_date = moving.decision_number, moving.decision_date
            continue
        version.valid_to, version.end_change = moving.on, moving.change
        successors.append(
            OrganizationVersion(
                organization_id=version.organization_id,
                parent=moving.new_parent,
                name=version.name,
                valid_from=moving.on,
                change=moving.change,
                decision_number=moving.decision_number,
                decision_date=moving.decision_date,
            )
        )
    fields = ["parent", "change", "decision_number", "decision_date", "valid_to", "end_change"]
    _update_with_history([moving.version for moving in movings], fields, acting_user)
    _create_with_history(successors, acting_user)


# A plan's thousands of rows: simple_history.utils.bulk_create_with_history and
# bulk_update_with_history build a model instance per history row and Django's bulk_update a CASE
# branch per row, seconds of Python; the same rows written set-based (core.models).


def _history_user(model, user):
    """Whom the history of a write names: the acting user, else whoever the request is for (as
    django-simple-history answers when a service saves without an authenticated user)."""
    if getattr(user, "is_authenticated", False):
        return user
    return model.history.model.get_default_history_user(model())


def _create_with_history(objs, user):
    if objs:
        model = type(objs[0])
        model.objects.bulk_create(objs)
        record_history(model, [obj.pk for obj in objs], history_type="+", user=_history_user(model, user))


def _update_with_history(objs, fields, user, reasons=None):
    if objs:
        model = type(objs[0])
        update_in_bulk(objs, fields)
        pks = [obj.pk for obj in objs]
        record_history(model, pks, history_type="~", user=_history_user(model, user), reasons=reasons)


@transaction.atomic
def rename_organization(
    acting_user, organization, *, name, on=None, decision_number="", decision_date=None, expected_version=None
):
    """Rename an organisation from ``on`` (default today); its earlier name stays on the dates before."""
    _require_tree_manager(acting_user)
    organization = lock_for_update(organization)
    check_version(organization, expected_version)
    on = today() if on is None else on
    name = (name or "").strip()
    decision_number = (decision_number or "").strip()
    errors = Errors()
    if not name:
        errors.add("name", _("Give the new name."))
    elif SINGLE_LINE_FORBIDDEN.search(name):
        errors.add("name", _("Remove the control characters from this text."))
    elif len(name) > Organization._meta.get_field("name").max_length:
        errors.add("name", _("The name is too long."))
    elif name == organization.name:
        errors.add("name", _("This is already the organisation's name."))
    version = _check_effective_date(errors, organization, on)
    check_change_decision(errors, decision_number, decision_date, on)
    errors.raise_if_any()
    _next_version(
        version,
        acting_user,
        on=on,
        change=OrganizationChange.RENAMED,
        decision_number=decision_number,
        decision_date=decision_date,
        name=name,
    )
    organization.name = name
    save_with_history(organization, acting_user, reason=_("renamed"))
    establishment = events.Establishment.of(organization)
    publish(events.OrganizationChanged(organization.pk, frozenset({"name"}), establishment, establishment))
    return organization


def merge_organizations(acting_user, sources, into, *, on, decision_number="", decision_date=None):
    """Merge ``sources`` (A, B, …) into ``into`` (C, existing: establish it first when new) on ``on``.

    A's and B's organisations move under C; their members' periods close with the reason
    "merged" and reopen at C the same day (no report counts that as a transfer); their role
    assignments go to C; A and B end on ``on``, "merged into C".
    """
    with transaction.atomic(), deliberate_row_writes():
        return _merge_organizations(
            acting_user, sources, into, on=on, decision_number=decision_number, decision_date=decision_date
        )


def _merge_organizations(acting_user, sources, into, *, on, decision_number, decision_date):
    _require_tree_manager(acting_user)
    into = lock_for_update(into)
    sources = [lock_for_update(source) for source in {source.pk: source for source in sources}.values()]
    decision_number = (decision_number or "").strip()
    errors = Errors()
    if not sources:
        errors.add("sources", _("Choose the organisations to merge."))
    if on is None:
        errors.add("on", _("Give the date the change takes effect."))
        errors.raise_if_any()
    if not into.is_active_on(on):
        errors.add("into", _("%(org)s is not active on %(date)s.") % {"org": into, "date": on})
    check_open(errors, into, on, "into")
    versions = {}
    members = []
    children = []
    for source in sources:
        if source.pk == into.pk:
            errors.add("into", _("An organisation cannot be merged into itself."))
            continue
        if into.path.startswith(source.path):
            errors.add("into", _("%(org)s lies inside %(source)s.") % {"org": into, "source": source})
            continue
        versions[source.pk] = _check_effective_date(errors, source, on, field="sources")
        for child in Organization.objects.children_of(source).active_on(on):
            _check_parent(errors, child.kind, into, on)
            children.append(child)
        source_members = list(
            Member.objects.select_for_update().filter(organization=source, status=MemberStatus.ACTIVE)
        )
        if source_members and into.kind not in GRASSROOTS_KINDS:
            errors.add(
                "into",
                _("Members belong to grassroots organisations or subordinate branches, not to %(org)s.")
                % {"org": into},
            )
        members.extend(source_members)
    open_periods = {p.member_id: p for p in MembershipPeriod.objects.filter(member__in=members, ended_on__isnull=True)}
    for member in members:
        period = open_periods.get(member.pk)
        if period and period.started_on > on:
            errors.add(
                "on",
                _("%(member)s joined this organisation on %(date)s, after that date.")
                % {"member": member, "date": display_date(period.started_on)},
            )
    check_change_decision(errors, decision_number, decision_date, on)
    errors.raise_if_any()
    for child in children:
        reason = _("moved under %(parent)s") % {"parent": into.code}
        _move_now(
            acting_user, lock_for_update(child), into, on, OrganizationChange.MOVED, decision_number, decision_date,
            reason=reason,
        )  # fmt: skip
    closed, opened = [], []
    for member in members:
        closed += _close_period(open_periods.get(member.pk), on, PeriodEndReason.MERGED, acting_user)
        opened += _open_period(member, into, on, acting_user)
        member.organization = into
        save_with_history(member, acting_user, reason=_("merged into %(org)s") % {"org": into.code})
    if members:
        publish(events.MembershipPeriodsClosed(tuple(closed)))
        publish(events.MembershipPeriodsOpened(tuple(opened)))
        publish(events.MembersChanged(tuple(member.pk for member in members), frozenset({"organization_id"})))
    for source in sources:
        _move_roles(acting_user, source, into)
        _end_version(
            versions[source.pk],
            acting_user,
            on=on,
            change=OrganizationChange.MERGED,
            decision_number=decision_number,
            decision_date=decision_date,
            successor=into,
        )
        source.refresh_from_db()
        source.dissolved_on = on
        save_with_history(source, acting_user, reason=_("merged into %(org)s") % {"org": into.code})
        publish(events.OrganizationDissolved(source.pk, on))
    publish(
        events.OrganizationsMerged(
            tuple(source.pk for source in sources), into.pk, on, getattr(acting_user, "pk", None)
        )
    )
    into.refresh_from_db()
    return into


def _move_roles(acting_user, source, successor):
    """Role assignments on an organisation that ends go to its successor."""
    for assignment in RoleAssignment.objects.select_for_update().filter(organization=source):
        if RoleAssignment.objects.filter(user=assignment.user, role=assignment.role, organization=successor).exists():
            assignment._history_user = acting_user
            assignment.delete()
        else:
            assignment.organization = successor
            save_with_history(assignment, acting_user, reason=_("merged into %(org)s") % {"org": successor.code})
        forget_scope(assignment.user)


@dataclass
class SplitPlan:
    """What a split moves: ``rows`` of ``(kind, object, destination)`` ("organisation" or
    "member"), the successors' ``shares`` of the targets (percentages), and the ``errors``."""

    source: Organization
    on: date
    rows: list = dataclasses.field(default_factory=list)
    shares: dict = dataclasses.field(default_factory=dict)
    errors: Errors = dataclasses.field(default_factory=Errors)


def plan_split(source, *, on, children=None, members=None, shares=None):
    """Check a split of ``source`` on ``on`` without writing: every organisation directly below it
    and every active member gets a destination (``children``: {organisation: destination},
    ``members``: {member: destination}); nothing may be left over or named twice; the
    successors' ``shares`` of the targets ({destination: percent}) add up to 100."""
    children, members = dict(children or {}), dict(members or {})
    plan = SplitPlan(source=source, on=on)
    errors = plan.errors
    if on is None:
        errors.add("on", _("Give the date the change takes effect."))
        return plan
    _check_effective_date(errors, source, on, field="on")
    active_children = list(Organization.objects.children_of(source).active_on(on))
    active_members = list(Member.objects.filter(organization=source, status=MemberStatus.ACTIVE))
    for name, given, expected in (("children", children, active_children), ("members", members, active_members)):
        expected_ids = {obj.pk for obj in expected}
        for obj in expected:
            if obj.pk not in {o.pk for o in given}:
                errors.add(name, _("%(item)s has no destination.") % {"item": obj})
        for obj in given:
            if obj.pk not in expected_ids:
                errors.add(name, _("%(item)s is not part of %(org)s on that date.") % {"item": obj, "org": source})
    destinations = {}
    for child, destination in children.items():
        if destination.path.startswith(source.path):
            errors.add("children", _("%(org)s lies inside %(source)s.") % {"org": destination, "source": source})
            continue
        _check_parent(errors, child.kind, destination, on)
        destinations[destination.pk] = destination
        plan.rows.append(("organisation", child, destination))
    for member, destination in members.items():
        if destination.pk == source.pk:
            errors.add("members", _("%(member)s must leave %(org)s.") % {"member": member, "org": source})
            continue
        _check_destination(errors, destination, on, field="members")
        destinations[destination.pk] = destination
        plan.rows.append(("member", member, destination))
    for destination in destinations.values():
        if not destination.is_active_on(on):
            errors.add("on", _("%(org)s is not active on %(date)s.") % {"org": destination, "date": display_date(on)})
    shares = dict(shares or {})
    if shares:
        unknown = [d for d in shares if d.pk not in destinations]
        if unknown:
            errors.add("shares", _("%(org)s receives nothing from the split.") % {"org": unknown[0]})
        try:
            values = {d.pk: Decimal(str(v)) for d, v in shares.items()}
        except ArithmeticError:
            errors.add("shares", _("Give each share as a percentage."))
        else:
            if any(v < 0 for v in values.values()) or sum(values.values()) != 100:
                errors.add("shares", _("The shares of the targets must add up to 100%."))
            plan.shares = values
    return plan


def split_organization(
    acting_user, source, *, on, children=None, members=None, shares=None, decision_number="", decision_date=None
):
    """Split ``source`` on ``on``: its organisations and members go to the destinations given
    (see :func:`plan_split`); members' periods close with the reason "split" and reopen at their
    destination the same day (not a transfer); role assignments go to the successor with the largest
    share (or the first destination); ``source`` ends "split". With shares, publishes
    ``OrganizationSplit``, from which the reports carry the year's targets."""
    with transaction.atomic(), deliberate_row_writes():
        _require_tree_manager(acting_user)
        source = lock_for_update(source)
        decision_number = (decision_number or "").strip()
        plan = plan_split(source, on=on, children=children, members=members, shares=shares)
        check_change_decision(plan.errors, decision_number, decision_date, on)
        if not plan.rows and not plan.errors:
            plan.errors.add("children", _("A split needs at least one destination."))
        plan.errors.raise_if_any()
        for kind, obj, destination in plan.rows:
            if kind != "organisation":
                continue
            reason = _("split from %(org)s") % {"org": source.code}
            _move_now(
                acting_user, lock_for_update(obj), destination, on, OrganizationChange.SPLIT, decision_number,
                decision_date, reason=reason,
            )  # fmt: skip
        moved = [(obj, destination) for kind, obj, destination in plan.rows if kind == "member"]
        open_periods = {
            p.member_id: p
            for p in MembershipPeriod.objects.filter(member__in=[m for m, _d in moved], ended_on__isnull=True)
        }
        closed, opened = [], []
        for member, destination in moved:
            member = lock_for_update(member)
            closed += _close_period(
                open_periods.get(member.pk),
                on,
                PeriodEndReason.SPLIT,
                acting_user,
                decision_number=decision_number,
                decided_on=decision_date,
            )
            opened += _open_period(member, destination, on, acting_user)
            member.organization = destination
            save_with_history(member, acting_user, reason=_("split from %(org)s") % {"org": source.code})
        if moved:
            publish(events.MembershipPeriodsClosed(tuple(closed)))
            publish(events.MembershipPeriodsOpened(tuple(opened)))
            publish(events.MembersChanged(tuple(m.pk for m, _d in moved), frozenset({"organization_id"})))
        successors = {destination.pk: destination for _kind, _obj, destination in plan.rows}
        heir_pk = max(plan.shares, key=plan.shares.get) if plan.shares else next(iter(successors))
        _move_roles(acting_user, source, successors[heir_pk])
        _end_version(
            current_version(source, lock=True),
            acting_user,
            on=on,
            change=OrganizationChange.SPLIT,
            decision_number=decision_number,
            decision_date=decision_date,
        )
        source.refresh_from_db()
        source.dissolved_on = on
        source.dissolution_decision_number = decision_number
        save_with_history(source, acting_user, reason=_("split"))
        publish(events.OrganizationDissolved(source.pk, on))
        if plan.shares:  # the reports carry the year's targets in these shares (fractions of 1)
            shares = tuple((pk, Fraction(percent) / 100) for pk, percent in sorted(plan.shares.items()))
            publish(events.OrganizationSplit(source.pk, shares, on, getattr(acting_user, "pk", None)))
        return source


@transaction.atomic
def dissolve_organization(
    acting_user, organization, *, on, destination=None, decision_number="", decision_date=None, expected_version=None
):
    """Dissolve an organisation on ``on``; its members go to ``destination`` or to their places of residence."""
    _require_tree_manager(acting_user)
    organization = lock_for_update(organization)
    check_version(organization, expected_version)
    errors = Errors()
    decision_number = (decision_number or "").strip()
    if organization.dissolved_on is not None:
        errors.add(
            "dissolved_on",
            _("This organisation was already dissolved on %(date)s.")
            % {"date": display_date(organization.dissolved_on)},
        )
    if on < organization.established_on:
        errors.add("dissolved_on", _("An organisation cannot be dissolved before it was established."))
    if on > today():
        errors.add("dissolved_on", _("The date of dissolution cannot be in the future."))
    check_open(errors, organization, on, "dissolved_on")
    active_children = Organization.objects.children_of(organization).active_on(on)
    if active_children.exists():
        errors.add(
            "dissolved_on",
            _("Dissolve or move its organisations first: %(codes)s.")
            % {"codes": ", ".join(active_children.values_list("code", flat=True)[:10])},
        )
    if destination is not None:
        _check_destination(errors, destination, on, exclude=organization, field="destination")
        check_open(errors, destination, on, "destination")
    decision_number = (decision_number or "").strip()
    check_change_decision(errors, decision_number, decision_date, on)
    version = None
    if organization.dissolved_on is None and on is not None:
        version = current_version(organization, lock=True)
        if on < version.valid_from:
            errors.add(
                "dissolved_on",
                _("%(org)s already changed on %(date)s; a change takes effect on that day or later.")
                % {"org": organization, "date": display_date(version.valid_from)},
            )
    members = list(Member.objects.select_for_update().filter(organization=organization, status=MemberStatus.ACTIVE))
    open_periods = {p.member_id: p for p in MembershipPeriod.objects.filter(member__in=members, ended_on__isnull=True)}
    for member in members:
        period = open_periods.get(member.pk)
        if period and period.started_on > on:
            errors.add(
                "dissolved_on",
                _("%(member)s joined this organisation on %(date)s, after that date.")
                % {"member": member, "date": display_date(period.started_on)},
            )
    errors.raise_if_any()
    closed, opened = [], []
    for member in members:
        closed += _close_period(
            open_periods.get(member.pk),
            on,
            PeriodEndReason.DISSOLVED,
            acting_user,
            decision_number=decision_number,
            decided_on=decision_date or on,
        )
        if destination is not None:
            opened += _open_period(member, destination, on, acting_user)
            member.organization = destination
        else:
            member.status = MemberStatus.TRANSFERRED_TO_RESIDENCE
        save_with_history(member, acting_user)
    _end_version(
        version,
        acting_user,
        on=on,
        change=OrganizationChange.DISSOLVED,
        decision_number=decision_number,
        decision_date=decision_date,
    )
    organization.dissolved_on = on
    organization.dissolution_decision_number = decision_number
    save_with_history(organization, acting_user)
    if members:
        publish(events.MembershipPeriodsClosed(tuple(closed)))
        if opened:
            publish(events.MembershipPeriodsOpened(tuple(opened)))
        moved = {"organization_id"} if destination is not None else {"status"}
        publish(events.MembersChanged(tuple(member.pk for member in members), frozenset(moved)))
    publish(events.OrganizationDissolved(organization.pk, on))
    return organization


# Members ----------------------------------------------------------------------------------


def _check_destination(errors, organization, on, *, exclude=None, field="organization"):
    if organization.kind not in GRASSROOTS_KINDS:
        errors.add(
            field,
            _("Members belong to grassroots organisations or subordinate branches, not to %(org)s.")
            % {"org": organization},
        )
    elif not organization.is_active_on(on):
        errors.add(field, _("%(org)s is not active on %(date)s.") % {"org": organization, "date": display_date(on)})
    if exclude is not None and organization.pk == exclude.pk:
        errors.add(field, _("Choose another organisation."))


class MemberHolders:
    """Which member holds a citizen ID or a Party card number.

    By default each question is one query; the bulk importer passes the answers preloaded for a
    whole file (``{value: member id}``) so the same rules run with a constant number of queries.
    """

    def __init__(self, by_citizen_id=None, by_party_card=None, visible=None):
        self.by_citizen_id = by_citizen_id
        self.by_party_card = by_party_card
        self.visible = visible  # ids of the preloaded holders the acting user sees

    def _holder(self, preloaded, lookup, value, member):
        """The id of the other member holding ``value``, or None."""
        if preloaded is None:
            others = Member.objects.filter(**{lookup: value})
            if member is not None:
                others = others.exclude(pk=member.pk)
            return others.values_list("pk", flat=True).first()
        holder = preloaded.get(value)
        return holder if holder is not None and (member is None or holder != member.pk) else None

    def citizen_id_holder(self, citizen_id, member=None):
        return self._holder(self.by_citizen_id, "citizen_id", citizen_id, member)

    def party_card_holder(self, party_card_number, member=None):
        return self._holder(self.by_party_card, "party_card_number", party_card_number, member)

    def citizen_id_taken(self, citizen_id, member=None):
        return self.citizen_id_holder(citizen_id, member) is not None

    def party_card_taken(self, party_card_number, member=None):
        return self.party_card_holder(party_card_number, member) is not None

    def visible_to(self, holder_id, user):
        """Whether ``user`` sees the member ``holder_id`` (a system change sees everyone)."""
        if user is None:
            return True
        if self.visible is not None:
            return holder_id in self.visible
        return Member.objects.visible_to(user).filter(pk=holder_id).exists()


#: A citizen ID or Party card number held by a member the user cannot see: said without revealing
#: that the person is a Party member elsewhere (the department, who sees further, can find where).
OUT_OF_SCOPE_HOLDER = gettext_lazy(
    "This person cannot be recorded here. Ask the organisation department to check this number."
)


#: The messages of a number already recorded (translated only when a row has one: a bulk import
#: checks 100,000 rows).
CITIZEN_ID_TAKEN = gettext_lazy("A member with this citizen ID is already recorded.")
PARTY_CARD_TAKEN = gettext_lazy("A member with this Party card number is already recorded.")


def _check_holder(errors, field, holder_id, holders, acting_user, message):
    if holder_id is None:
        return
    if holders.visible_to(holder_id, acting_user):
        errors.add(field, str(message))
    else:
        errors.add(field, str(OUT_OF_SCOPE_HOLDER))
        note_scope_probe(acting_user, field)


def check_person(errors, *, citizen_id, party_card_number, date_of_birth, member=None, holders=None, acting_user=None):
    holders = holders or MemberHolders()
    try:
        validate_citizen_id(citizen_id)
    except ValidationError as exc:
        errors.add("citizen_id", without_traceback(exc).messages[0])
    else:
        _check_holder(
            errors,
            "citizen_id",
            holders.citizen_id_holder(citizen_id, member),
            holders,
            acting_user,
            CITIZEN_ID_TAKEN,
        )
    if party_card_number:
        if SINGLE_LINE_FORBIDDEN.search(party_card_number):  # not even looked up: PostgreSQL refuses NUL
            errors.add("party_card_number", _("Remove the control characters from this text."))
        else:
            _check_holder(
                errors,
                "party_card_number",
                holders.party_card_holder(party_card_number, member),
                holders,
                acting_user,
                PARTY_CARD_TAKEN,
            )
    if date_of_birth is not None and date_of_birth > today():
        errors.add("date_of_birth", _("The date of birth cannot be in the future."))


def check_enterprise(errors, acting_user, enterprise, visible_ids=None):
    """``visible_ids``: the ids of the enterprises the user sees, preloaded by a bulk caller."""
    if enterprise is None:
        return
    if visible_ids is not None:
        visible = enterprise.pk in visible_ids
    else:
        visible = enterprise_model().objects.visible_to(acting_user).filter(pk=enterprise.pk).exists()
    if not visible:
        errors.add("enterprise", _("Choose an enterprise of your organisation."))


def check_admission_age(
    errors,
    date_of_birth,
    reviewed_on,
    *,
    over_age_approved=False,
    over_age_approval_reference="",
    check_maximum=True,
):
    """18 to 60 years old on the date the branch reviewed the dossier (Điều lệ Đảng, Điều 4; Hướng dẫn
    06-HD/TW): over 60 only with the provincial committee's approval, recorded with its reference.

    ``reviewed_on`` is the review date, or the decision date for records that do not give it.
    """
    if not date_of_birth or not reviewed_on:
        return
    age = age_on(date_of_birth, reviewed_on)
    if age < MINIMUM_ADMISSION_AGE:
        errors.add(
            "date_of_birth",
            _("A member must be at least %(age)s years old on the date the branch reviews the dossier.")
            % {"age": MINIMUM_ADMISSION_AGE},
        )
    elif check_maximum and age > MAXIMUM_ADMISSION_AGE:
        if not over_age_approved:
            errors.add(
                "over_age_approved",
                _(
                    "The person is over %(age)s on the date the branch reviews the dossier (%(date)s): the "
                    "admission needs the provincial Party committee's approval."
                )
                % {"age": MAXIMUM_ADMISSION_AGE, "date": reviewed_on.strftime("%d/%m/%Y")},
            )
        elif not (over_age_approval_reference or "").strip():
            errors.add("over_age_approval_reference", _("Give the reference of the provincial committee's approval."))


def check_position(errors, position, is_business_owner):
    """The position and the business-owner flag agree: an owner is a business owner, and a business
    owner holds the position of owner or manager (an owner who runs the enterprise as its director
    is recorded as manager; a worker or technician cannot own it)."""
    if position == Position.OWNER and not is_business_owner:
        errors.add("is_business_owner", _("The position is owner: tick business owner."))
    elif is_business_owner and position not in (Position.OWNER, Position.MANAGER):
        errors.add("position", _("A business owner holds the position of owner or manager."))


def check_admission(
    errors,
    *,
    organization,
    admitted_on,
    date_of_birth,
    official_on,
    dossier_reviewed_on=None,
    over_age_approved=False,
    over_age_approval_reference="",
    ceremony_on=None,
    position=None,
    is_business_owner=False,
    dossier_completed_on=None,
):
    """The rules of an admission's dates and destination (at most one cached query for the working
    calendar: bulk callers reuse it per row).

    ``admitted_on`` is the date of the admission decision (reports count it, Party age runs from it).
    Điều lệ Đảng, Điều 4; Quy định 294-QĐ/TW; Hướng dẫn 06-HD/TW: the branch reviews a complete
    dossier, the age is counted on that day, the ceremony follows the decision within 30 working
    days, and probation lasts 12 months from the ceremony.
    """
    if admitted_on is None:
        errors.add("admitted_on", _("Give the date of admission."))
    else:
        if admitted_on > today():
            errors.add("admitted_on", _("The date of admission cannot be in the future."))
        _check_destination(errors, organization, admitted_on)
        if dossier_completed_on is not None and admitted_on < dossier_completed_on:
            errors.add(
                "admitted_on",
                _("The dossier was only complete on %(date)s: the admission cannot come before it.")
                % {"date": dossier_completed_on.strftime("%d/%m/%Y")},
            )
        if dossier_reviewed_on is not None:
            if dossier_reviewed_on > admitted_on:
                errors.add("dossier_reviewed_on", _("The branch reviews the dossier before the admission decision."))
            if dossier_completed_on is not None and dossier_reviewed_on < dossier_completed_on:
                errors.add(
                    "dossier_reviewed_on",
                    _("The dossier was only complete on %(date)s: it cannot be reviewed before.")
                    % {"date": dossier_completed_on.strftime("%d/%m/%Y")},
                )
        if official_on is not None and official_on < admitted_on:
            errors.add("official_on", _("A member becomes official after admission, not before."))
        if admitted_on <= today():  # a future date has its own error (and no deadline to count from)
            check_admission_age(
                errors,
                date_of_birth,
                dossier_reviewed_on or admitted_on,
                over_age_approved=over_age_approved,
                over_age_approval_reference=over_age_approval_reference,
            )
            if ceremony_on is not None:
                check_ceremony(errors, admitted_on, ceremony_on)
            if official_on is not None and official_on >= admitted_on and "ceremony_on" not in errors:
                mark = probation_ends_on(admitted_on=admitted_on, ceremony_on=ceremony_on)
                if official_on < mark:
                    errors.add(
                        "official_on",
                        _("Probation lasts 12 months: the member becomes official on %(date)s at the earliest.")
                        % {"date": mark.strftime("%d/%m/%Y")},
                    )
    if date_of_birth is None:
        errors.add("date_of_birth", _("Give the date of birth."))
    if position is not None:
        check_position(errors, position, is_business_owner)


def course_certificate_expires_on(course_completed_on):
    return add_years(course_completed_on, COURSE_CERTIFICATE_YEARS)


def check_course_certificate(errors, course_completed_on, on, field="admitted_on"):
    """The awareness-course certificate must still be valid (five years, Hướng dẫn 06-HD/TW) on the
    day the branch reviews the dossier; an expired one means taking the course again."""
    if course_completed_on is None or on is None:
        return
    expires_on = course_certificate_expires_on(course_completed_on)
    if on >= expires_on:
        errors.add(
            field,
            _(
                "The awareness-course certificate of %(completed)s expired on %(expired)s: the prospect "
                "takes the course again before the dossier is reviewed."
            )
            % {"completed": course_completed_on.strftime("%d/%m/%Y"), "expired": expires_on.strftime("%d/%m/%Y")},
        )


def check_ceremony(errors, admitted_on, ceremony_on):
    """The ceremony is held on or after the decision, at most 30 working days later (Quy định
    294-QĐ/TW; Hướng dẫn 06-HD/TW), and is recorded once held."""
    if ceremony_on < admitted_on:
        errors.add("ceremony_on", _("The ceremony is held after the admission decision, not before."))
    elif ceremony_on > ceremony_due_on(admitted_on):
        errors.add(
            "ceremony_on",
            _("The ceremony must be held within 30 working days of the decision, by %(date)s.")
            % {"date": ceremony_due_on(admitted_on).strftime("%d/%m/%Y")},
        )
    if ceremony_on > today():
        errors.add("ceremony_on", _("Record the ceremony once it is held: the date cannot be in the future."))


def build_admitted_member(**fields):
    """The unsaved member an admission creates (its first period opens on ``admitted_on``);
    ``fields`` are those of :func:`admitted_member_fields`."""
    return Member(**admitted_member_fields(**fields))


_PROFILE_FIELDS = frozenset(MEMBER_PROFILE_FIELDS)


def admitted_member_fields(
    *,
    organization,
    admitted_on,
    full_name,
    sex,
    date_of_birth,
    citizen_id,
    party_card_number,
    enterprise,
    position,
    is_business_owner,
    official_on,
    dossier_reviewed_on=None,
    over_age_approved=False,
    over_age_approval_reference="",
    admission_decision_number="",
    admission_decided_by="",
    ceremony_on=None,
    **profile,
):
    """Field → value of the member an admission creates (the bulk importer builds many at once);
    ``profile``: any of :data:`MEMBER_PROFILE_FIELDS` (empty strings for text left out)."""
    if not _PROFILE_FIELDS.issuperset(profile):
        raise TypeError(f"unexpected profile fields: {sorted(set(profile) - _PROFILE_FIELDS)}")
    cleaned = {}
    for name, value in profile.items():
        if isinstance(value, str):
            value = value.strip()
        elif value is None and name != "youth_union_member_at_admission":
            value = ""
        cleaned[name] = value
    return dict(
        dossier_reviewed_on=dossier_reviewed_on,
        over_age_approved=bool(over_age_approved),
        over_age_approval_reference=(over_age_approval_reference or "").strip(),
        admission_decision_number=(admission_decision_number or "").strip(),
        admission_decided_by=(admission_decided_by or "").strip(),
        ceremony_on=ceremony_on,
        **cleaned,
        full_name=(full_name or "").strip(),
        sex=sex,
        date_of_birth=date_of_birth,
        citizen_id=citizen_id,
        party_card_number=party_card_number,
        enterprise=enterprise,
        position=position,
        is_business_owner=is_business_owner,
        owner_at_admission=is_business_owner,
        admitted_on=admitted_on,
        admitted_by=organization,
        official_on=official_on,
        organization=organization,
        status=MemberStatus.ACTIVE,
    )


def _open_period(member, organization, started_on, acting_user):
    """Open a period; returns ``[events.Period]`` (for the caller's ``MembershipPeriodsOpened``)."""
    save_with_history(MembershipPeriod(member=member, organization=organization, started_on=started_on), acting_user)
    return [events.Period(member.pk, organization.pk, started_on)]


def _close_period(period, ended_on, reason, acting_user, *, decision_number="", decided_on=None):
    """Close ``period`` (if any) with the decision behind it; returns ``[events.Period]`` closed (for
    ``MembershipPeriodsClosed``)."""
    if period is None:
        return []
    period.ended_on = ended_on
    period.end_reason = reason
    period.end_decision_number = (decision_number or "").strip()
    period.end_decided_on = decided_on
    save_with_history(period, acting_user)
    return [events.Period(period.member_id, period.organization_id, ended_on)]


def _member_changed(member, before):
    """Announce the fields of ``member`` that differ from ``before`` (``values_of``), if any."""
    fields = changed_fields(member, before)
    if fields:
        previous = (before["enterprise_id"],) if "enterprise_id" in fields and before["enterprise_id"] else ()
        publish(events.MembersChanged((member.pk,), fields, previous))


def check_decision(errors, *, decision_number, decided_on, field="decision_number", date_field="decided_on"):
    """A decision's (or letter's) number is one line of at most 50 characters; its date is not in the future."""
    if decision_number and (len(decision_number) > 50 or SINGLE_LINE_FORBIDDEN.search(decision_number)):
        errors.add(field, _("Give the number as written on the decision (one line, at most 50 characters)."))
    if decided_on is not None and decided_on > today():
        errors.add(date_field, _("The date of the decision cannot be in the future."))


@transaction.atomic
def admit_member(
    acting_user,
    *,
    organization,
    admitted_on,
    full_name,
    sex,
    date_of_birth,
    citizen_id,
    party_card_number="",
    enterprise=None,
    position="worker",
    is_business_owner=False,
    official_on=None,
    dossier_reviewed_on=None,
    over_age_approved=False,
    over_age_approval_reference="",
    admission_decision_number="",
    admission_decided_by="",
    ceremony_on=None,
    prospect=None,
    reason=None,
    **profile,
):
    """Admit a member to ``organization`` (directly or from ``prospect``) and open the first period.

    ``admitted_on`` is the date of the admission decision (number ``admission_decision_number``,
    issued by ``admission_decided_by``); see :func:`check_admission` for the rules.
    """
    require_editable(acting_user, organization)
    errors = Errors()
    citizen_id = (citizen_id or "").strip()
    party_card_number = (party_card_number or "").strip()
    dossier_completed_on = None
    if prospect is not None:
        prospect = lock_for_update(prospect)
        if prospect.stage not in OPEN_PROSPECT_STAGES:
            errors.add("prospect", _("This prospect was already admitted or withdrawn."))
        elif prospect.stage != ProspectStage.DOSSIER_COMPLETE or prospect.dossier_completed_on is None:
            errors.add("admitted_on", _("The prospect's dossier is not complete yet: record its date first."))
        dossier_completed_on = prospect.dossier_completed_on
        check_course_certificate(errors, prospect.course_completed_on, dossier_reviewed_on or admitted_on)
    check_admission(
        errors,
        organization=organization,
        admitted_on=admitted_on,
        date_of_birth=date_of_birth,
        official_on=official_on,
        dossier_reviewed_on=dossier_reviewed_on,
        over_age_approved=over_age_approved,
        over_age_approval_reference=over_age_approval_reference,
        ceremony_on=ceremony_on,
        position=position,
        is_business_owner=is_business_owner,
        dossier_completed_on=dossier_completed_on,
    )
    check_decision(
        errors, decision_number=admission_decision_number, decided_on=None, field="admission_decision_number"
    )
    check_person(
        errors,
        citizen_id=citizen_id,
        party_card_number=party_card_number,
        date_of_birth=date_of_birth,
        acting_user=acting_user,
    )
    check_enterprise(errors, acting_user, enterprise)
    check_open(errors, organization, admitted_on, "admitted_on")
    member = build_admitted_member(
        organization=organization,
        admitted_on=admitted_on,
        full_name=full_name,
        sex=sex,
        date_of_birth=date_of_birth,
        citizen_id=citizen_id,
        party_card_number=party_card_number,
        enterprise=enterprise,
        position=position,
        is_business_owner=is_business_owner,
        official_on=official_on,
        dossier_reviewed_on=dossier_reviewed_on,
        over_age_approved=over_age_approved,
        over_age_approval_reference=over_age_approval_reference,
        admission_decision_number=admission_decision_number,
        admission_decided_by=admission_decided_by,
        ceremony_on=ceremony_on,
        **profile,
    )
    full_clean_into(member, errors, exclude=[f for f in ("citizen_id", "date_of_birth", "admitted_on") if f in errors])
    errors.raise_if_any()
    save_with_history(member, acting_user, reason=reason)
    period = MembershipPeriod(member=member, organization=organization, started_on=admitted_on)
    save_with_history(period, acting_user, reason=reason)
    publish(events.MembersAdmitted.of([member], [events.Period(member.pk, organization.pk, admitted_on)]))
    if prospect is not None:
        prospect.stage = ProspectStage.ADMITTED
        prospect.member = member
        prospect.closed_on = admitted_on
        save_with_history(prospect, acting_user, reason=reason)
    return member


@transaction.atomic
def update_member(acting_user, member, reason=None, *, expected_version=None, **changes):
    """Correct a member's personal and workplace facts (lifecycle steps have their own services)."""
    if not Member.objects.editable_by(acting_user).filter(pk=member.pk).exists():
        raise PermissionDenied(_("You may not change this member."))
    member = lock_for_update(member)
    check_version(member, expected_version)
    before = values_of(member)
    errors = Errors()
    for field, value in changes.items():
        if field not in MEMBER_EDITABLE_FIELDS:
            errors.add(field, _("This field cannot be changed here."))
            continue
        if isinstance(value, str):
            value = value.strip()
        setattr(member, field, value)
    changed = changed_fields(member, before)
    if not changed and not errors:
        return member  # a save that changes nothing writes nothing (no new version, no history row)
    reported = [name for name in ADMISSION_REPORT_FIELDS if Member._meta.get_field(name).attname in changed]
    if reported:
        # The new-admissions report of the period of the admission reads these facts as recorded now.
        check_open(errors, member.admitted_by, member.admitted_on, reported[0])
    check_person(
        errors,
        citizen_id=member.citizen_id,
        party_card_number=member.party_card_number,
        date_of_birth=member.date_of_birth,
        member=member,
        acting_user=acting_user,
    )
    if "enterprise" in changes:
        check_enterprise(errors, acting_user, member.enterprise)
    check_member_facts(errors, member, changed=changes)
    full_clean_into(member, errors, exclude=[f for f in ("citizen_id", "date_of_birth") if f in errors])
    errors.raise_if_any()
    save_with_history(member, acting_user, reason=reason)
    _member_changed(member, before)
    return member


def check_member_facts(errors, member, *, changed):
    """The admission age and the position rules on a member's corrected facts.

    The age over 60 and the position are checked only when the correction touches them: records
    kept before these rules were enforced stay editable for their other facts.
    """
    check_admission_age(
        errors,
        member.date_of_birth,
        member.dossier_reviewed_on or member.admitted_on,
        over_age_approved=member.over_age_approved,
        over_age_approval_reference=member.over_age_approval_reference,
        check_maximum="date_of_birth" in changed,
    )
    if "position" in changed or "is_business_owner" in changed:
        check_position(errors, member.position, member.is_business_owner)


def _require_active_member(acting_user, member, expected_version=None):
    if not Member.objects.editable_by(acting_user).filter(pk=member.pk).exists():
        raise PermissionDenied(_("You may not change this member."))
    member = lock_for_update(member)
    check_version(member, expected_version)
    errors = Errors()
    if member.status != MemberStatus.ACTIVE:
        errors.add(
            "status",
            _("%(member)s is no longer an active member here (%(status)s).")
            % {"member": member, "status": member.get_status_display()},
        )
    errors.raise_if_any()
    return member


@transaction.atomic
def recognize_official(
    acting_user, member, *, official_on=None, decision_number="", decided_on=None, expected_version=None
):
    """Recognise a probationary member as official, dated at the 12-month mark.

    Điều lệ Đảng, Điều 5; Hướng dẫn 06-HD/TW: twelve months after the ceremony the branch reviews the
    member (within 30 working days); the recognition is dated at the end of the twelve months even
    when the meeting or the decision (``decision_number``, ``decided_on``) comes later, and is
    refused before it. ``official_on``, when given, must be that date.
    """
    member = _require_active_member(acting_user, member, expected_version)
    errors = Errors()
    mark = probation_ends_on(admitted_on=member.admitted_on, ceremony_on=member.ceremony_on)
    decision_number = (decision_number or "").strip()
    if member.official_on is not None:
        errors.add(
            "official_on",
            _("%(member)s is already an official member since %(date)s.")
            % {"member": member, "date": display_date(member.official_on)},
        )
    elif mark > today():
        errors.add(
            "official_on",
            _("The 12 months of probation end on %(date)s: the member cannot be recognised before.")
            % {"date": mark.strftime("%d/%m/%Y")},
        )
    elif official_on is not None and official_on != mark:
        errors.add(
            "official_on",
            _("The recognition is dated at the end of the 12 months of probation: %(date)s.")
            % {"date": mark.strftime("%d/%m/%Y")},
        )
    check_decision(errors, decision_number=decision_number, decided_on=decided_on)
    if decided_on is not None and decided_on < mark:
        errors.add("decided_on", _("The decision comes after the 12 months of probation, not before."))
    check_open(errors, member.organization, mark, "official_on")
    errors.raise_if_any()
    before = values_of(member)
    member.official_on = mark
    member.recognition_decision_number = decision_number
    member.recognition_decided_on = decided_on
    save_with_history(member, acting_user)
    _member_changed(member, before)
    return member


@transaction.atomic
def record_ceremony(acting_user, member, *, ceremony_on, expected_version=None):
    """Record the admission ceremony of a probationary member (Quy định 294-QĐ/TW: within 30 working
    days of the decision); probation counts from it."""
    member = _require_active_member(acting_user, member, expected_version)
    errors = Errors()
    if member.official_on is not None:
        errors.add("ceremony_on", _("%(member)s is already an official member.") % {"member": member})
    elif ceremony_on is None:
        errors.add("ceremony_on", _("Give the date of the ceremony."))
    else:
        check_ceremony(errors, member.admitted_on, ceremony_on)
    errors.raise_if_any()
    member.ceremony_on = ceremony_on
    return save_with_history(member, acting_user)


# Transfers of Party activity ------------------------------------------------------------------

#: Hướng dẫn 06-HD/TW (2025), on transfers of Party activity: the member presents the introduction
#: letter to the receiving organisation within 30 working days of its date.
TRANSFER_PRESENT_WITHIN_WORKING_DAYS = 30
#: Hướng dẫn 06-HD/TW: a temporary transfer lasts from 3 months to under 1 year for work away from
#: the organisation, from 3 months to 2 years for study: (months at least, months at most, end included).
TEMPORARY_TRANSFER_MONTHS = {
    TransferKind.TEMPORARY_WORK: (3, 12, False),
    TransferKind.TEMPORARY_STUDY: (3, 24, True),
}


def transfer_due_on(letter_date):
    """The last day to present the introduction letter: 30 working days after its date."""
    return add_working_days(letter_date, TRANSFER_PRESENT_WITHIN_WORKING_DAYS)


def _require_side(acting_user, organization, message):
    if not Organization.objects.editable_by(acting_user).filter(pk=organization.pk).exists():
        raise PermissionDenied(message)


def _lock_transfer(transfer, expected_version):
    transfer = lock_for_update(transfer)
    check_version(transfer, expected_version)
    return transfer


def _require_in_transit(transfer):
    if transfer.status != TransferStatus.IN_TRANSIT:
        raise ValidationError(
            {
                "status": _("This transfer is no longer in transit (%(status)s).")
                % {"status": transfer.get_status_display()}
            }
        )


def _check_temporary_end(errors, kind, letter_date, ends_on):
    least, most, included = TEMPORARY_TRANSFER_MONTHS[kind]
    if ends_on is None:
        errors.add("ends_on", _("Give the date the temporary transfer ends."))
        return
    if letter_date is None:
        return
    earliest, latest = add_months(letter_date, least), add_months(letter_date, most)
    if ends_on < earliest or ends_on > latest or (not included and ends_on == latest):
        if kind == TransferKind.TEMPORARY_WORK:
            message = _(
                "A temporary transfer to work away lasts from 3 months to under 1 year: "
                "end it from %(start)s to before %(end)s."
            )
        else:
            message = _(
                "A temporary transfer to study lasts from 3 months to 2 years: end it from %(start)s to %(end)s."
            )
        errors.add("ends_on", message % {"start": display_date(earliest), "end": display_date(latest)})


@transaction.atomic
def issue_transfer(
    acting_user,
    member,
    *,
    to_organization,
    letter_date,
    letter_number="",
    on=None,
    kind=TransferKind.OFFICIAL,
    ends_on=None,
    expected_version=None,
):
    """The sending organisation issues an introduction letter (``letter_number``, ``letter_date``)
    transferring ``member``'s Party activity to ``to_organization`` (anywhere in the country).

    Official (Hướng dẫn 06-HD/TW, on transfers of Party activity): the membership at the sender
    ends on ``on`` (default: the letter's date) and the transfer is in transit until the receiving
    organisation confirms the date the letter was presented (:func:`confirm_transfer`), due within
    30 working days of the letter. Temporary (``kind`` work or study, until ``ends_on``): the
    record stays at home and the member is shown at the host organisation for that time.
    """
    member = _require_active_member(acting_user, member, expected_version)
    official = kind == TransferKind.OFFICIAL
    on = on or letter_date
    letter_number = (letter_number or "").strip()
    period = MembershipPeriod.objects.select_for_update().filter(member=member, ended_on__isnull=True).first()
    errors = Errors()
    check_decision(
        errors, decision_number=letter_number, decided_on=letter_date, field="letter_number", date_field="letter_date"
    )
    if kind not in TransferKind.values:
        errors.add("kind", _("Choose an official or a temporary transfer."))
    if letter_date is None:
        errors.add("letter_date", _("Give the date of the introduction letter."))
    if Transfer.objects.filter(member=member, status=TransferStatus.IN_TRANSIT).exists():
        errors.add("to_organization", _("A transfer of this member is already in transit."))
    if on is not None:
        if period is not None and on < period.started_on:
            errors.add(
                "on",
                _("The transfer cannot come before the member joined this organisation (%(date)s).")
                % {"date": display_date(period.started_on)},
            )
        if on > today():
            errors.add("on", _("The date of transfer cannot be in the future."))
        if official:
            check_open(errors, member.organization, on, "on")
    if to_organization is None:
        errors.add("to_organization", _("Choose the receiving organisation."))
    elif on is not None:
        _check_destination(errors, to_organization, on, exclude=member.organization, field="to_organization")
    if official:
        ends_on = None
    elif kind in TEMPORARY_TRANSFER_KINDS:
        _check_temporary_end(errors, kind, letter_date, ends_on)
    errors.raise_if_any()
    transfer = Transfer(
        member=member,
        kind=kind,
        from_organization=member.organization,
        to_organization=to_organization,
        letter_number=letter_number,
        letter_date=letter_date,
        left_on=on if official else None,
        due_on=transfer_due_on(letter_date),
        ends_on=ends_on,
    )
    save_with_history(transfer, acting_user)
    if official:
        before = values_of(member)
        closed = _close_period(
            period, on, PeriodEndReason.TRANSFER, acting_user, decision_number=letter_number, decided_on=letter_date
        )
        member.status = MemberStatus.IN_TRANSIT
        save_with_history(member, acting_user)
        if closed:
            publish(events.MembershipPeriodsClosed(tuple(closed)))
        _member_changed(member, before)
    publish(events.TransferChanged(transfer.pk, member.pk, transfer.status))
    return transfer


@transaction.atomic
def confirm_transfer(acting_user, transfer, *, presented_on, expected_version=None):
    """The receiving organisation confirms the date the introduction letter was presented: an
    official transfer opens the membership there on that date (the member becomes theirs)."""
    _require_side(acting_user, transfer.to_organization, _("Only the receiving organisation confirms a transfer."))
    transfer = _lock_transfer(transfer, expected_version)
    _require_in_transit(transfer)
    official = transfer.kind == TransferKind.OFFICIAL
    errors = Errors()
    if presented_on is None:
        errors.add("presented_on", _("Give the date the letter was presented."))
    else:
        earliest = max(transfer.letter_date, transfer.left_on or transfer.letter_date)
        if presented_on < earliest:
            errors.add(
                "presented_on",
                _("The letter cannot be presented before %(date)s.") % {"date": display_date(earliest)},
            )
        if presented_on > today():
            errors.add("presented_on", _("The date cannot be in the future."))
        if transfer.ends_on is not None and presented_on >= transfer.ends_on:
            errors.add(
                "presented_on",
                _("The temporary transfer ended on %(date)s.") % {"date": display_date(transfer.ends_on)},
            )
        if official:
            _check_destination(errors, transfer.to_organization, presented_on, field="presented_on")
            check_open(errors, transfer.to_organization, presented_on, "presented_on")
    errors.raise_if_any()
    transfer.status = TransferStatus.RECEIVED
    transfer.presented_on = presented_on
    save_with_history(transfer, acting_user)
    if official:
        member = Member.objects.select_for_update().get(pk=transfer.member_id)
        before = values_of(member)
        opened = _open_period(member, transfer.to_organization, presented_on, acting_user)
        member.organization = transfer.to_organization
        member.status = MemberStatus.ACTIVE
        save_with_history(member, acting_user)
        publish(events.MembershipPeriodsOpened(tuple(opened)))
        _member_changed(member, before)
    publish(events.TransferChanged(transfer.pk, transfer.member_id, transfer.status))
    return transfer


@transaction.atomic
def cancel_transfer(acting_user, transfer, *, reason, expected_version=None):
    """The sending organisation cancels a transfer still in transit (issued by mistake, or to the
    wrong organisation): an official transfer's closed membership reopens as if never closed."""
    _require_side(acting_user, transfer.from_organization, _("Only the sending organisation cancels a transfer."))
    transfer = _lock_transfer(transfer, expected_version)
    _require_in_transit(transfer)
    errors = Errors()
    reason = check_reason(errors, reason)
    official = transfer.kind == TransferKind.OFFICIAL
    if official:
        check_open(errors, transfer.from_organization, transfer.left_on, "reason")
    errors.raise_if_any()
    transfer.status = TransferStatus.CANCELLED
    save_with_history(transfer, acting_user, reason=reason)
    if official:
        member = Member.objects.select_for_update().get(pk=transfer.member_id)
        before = values_of(member)
        reopened = _reopen_period(member, transfer.from_organization, transfer.left_on, acting_user, reason)
        member.status = MemberStatus.ACTIVE
        save_with_history(member, acting_user, reason=reason)
        publish(events.MembershipPeriodsReopened(tuple(reopened)))
        _member_changed(member, before)
    publish(events.TransferChanged(transfer.pk, transfer.member_id, transfer.status))
    return transfer


@transaction.atomic
def redirect_transfer(acting_user, transfer, *, to_organization, reason, expected_version=None):
    """The sending organisation corrects the receiving organisation of a transfer still in transit
    (the letter went to the wrong one); the letter and its dates stay."""
    _require_side(acting_user, transfer.from_organization, _("Only the sending organisation redirects a transfer."))
    transfer = _lock_transfer(transfer, expected_version)
    _require_in_transit(transfer)
    errors = Errors()
    reason = check_reason(errors, reason)
    if to_organization is None:
        errors.add("to_organization", _("Choose the receiving organisation."))
    else:
        _check_destination(
            errors,
            to_organization,
            transfer.left_on or transfer.letter_date,
            exclude=transfer.from_organization,
            field="to_organization",
        )
        if to_organization.pk == transfer.to_organization_id:
            errors.add("to_organization", _("The transfer already goes to this organisation."))
    errors.raise_if_any()
    transfer.to_organization = to_organization
    save_with_history(transfer, acting_user, reason=reason)
    publish(events.TransferChanged(transfer.pk, transfer.member_id, transfer.status))
    return transfer


@transaction.atomic
def end_temporary_transfer(acting_user, transfer, *, expected_version=None):
    """The member's temporary stay at the host organisation is over (either side records it)."""
    if not Transfer.objects.editable_by(acting_user).filter(pk=transfer.pk).exists():
        raise PermissionDenied(_("You may not change this transfer."))
    transfer = _lock_transfer(transfer, expected_version)
    if transfer.kind == TransferKind.OFFICIAL or transfer.status not in (
        TransferStatus.IN_TRANSIT,
        TransferStatus.RECEIVED,
    ):
        raise ValidationError({"status": _("Only a current temporary transfer can be ended.")})
    transfer.status = TransferStatus.ENDED
    save_with_history(transfer, acting_user)
    publish(events.TransferChanged(transfer.pk, transfer.member_id, transfer.status))
    return transfer


def _reopen_period(member, organization, ended_on, acting_user, reason):
    """Reopen the member's period at ``organization`` that ended on ``ended_on``; returns
    ``[events.Period]`` with the end struck out."""
    period = (
        MembershipPeriod.objects.select_for_update()
        .filter(member=member, organization=organization, ended_on=ended_on)
        .order_by("-started_on")
        .first()
    )
    if period is None:
        return []
    period.ended_on = None
    period.end_reason = ""
    period.end_decision_number = ""
    period.end_decided_on = None
    save_with_history(period, acting_user, reason=reason)
    return [events.Period(member.pk, organization.pk, ended_on)]


_TRANSFER_FIELDS_OF_MEMBER_STEP = {"letter_date": "decided_on", "letter_number": "decision_number"}


@transaction.atomic
def transfer_member(
    acting_user,
    member,
    *,
    on,
    to_organization=None,
    decision_number="",
    decided_on=None,
    presented_on=None,
    kind=TransferKind.OFFICIAL,
    ends_on=None,
    expected_version=None,
):
    """Transfer Party activity to the place of residence (``to_organization=None``: ends the
    membership on ``on``), or issue a transfer to another organisation (:func:`issue_transfer`,
    the letter ``decision_number`` dated ``decided_on``, default ``on``) and, with ``presented_on``,
    confirm it at once (:func:`confirm_transfer`: the acting user must act for both sides).
    Returns the member.
    """
    if to_organization is not None:
        try:
            transfer = issue_transfer(
                acting_user,
                member,
                to_organization=to_organization,
                letter_number=decision_number,
                letter_date=decided_on or on,
                on=on,
                kind=kind,
                ends_on=ends_on,
                expected_version=expected_version,
            )
        except ValidationError as exc:
            raise ValidationError(
                {
                    _TRANSFER_FIELDS_OF_MEMBER_STEP.get(field, field): messages
                    for field, messages in exc.message_dict.items()
                }
            ) from exc
        if presented_on is not None:
            confirm_transfer(acting_user, transfer, presented_on=presented_on)
        return Member.objects.get(pk=member.pk)
    member = _require_active_member(acting_user, member, expected_version)
    period = MembershipPeriod.objects.select_for_update().filter(member=member, ended_on__isnull=True).first()
    errors = Errors()
    decision_number = (decision_number or "").strip()
    check_decision(errors, decision_number=decision_number, decided_on=decided_on)
    if on is None:
        errors.add("on", _("Give the date of transfer."))
    else:
        if period is not None and on < period.started_on:
            errors.add(
                "on",
                _("The transfer cannot come before the member joined this organisation (%(date)s).")
                % {"date": display_date(period.started_on)},
            )
        if on > today():
            errors.add("on", _("The date of transfer cannot be in the future."))
        check_open(errors, member.organization, on, "on")
    errors.raise_if_any()
    before = values_of(member)
    closed = _close_period(
        period, on, PeriodEndReason.RESIDENCE, acting_user, decision_number=decision_number, decided_on=decided_on
    )
    member.status = MemberStatus.TRANSFERRED_TO_RESIDENCE
    save_with_history(member, acting_user)
    if closed:
        publish(events.MembershipPeriodsClosed(tuple(closed)))
    _member_changed(member, before)
    return member


@transaction.atomic
def record_leaving(acting_user, member, *, on, reason, decision_number="", decided_on=None, expected_version=None):
    """Record that a member left the Party (resigned, expelled, struck off, died), with the decision
    behind it (Điều lệ Đảng, Điều 8 and Điều 35; the record of a death has no decision)."""
    member = _require_active_member(acting_user, member, expected_version)
    period = MembershipPeriod.objects.select_for_update().filter(member=member, ended_on__isnull=True).first()
    errors = Errors()
    decision_number = (decision_number or "").strip()
    check_decision(errors, decision_number=decision_number, decided_on=decided_on)
    if reason not in LEAVING_REASONS:
        errors.add("reason", _("Choose why the member left: resigned, expelled, struck off or died."))
    if on is None:
        errors.add("on", _("Give the date."))
    else:
        if period is not None and on < period.started_on:
            errors.add(
                "on",
                _("The date cannot come before the member joined this organisation (%(date)s).")
                % {"date": display_date(period.started_on)},
            )
        if on > today():
            errors.add("on", _("The date cannot be in the future."))
        check_open(errors, member.organization, on, "on")
    errors.raise_if_any()
    before = values_of(member)
    closed = _close_period(period, on, reason, acting_user, decision_number=decision_number, decided_on=decided_on)
    member.status = MemberStatus.LEFT
    save_with_history(member, acting_user)
    if closed:
        publish(events.MembershipPeriodsClosed(tuple(closed)))
    _member_changed(member, before)
    return member


# Prospects --------------------------------------------------------------------------------

PROSPECT_FIELDS = (
    "full_name",
    "sex",
    "date_of_birth",
    "citizen_id",
    "enterprise",
    "position",
    "is_business_owner",
    "organization",
    "identified_on",
    "course_completed_on",
    "dossier_completed_on",
    "notes",
)


def _check_prospect(errors, acting_user, prospect):
    if (
        not prospect.organization_id
        or not Organization.objects.editable_by(acting_user).filter(pk=prospect.organization_id).exists()
    ):
        errors.add("organization", _("Choose an organisation of yours."))
    check_enterprise(errors, acting_user, prospect.enterprise)
    check_position(errors, prospect.position, prospect.is_business_owner)
    dates = [
        ("identified_on", prospect.identified_on),
        ("course_completed_on", prospect.course_completed_on),
        ("dossier_completed_on", prospect.dossier_completed_on),
    ]
    previous = None
    for field, value in dates:
        if value is not None:
            if value > today():
                errors.add(field, _("This date cannot be in the future."))
            if previous is not None and value < previous:
                errors.add(field, _("The stages must follow each other in time."))
            previous = value
    if "dossier_completed_on" not in errors:
        check_course_certificate(
            errors, prospect.course_completed_on, prospect.dossier_completed_on, field="dossier_completed_on"
        )
    if prospect.stage in OPEN_PROSPECT_STAGES:
        if prospect.dossier_completed_on:
            prospect.stage = ProspectStage.DOSSIER_COMPLETE
        elif prospect.course_completed_on:
            prospect.stage = ProspectStage.COURSE_DONE
        else:
            prospect.stage = ProspectStage.IDENTIFIED


@transaction.atomic
def create_prospect(acting_user, **fields):
    """Record a person identified for admission; the stage follows from the dates given."""
    errors = Errors()
    unknown = set(fields) - set(PROSPECT_FIELDS)
    for field in unknown:
        errors.add(field, _("This field cannot be set here."))
    prospect = Prospect(**{k: v for k, v in fields.items() if k in PROSPECT_FIELDS})
    _check_prospect(errors, acting_user, prospect)
    full_clean_into(prospect, errors, exclude=["member"])
    errors.raise_if_any()
    return save_with_history(prospect, acting_user)


@transaction.atomic
def update_prospect(acting_user, prospect, *, expected_version=None, **changes):
    if not Prospect.objects.editable_by(acting_user).filter(pk=prospect.pk).exists():
        raise PermissionDenied(_("You may not change this prospect."))
    prospect = lock_for_update(prospect)
    check_version(prospect, expected_version)
    errors = Errors()
    if prospect.stage not in OPEN_PROSPECT_STAGES:
        errors.add("stage", _("This prospect was already admitted or withdrawn."))
    for field, value in changes.items():
        if field not in PROSPECT_FIELDS:
            errors.add(field, _("This field cannot be changed here."))
            continue
        setattr(prospect, field, value)
    _check_prospect(errors, acting_user, prospect)
    full_clean_into(prospect, errors, exclude=["member"])
    errors.raise_if_any()
    return save_with_history(prospect, acting_user)


@transaction.atomic
def withdraw_prospect(acting_user, prospect, *, on, expected_version=None):
    """The prospect withdrew or left the enterprise."""
    if not Prospect.objects.editable_by(acting_user).filter(pk=prospect.pk).exists():
        raise PermissionDenied(_("You may not change this prospect."))
    prospect = lock_for_update(prospect)
    check_version(prospect, expected_version)
    errors = Errors()
    if prospect.stage not in OPEN_PROSPECT_STAGES:
        errors.add("stage", _("This prospect was already admitted or withdrawn."))
    if on is None or on < prospect.identified_on:
        errors.add("closed_on", _("The date must come after the prospect was identified."))
    errors.raise_if_any()
    prospect.stage = ProspectStage.WITHDRAWN
    prospect.closed_on = on
    return save_with_history(prospect, acting_user)


def admit_prospect(
    acting_user,
    prospect,
    *,
    admitted_on,
    citizen_id=None,
    party_card_number="",
    official_on=None,
    dossier_reviewed_on=None,
    over_age_approved=False,
    over_age_approval_reference="",
    admission_decision_number="",
    admission_decided_by="",
    ceremony_on=None,
):
    """Admit a prospect whose dossier is complete: creates the member in the sponsoring organisation."""
    if not Prospect.objects.editable_by(acting_user).filter(pk=prospect.pk).exists():
        raise PermissionDenied(_("You may not change this prospect."))
    return admit_member(
        acting_user,
        organization=prospect.organization,
        admitted_on=admitted_on,
        full_name=prospect.full_name,
        sex=prospect.sex,
        date_of_birth=prospect.date_of_birth,
        citizen_id=citizen_id or prospect.citizen_id,
        party_card_number=party_card_number,
        enterprise=prospect.enterprise,
        position=prospect.position,
        is_business_owner=prospect.is_business_owner,
        official_on=official_on,
        dossier_reviewed_on=dossier_reviewed_on,
        over_age_approved=over_age_approved,
        over_age_approval_reference=over_age_approval_reference,
        admission_decision_number=admission_decision_number,
        admission_decided_by=admission_decided_by,
        ceremony_on=ceremony_on,
        prospect=prospect,
    )


# Role assignments -------------------------------------------------------------------------


@transaction.atomic
def grant_role(acting_user, *, user, role, organization=None):
    """Give ``user`` a role over ``organization``'s subtree (administrators: everywhere)."""
    if acting_user is not None and not scope_for(acting_user).administers:
        raise PermissionDenied(_("Only administrators manage users and roles."))
    errors = Errors()
    if role not in RoleKey.values:
        errors.add("role", _("Choose a valid role."))
    elif role != RoleKey.ADMINISTRATOR and organization is None:
        errors.add("organization", _("This role needs an organisation."))
    if role == RoleKey.ADMINISTRATOR:
        organization = None
    if RoleAssignment.objects.filter(user=user, role=role, organization=organization).exists():
        errors.add("role", _("The user already holds this role."))
    errors.raise_if_any()
    assignment = save_with_history(RoleAssignment(user=user, role=role, organization=organization), acting_user)
    forget_scope(user)
    return assignment


@transaction.atomic
def revoke_role(acting_user, assignment):
    if acting_user is not None and not scope_for(acting_user).administers:
        raise PermissionDenied(_("Only administrators manage users and roles."))
    assignment._history_user = acting_user
    assignment.delete()
    forget_scope(assignment.user)


def default_official_date(admitted_on: date, ceremony_on: date | None = None) -> date:
    """Twelve months after the ceremony (the decision when no ceremony is recorded): see :func:`probation_ends_on`."""
    return probation_ends_on(admitted_on=admitted_on, ceremony_on=ceremony_on)


# Party badges -----------------------------------------------------------------------------


@transaction.atomic
def award_badge(acting_user, member, *, years, presented_on, decision_number="", expected_version=None):
    """Record that ``member`` was presented the Party badge for ``years`` years of Party age.

    Badges are presented on 3 February, 19 May, 2 September and 7 November to members whose Party
    age, counted from the admission decision, reaches 30, 40, 45, …, 90 years by that day (Quy định
    94-QĐ/TW; Hướng dẫn of the Central Organisation Commission). A badge is presented once.
    """
    from branches.deadlines import BADGE_PRESENTATION_DAYS

    member = _require_active_member(acting_user, member, expected_version)
    errors = Errors()
    if years not in BADGE_YEARS:
        errors.add("years", _("Badges are for 30, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85 or 90 years of Party age."))
    if presented_on is None:
        errors.add("presented_on", _("Give the date the badge was presented."))
    elif (presented_on.month, presented_on.day) not in BADGE_PRESENTATION_DAYS:
        errors.add("presented_on", _("Badges are presented on 3 February, 19 May, 2 September or 7 November."))
    if not errors and add_years(member.admitted_on, years) > presented_on:
        errors.add(
            "years",
            _("%(member)s reaches %(years)s years of Party age on %(date)s, after that presentation date.")
            % {"member": member, "years": years, "date": display_date(add_years(member.admitted_on, years))},
        )
    if years in BADGE_YEARS and BadgeAward.objects.filter(member=member, years=years).exists():
        errors.add("years", _("%(member)s already has the %(years)s-year badge.") % {"member": member, "years": years})
    if SINGLE_LINE_FORBIDDEN.search(decision_number or ""):
        errors.add("decision_number", _("Remove the control characters from this text."))
    errors.raise_if_any()
    return save_with_history(
        BadgeAward(member=member, years=years, presented_on=presented_on, decision_number=decision_number or ""),
        acting_user,
    )


# Corrections ------------------------------------------------------------------------------

#: What a correction of an admission may change: its dates and its decision.
ADMISSION_CORRECTION_FIELDS = (
    "admitted_on",
    "admission_decision_number",
    "admission_decided_by",
    "dossier_reviewed_on",
    "ceremony_on",
)


def check_reason(errors, reason):
    """A correction says why, on one line (kept in the history with the old and new values)."""
    reason = (reason or "").strip()
    if not reason:
        errors.add("reason", _("Say why the record is corrected."))
    elif len(reason) > 200 or SINGLE_LINE_FORBIDDEN.search(reason):
        errors.add("reason", _("Give the reason on one line, in at most 200 characters."))
    return reason


@transaction.atomic
def correct_admission(acting_user, member, *, reason, expected_version=None, **changes):
    """Correct an admission's dates and decision (``changes``: any of
    :data:`ADMISSION_CORRECTION_FIELDS`) under the rules of an admission (:func:`check_admission`).

    The first membership period moves with the decision date; the reports recount the admission
    (``AdmissionsCorrected``: the roll-ups move it to its new month), and a date inside an approved
    period, old or new, is refused (``check_open``).
    """
    if not Member.objects.editable_by(acting_user).filter(pk=member.pk).exists():
        raise PermissionDenied(_("You may not change this member."))
    member = lock_for_update(member)
    check_version(member, expected_version)
    errors = Errors()
    reason = check_reason(errors, reason)
    old = events.Admission.of(member)
    before = values_of(member)
    for field, value in changes.items():
        if field not in ADMISSION_CORRECTION_FIELDS:
            errors.add(field, _("This field cannot be changed here."))
            continue
        if isinstance(value, str):
            value = value.strip()
        setattr(member, field, value)
    changed = changed_fields(member, before)
    if not changed and not errors:
        errors.add(NON_FIELD_ERRORS, _("Nothing was changed."))
    errors.raise_if_any()
    prospect = Prospect.objects.filter(member=member).first()
    check_admission(
        errors,
        organization=member.admitted_by,
        admitted_on=member.admitted_on,
        date_of_birth=member.date_of_birth,
        official_on=member.official_on,
        dossier_reviewed_on=member.dossier_reviewed_on,
        over_age_approved=member.over_age_approved,
        over_age_approval_reference=member.over_age_approval_reference,
        ceremony_on=member.ceremony_on,
        dossier_completed_on=prospect.dossier_completed_on if prospect else None,
    )
    check_decision(
        errors, decision_number=member.admission_decision_number, decided_on=None, field="admission_decision_number"
    )
    first = member.periods.select_for_update().order_by("started_on", "pk").first()
    if "admitted_on" in changed and member.admitted_on is not None:
        check_open(errors, member.admitted_by, old.admitted_on, "admitted_on")
        check_open(errors, member.admitted_by, member.admitted_on, "admitted_on")
        if first is not None and first.ended_on is not None and member.admitted_on > first.ended_on:
            errors.add(
                "admitted_on",
                _("The first membership ended on %(date)s: the admission cannot come after it.")
                % {"date": display_date(first.ended_on)},
            )
    full_clean_into(member, errors, exclude=["citizen_id"])
    errors.raise_if_any()
    save_with_history(member, acting_user, reason=reason)
    if "admitted_on" in changed and first is not None and first.started_on == old.admitted_on:
        first.started_on = member.admitted_on
        save_with_history(first, acting_user, reason=reason)
        publish(
            events.MembershipPeriodsCorrected(
                (events.Period(member.pk, first.organization_id, old.admitted_on),),
                (events.Period(member.pk, first.organization_id, member.admitted_on),),
            )
        )
    new = events.Admission.of(member)
    if new != old:
        publish(events.AdmissionsCorrected((old,), (new,)))
    _member_changed(member, before)
    return member


@transaction.atomic
def undo_leaving(acting_user, member, *, reason, expected_version=None):
    """A leaving recorded by mistake (resigned, expelled, struck off, died) is struck out: the
    membership it ended reopens and the member is active again; the reports recount."""
    if not Member.objects.editable_by(acting_user).filter(pk=member.pk).exists():
        raise PermissionDenied(_("You may not change this member."))
    member = lock_for_update(member)
    check_version(member, expected_version)
    errors = Errors()
    reason = check_reason(errors, reason)
    last = member.periods.select_for_update().order_by("-started_on", "-pk").first()
    if member.status != MemberStatus.LEFT or last is None or last.end_reason not in LEAVING_REASONS:
        errors.add("status", _("%(member)s has no leaving of the Party to undo.") % {"member": member})
    else:
        check_open(errors, last.organization, last.ended_on, "reason")
        if not last.organization.is_active_on(last.ended_on):
            errors.add("reason", _("%(org)s is no longer active.") % {"org": last.organization})
    errors.raise_if_any()
    before = values_of(member)
    reopened = _reopen_period(member, last.organization, last.ended_on, acting_user, reason)
    member.status = MemberStatus.ACTIVE
    member.organization = last.organization
    save_with_history(member, acting_user, reason=reason)
    publish(events.MembershipPeriodsReopened(tuple(reopened)))
    _member_changed(member, before)
    return member
