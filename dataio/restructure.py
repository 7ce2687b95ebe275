"""Restructuring plans: a spreadsheet of dated operations on the organisation tree, previewed and
committed all or nothing.

One operation per row (``establish``, ``move``, ``rename``, ``merge``, ``split``, ``dissolve``,
and ``pass``: an enterprise, named by its tax code in ``code``, passes to the committee in
``target``), each with its effective date and decision. The operations on localities take the
locality's code in ``code``: ``establish-locality`` (``new_name``, ``kind``, ``new_parent``),
``rename-locality``, ``move-locality``, ``merge-localities`` (into ``target``) and
``abolish-district`` (its communes move up to the province), through ``enterprises.services``.
A split takes one row per child organisation (its code) or member (citizen ID) in ``item``, each
naming its destination in ``target``; its ``share`` (the percentage of the targets the
destination takes) is given once per destination.

:func:`run_plan` applies the operations in order through the services of ``branches.services``
inside one transaction, each in a savepoint: a refused operation is rolled back and its errors
named by row and column, the rest are still checked. A run of moves is checked, previewed and
written together (``services.move_organizations``), in a few statements however many rows, with
the outcome of one by one: a refused move writes nothing. The preview lists every operation with the
organisations, members, enterprises and role assignments it affects. Nothing is kept unless every
row passes and ``dry_run`` is off; the history of what was written names the plan and the user.
"""

from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, Count, Q, Value, When
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branches import services
from branches.choices import MemberStatus, OrganizationKind
from branches.models import (
    Member,
    MembershipPeriod,
    Organization,
    OrganizationVersion,
    RoleAssignment,
    enterprise_model,
    locality_model,
)
from core import events
from core.scoping import scope_for
from core.spreadsheets import CellError, choice_value, code_value, date_value, read_spreadsheet
from dataio.imports import Column, RowError, cell_reader, match_columns
from enterprises import services as locality_services
from enterprises.choices import LocalityKind
from enterprises.models import (
    Enterprise,
    EnterpriseLocalityPeriod,
    Locality,
    LocalityVersion,
    ManagingCommitteePeriod,
)
from enterprises.services import change_managing_committees


class Operation:
    ESTABLISH = "establish"
    MOVE = "move"
    RENAME = "rename"
    MERGE = "merge"
    SPLIT = "split"
    DISSOLVE = "dissolve"
    PASS = "pass"
    LOCALITY_ESTABLISH = "establish-locality"
    LOCALITY_RENAME = "rename-locality"
    LOCALITY_MOVE = "move-locality"
    LOCALITY_MERGE = "merge-localities"
    LOCALITY_ABOLISH = "abolish-district"
    LOCALITY = {LOCALITY_ESTABLISH, LOCALITY_RENAME, LOCALITY_MOVE, LOCALITY_MERGE, LOCALITY_ABOLISH}
    LABELS = {
        ESTABLISH: gettext_lazy("establish"),
        MOVE: gettext_lazy("move"),
        RENAME: gettext_lazy("rename"),
        MERGE: gettext_lazy("merge"),
        SPLIT: gettext_lazy("split"),
        DISSOLVE: gettext_lazy("dissolve"),
        PASS: gettext_lazy("pass an enterprise"),
        LOCALITY_ESTABLISH: gettext_lazy("establish a locality"),
        LOCALITY_RENAME: gettext_lazy("rename a locality"),
        LOCALITY_MOVE: gettext_lazy("move a locality"),
        LOCALITY_MERGE: gettext_lazy("merge localities"),
        LOCALITY_ABOLISH: gettext_lazy("abolish a district"),
    }
    ALIASES = {
        "thành lập": ESTABLISH,
        "chuyển": MOVE,
        "điều chuyển": MOVE,
        "đổi tên": RENAME,
        "hợp nhất": MERGE,
        "sáp nhập": MERGE,
        "chia tách": SPLIT,
        "giải thể": DISSOLVE,
        "chuyển giao": PASS,
        "chuyển giao doanh nghiệp": PASS,
        "thành lập đơn vị hành chính": LOCALITY_ESTABLISH,
        "đổi tên đơn vị hành chính": LOCALITY_RENAME,
        "điều chỉnh đơn vị hành chính": LOCALITY_MOVE,
        "sắp xếp đơn vị hành chính": LOCALITY_MERGE,
        "sáp nhập đơn vị hành chính": LOCALITY_MERGE,
        "hợp nhất đơn vị hành chính": LOCALITY_MERGE,
        "kết thúc cấp huyện": LOCALITY_ABOLISH,
        "bỏ cấp huyện": LOCALITY_ABOLISH,
    }


def read_operation(value):
    text = code_value(value).strip().lower()
    if not text:
        return ""
    if text in Operation.LABELS:
        return text
    if text in Operation.ALIASES:
        return Operation.ALIASES[text]
    for key, label in Operation.LABELS.items():
        if text == str(label).lower():
            return key
    raise CellError(
        _("Write one of: %(choices)s.") % {"choices": ", ".join(str(label) for label in Operation.LABELS.values())}
    )


def read_kind(value):
    """An organisation's kind, or a locality's (the operation tells which it must be)."""
    try:
        return choice_value(value, OrganizationKind)
    except CellError:
        try:
            return choice_value(value, LocalityKind)
        except CellError:
            raise CellError(
                _("Write one of: %(choices)s.")
                % {"choices": ", ".join(str(label) for label in [*OrganizationKind.labels, *LocalityKind.labels])}
            ) from None


def read_share(value):
    text = code_value(value).replace(",", ".").rstrip("%").strip()
    if not text:
        return None
    try:
        share = Decimal(text)
    except InvalidOperation:
        raise CellError(_("Write a percentage, such as 40 or 33.5.")) from None
    if not share.is_finite() or share < 0 or share > 100:
        raise CellError(_("Write a percentage, such as 40 or 33.5."))
    return share


COLUMNS = [
    Column("operation", gettext_lazy("operation"), read_operation, required=True, example="move"),
    Column("code", gettext_lazy("organisation code"), code_value, required=True, text=True, example="HN-CG-HONGHA"),
    Column("new_parent", gettext_lazy("new parent"), code_value, text=True, example="HN-NGHIADO"),
    Column("new_name", gettext_lazy("new name")),
    Column("kind", gettext_lazy("kind"), read_kind),
    Column("locality", gettext_lazy("locality code"), code_value, text=True),
    Column("target", gettext_lazy("into or to"), code_value, text=True),
    Column("item", gettext_lazy("organisation or member moved"), code_value, text=True),
    Column("share", gettext_lazy("share of the targets (%)"), read_share),
    Column("effective_date", gettext_lazy("effective date"), date_value, required=True, example="01/07/2025"),
    Column("decision_number", gettext_lazy("decision number"), example="2410-QĐ/TU"),
    Column("decision_date", gettext_lazy("decision date"), date_value, example="28/06/2025"),
]
COLUMN_LABELS = {column.key: column.label for column in COLUMNS}

#: A service's field → the column of the plan that gave it.
FIELD_COLUMNS = {
    "code": "code",
    "parent": "new_parent",
    "name": "new_name",
    "kind": "kind",
    "locality": "locality",
    "into": "target",
    "destination": "target",
    "sources": "code",
    "children": "item",
    "members": "item",
    "shares": "share",
    "on": "effective_date",
    "dissolved_on": "effective_date",
    "established_on": "effective_date",
    "decision_number": "decision_number",
    "decision_date": "decision_date",
    "managing_committee": "target",
}

#: The same for the operations on localities, where the locality is the one in ``code``.
LOCALITY_FIELD_COLUMNS = {**FIELD_COLUMNS, "locality": "code", "new_parent": "new_parent"}


@dataclass
class PlanStep:
    """One operation of the plan (a split: all its rows) as the preview shows it."""

    numbers: list
    operation: str
    code: str
    values: list  # the rows' values by column key
    affects: list = field(default_factory=list)  # lines: what it changes
    errors: list = field(default_factory=list)  # (row number, RowError)

    @property
    def label(self):
        return f"{Operation.LABELS[self.operation]} {self.code}" if self.operation else self.code


@dataclass
class PlanResult:
    filename: str
    steps: list
    committed: bool = False
    dry_run: bool = False

    @property
    def has_errors(self):
        return any(step.errors for step in self.steps)

    def errors(self):
        """Every error as ``(row, column label, message)``, in row order."""
        return sorted(
            ((number, error.column, error.message) for step in self.steps for number, error in step.errors),
            key=lambda error: error[0],
        )

    def preview_lines(self):
        lines = []
        for step in self.steps:
            rows = ", ".join(str(number) for number in step.numbers)
            lines.append(_("row %(rows)s: %(operation)s") % {"rows": rows, "operation": step.label})
            lines.extend(f"    {line}" for line in step.affects)
            lines.extend(
                "    "
                + _("row %(row)s, column “%(column)s”: %(message)s")
                % {"row": number, "column": error.column, "message": error.message}
                for number, error in step.errors
            )
        return lines


def plan_reason(filename):
    return f"restructuring plan {filename}"


def template_rows():
    """The template's example rows: the Hồng Hà branch moving under Nghĩa Đô ward on 1 July 2025."""
    return [[str(column.example) if column.example != "" else None for column in COLUMNS]]


def read_plan(source):
    """The steps of a plan file (a split's rows grouped); raises :class:`SpreadsheetError`."""
    sheet = read_spreadsheet(source)
    positions = match_columns(sheet.headers, COLUMNS)
    headers = {key: sheet.headers[index] for key, index in positions.items()}
    read = cell_reader(COLUMNS, positions)
    steps, splits = [], {}
    for number, values in sheet.rows:
        cells, errors = read(values)
        operation = cells.get("operation", "")
        key = (cells.get("code"), cells.get("effective_date"))
        if operation == Operation.SPLIT and not errors and key in splits:
            step = splits[key]
            step.numbers.append(number)
            step.values.append(cells)
            continue
        step = PlanStep([number], operation, cells.get("code", ""), [cells])
        step.errors = [(number, RowError(str(headers.get(k, COLUMN_LABELS[k])), m)) for k, m in errors.items()]
        if operation == Operation.SPLIT and not errors:
            splits[key] = step
        steps.append(step)
    return steps, headers


def _column(headers, key):
    return str(headers.get(key) or COLUMN_LABELS.get(key, key))


def _add_error(step, headers, key, message, number=None):
    step.errors.append((number or step.numbers[0], RowError(_column(headers, key), str(message))))


def _organization(step, headers, code, key):
    """The organisation of ``code`` as it stands now (read afresh: earlier steps may have moved it)."""
    if not code:
        return None
    organization = Organization.objects.filter(code=code).first()
    if organization is None:
        _no_organization(step, headers, code, key)
    return organization


def _no_organization(step, headers, code, key):
    _add_error(step, headers, key, _("No organisation has the code %(code)s.") % {"code": code})


def _require(step, headers, cells, *keys):
    missing = [key for key in keys if cells.get(key) in (None, "")]
    for key in missing:
        _add_error(step, headers, key, _("This operation needs this column."))
    return not missing


def affected(organization, on):
    """Lines naming what an operation on ``organization`` affects."""
    return affected_many([(organization, on)])[0]


def affected_many(items):
    """The lines of :func:`affected` of each ``(organisation, date)`` of ``items``: five queries
    however many."""
    if not items:
        return []
    subtrees = Organization.objects.subtrees({organization.path for organization, _on in items})
    below = {organization.path: [] for organization, _on in items}  # each one's subtree, in path order
    fields = ("pk", "path", "code", "depth", "established_on", "dissolved_on")
    for row in subtrees.order_by("path").values_list(*fields):
        for end in range(Organization.steplen, len(row[1]) + 1, Organization.steplen):
            if row[1][:end] in below:
                below[row[1][:end]].append(row)
    members = dict(
        Member.objects.filter(organization__in=subtrees.order_by().values("pk"), status=MemberStatus.ACTIVE)
        .order_by()
        .values("organization")
        .annotate(count=Count("pk"))
        .values_list("organization", "count")
    )
    ids = {organization.pk for organization, _on in items}
    enterprises = dict(
        enterprise_model()
        .objects.filter(managing_committee__in=ids)
        .order_by()
        .values("managing_committee")
        .annotate(count=Count("pk"))
        .values_list("managing_committee", "count")
    )
    holders = {}
    for role in RoleAssignment.objects.filter(organization__in=ids).select_related("user"):
        holders.setdefault(role.organization_id, []).append(f"{role.user.username} ({role.get_role_display()})")
    affects = []
    for organization, on in items:
        rows = below[organization.path]
        active = [row for row in rows if row[4] <= on and (row[5] is None or row[5] > on)]
        children = [row[2] for row in active if row[3] == organization.depth + 1]
        lines = [
            _("organisations: %(count)s (directly below: %(codes)s)")
            % {
                "count": len(active),
                "codes": ", ".join(children[:20]) + (" …" if len(children) > 20 else "") or "—",
            },
            _("members: %(count)s") % {"count": sum(members.get(row[0], 0) for row in rows)},
            _("enterprises it manages: %(count)s") % {"count": enterprises.get(organization.pk, 0)},
        ]
        if organization.pk in holders:
            lines.append(_("role assignments: %(holders)s") % {"holders": ", ".join(holders[organization.pk])})
        affects.append(lines)
    return affects


def _apply(step, headers, acting_user):
    """Run one step through its service; its errors go to the step."""
    cells = step.values[0]
    on = cells.get("effective_date")
    decision = {"decision_number": cells.get("decision_number", ""), "decision_date": cells.get("decision_date")}
    operation = step.operation
    if operation == Operation.ESTABLISH:
        if not _require(step, headers, cells, "new_name", "kind", "locality"):
            return
        locality = locality_model().objects.filter(code=cells["locality"]).first()
        if locality is None:
            _add_error(step, headers, "locality", _("No locality has the code %(code)s.") % {"code": cells["locality"]})
        parent = _organization(step, headers, cells.get("new_parent"), "new_parent")
        if step.errors:
            return
        services.establish_organization(
            acting_user,
            code=cells["code"],
            name=cells["new_name"],
            kind=cells["kind"],
            locality=locality,
            established_on=on,
            parent=parent,
            **decision,
        )
        step.affects.append(_("new organisation under %(parent)s") % {"parent": parent.code if parent else "—"})
        return
    if operation == Operation.PASS:
        _apply_pass(step, headers, acting_user, cells, on, decision)
        return
    if operation in Operation.LOCALITY:
        _apply_locality(step, headers, acting_user, cells, on, decision)
        return
    organization = _organization(step, headers, step.code, "code")
    if organization is None:
        return
    step.affects.extend(affected(organization, on))
    if operation == Operation.RENAME:
        if _require(step, headers, cells, "new_name"):
            services.rename_organization(acting_user, organization, name=cells["new_name"], on=on, **decision)
    elif operation == Operation.MERGE:
        into = _require(step, headers, cells, "target") and _organization(step, headers, cells["target"], "target")
        if into:
            step.affects.append(_("roles go to %(org)s") % {"org": into.code})
            services.merge_organizations(acting_user, [organization], into, on=on, **decision)
    elif operation == Operation.DISSOLVE:
        destination = _organization(step, headers, cells.get("target"), "target")
        if not step.errors:
            services.dissolve_organization(acting_user, organization, on=on, destination=destination, **decision)
    elif operation == Operation.SPLIT:
        _apply_split(step, headers, acting_user, organization, on, decision)


def _apply_pass(step, headers, acting_user, cells, on, decision):
    """An enterprise passes to another managing committee from the effective date (its mass
    organisations count for the committee of each date)."""
    enterprise = enterprise_model().objects.filter(tax_code=step.code).first()
    if enterprise is None:
        _add_error(step, headers, "code", _("No enterprise has the tax code %(code)s.") % {"code": step.code})
    committee = _require(step, headers, cells, "target") and _organization(step, headers, cells["target"], "target")
    if step.errors:
        return
    step.affects.append(
        _("%(enterprise)s: managed by %(old)s, then by %(new)s")
        % {"enterprise": enterprise.name, "old": enterprise.managing_committee.code, "new": committee.code}
    )
    change_managing_committees(acting_user, [(enterprise, committee)], on=on, **decision)


def _locality(step, headers, code, key):
    """The locality of ``code`` as it stands now (earlier steps may have merged or moved it)."""
    if not code:
        return None
    locality = Locality.objects.filter(code=code).first()
    if locality is None:
        _add_error(step, headers, key, _("No locality has the code %(code)s.") % {"code": code})
    return locality


def _apply_locality(step, headers, acting_user, cells, on, decision):
    """The operations on localities (a province or commune merged, a district abolished, …), each
    through its service of ``enterprises.services``."""
    operation = step.operation
    if operation == Operation.LOCALITY_ESTABLISH:
        if not _require(step, headers, cells, "new_name", "kind"):
            return
        if cells["kind"] not in LocalityKind.values:
            _add_error(
                step, headers, "kind", _("A locality is a province, a district, a ward, a commune or a special zone.")
            )
        parent = _locality(step, headers, cells.get("new_parent"), "new_parent")
        if step.errors:
            return
        locality_services.create_locality(
            acting_user, code=step.code, name=cells["new_name"], kind=cells["kind"], parent=parent, on=on, **decision
        )
        step.affects.append(_("new locality under %(parent)s") % {"parent": parent.code if parent else "—"})
        return
    locality = _locality(step, headers, step.code, "code")
    if locality is None:
        return
    step.affects.append(
        _("enterprises located there: %(count)s") % {"count": Enterprise.objects.filter(locality=locality).count()}
    )
    if operation == Operation.LOCALITY_RENAME:
        if _require(step, headers, cells, "new_name"):
            locality_services.rename_locality(acting_user, locality, name=cells["new_name"], on=on, **decision)
    elif operation == Operation.LOCALITY_MOVE:
        parent = _require(step, headers, cells, "new_parent") and _locality(
            step, headers, cells["new_parent"], "new_parent"
        )
        if parent:
            locality_services.move_locality(acting_user, locality, parent, on=on, **decision)
    elif operation == Operation.LOCALITY_MERGE:
        into = _require(step, headers, cells, "target") and _locality(step, headers, cells["target"], "target")
        if into:
            locality_services.merge_localities(acting_user, [locality], into, on=on, **decision)
    elif operation == Operation.LOCALITY_ABOLISH:
        locality_services.abolish_locality(acting_user, locality, on=on, **decision)


def _apply_split(step, headers, acting_user, organization, on, decision):
    children, members, shares = {}, {}, {}
    for number, cells in zip(step.numbers, step.values, strict=True):
        if not _require(step, headers, cells, "target", "item"):
            continue
        destination = _organization(step, headers, cells["target"], "target")
        if destination is None:
            continue
        if cells.get("share") is not None:
            shares[destination] = cells["share"]
        item = cells["item"]
        child = Organization.objects.filter(code=item).first()
        member = None if child else Member.objects.filter(citizen_id=item).first()
        if child is not None:
            children[child] = destination
        elif member is not None:
            members[member] = destination
        else:
            _add_error(step, headers, "item", _("No organisation or member is %(item)s.") % {"item": item}, number)
    if step.errors:
        return
    plan = services.plan_split(organization, on=on, children=children, members=members, shares=shares)
    for kind, obj, destination in plan.rows:
        label = obj.code if kind == "organisation" else obj.full_name
        step.affects.append(f"{label} → {destination.code}")
    services.split_organization(
        acting_user, organization, on=on, children=children, members=members, shares=shares, **decision
    )


def _apply_moves(steps, headers, acting_user):
    """A run of move rows, as if one by one, in a few queries: the rows that move nothing inside,
    above or under what an earlier one moves (``services.independent_moves``: all of them, as a
    rule) are read, previewed and moved together; any other waits for a later round, against the
    tree the earlier ones left."""
    window = len(steps)
    while steps:
        taken = steps[:window]
        codes = {code for step in taken for code in (step.code, step.values[0].get("new_parent")) if code}
        found = Organization.objects.in_bulk(codes, field_name="code")
        pairs = [(found.get(step.code), found.get(step.values[0].get("new_parent") or "")) for step in taken]
        count = max(1, services.independent_moves(pairs))
        _apply_move_round(taken[:count], pairs[:count], headers, acting_user)
        steps = steps[count:]
        window = len(steps) if count == window else max(16, 2 * count)  # as services.move_organizations


def _apply_move_round(steps, pairs, headers, acting_user):
    """Move rows that can go together (``pairs``: their organisations and new parents, None when
    unknown), each with the errors and the preview that it would have alone."""
    found = [
        (organization, step.values[0]["effective_date"]) for step, (organization, _p) in zip(steps, pairs, strict=True)
    ]
    previews = iter(affected_many([item for item in found if item[0] is not None]))
    moves, movers = [], []
    for step, (organization, parent) in zip(steps, pairs, strict=True):
        cells = step.values[0]
        if organization is None:
            _no_organization(step, headers, step.code, "code")
            continue
        step.affects.extend(next(previews))
        if not _require(step, headers, cells, "new_parent"):
            continue
        if parent is None:
            _no_organization(step, headers, cells["new_parent"], "new_parent")
            continue
        decision = {"decision_number": cells.get("decision_number", ""), "decision_date": cells.get("decision_date")}
        moves.append(services.Move(organization, parent, on=cells.get("effective_date"), **decision))
        movers.append(step)
    try:
        refusals = services.move_organizations(acting_user, moves, skip_refused=True)
    except PermissionDenied as exc:
        for step in movers:
            _add_error(step, headers, "code", str(exc))
        return
    for index, exc in refusals.items():
        for name, messages in _errors_of(exc).items():
            for message in messages:
                _add_error(movers[index], headers, FIELD_COLUMNS.get(name, "code"), message)


def _errors_of(exc):
    if hasattr(exc, "error_dict"):
        return exc.message_dict
    return {"code": exc.messages}


def _name_the_plan(reason, acting_user, since):
    """The history rows the plan wrote name it (the services named each change; the plan comes
    first): one statement per model."""
    named = Case(
        When(Q(history_change_reason__isnull=True) | Q(history_change_reason=""), then=Value(reason)),
        default=Concat(Value(f"{reason}: "), "history_change_reason"),
    )
    for model in (
        Organization,
        OrganizationVersion,
        Member,
        MembershipPeriod,
        RoleAssignment,
        Enterprise,
        ManagingCommitteePeriod,
        EnterpriseLocalityPeriod,
        Locality,
        LocalityVersion,
    ):
        rows = model.history.model.objects.filter(history_date__gte=since)
        if acting_user is not None and acting_user.pk:
            rows = rows.filter(history_user=acting_user)
        rows.update(history_change_reason=Substr(named, 1, 100))


def run_plan(source, *, acting_user, dry_run=False, filename=None):
    """Read, check and (unless ``dry_run`` or any error) write a restructuring plan."""
    if not scope_for(acting_user).administers:
        raise PermissionDenied(_("Only administrators change the organisation tree."))
    filename = Path(str(filename or getattr(source, "name", "") or "plan")).name
    steps, headers = read_plan(source)
    since = timezone.now()
    # A preview is rolled back: the counts its events would keep are not kept (core.events).
    with transaction.atomic(), events.previewing() if dry_run else nullcontext():
        moves = []  # a run of move rows, applied together before the next other operation
        for step in steps:
            if step.errors:
                continue
            if step.operation == Operation.MOVE:
                moves.append(step)
                continue
            _apply_moves(moves, headers, acting_user)
            moves = []
            savepoint = transaction.savepoint()
            try:
                _apply(step, headers, acting_user)
            except ValidationError as exc:
                columns = LOCALITY_FIELD_COLUMNS if step.operation in Operation.LOCALITY else FIELD_COLUMNS
                for name, messages in _errors_of(exc).items():
                    for message in messages:
                        _add_error(step, headers, columns.get(name, "code"), message)
            except PermissionDenied as exc:
                _add_error(step, headers, "code", str(exc))
            if step.errors:
                transaction.savepoint_rollback(savepoint)
            else:
                transaction.savepoint_commit(savepoint)
        _apply_moves(moves, headers, acting_user)
        result = PlanResult(filename, steps, dry_run=dry_run)
        if dry_run or result.has_errors:
            transaction.set_rollback(True)
        else:
            _name_the_plan(plan_reason(filename), acting_user, since)
            result.committed = True
    return result
