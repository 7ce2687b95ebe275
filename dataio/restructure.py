"""Restructuring plans: a spreadsheet of dated operations on the organisation tree, previewed and
committed all or nothing.

One operation per row (``establish``, ``move``, ``rename``, ``merge``, ``split``, ``dissolve``,
and ``pass``: an enterprise, named by its tax code in ``code``, passes to the committee in
``target``), each with its effective date and decision. A split takes one row per child organisation (its code)
or member (citizen ID) in ``item``, each naming its destination in ``target``; its ``share`` (the
percentage of the targets the destination takes) is given once per destination.

:func:`run_plan` applies the operations in order through the services of ``branches.services``
inside one transaction, each in a savepoint: a refused operation is rolled back and its errors
named by row and column, the rest are still checked. The preview lists every operation with the
organisations, members, enterprises and role assignments it affects. Nothing is kept unless every
row passes and ``dry_run`` is off; the history of what was written names the plan and the user.
"""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
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
from core.scoping import scope_for
from core.spreadsheets import CellError, choice_value, code_value, date_value, read_spreadsheet
from dataio.imports import Column, RowError, cell_reader, match_columns
from enterprises.services import change_managing_committees


class Operation:
    ESTABLISH = "establish"
    MOVE = "move"
    RENAME = "rename"
    MERGE = "merge"
    SPLIT = "split"
    DISSOLVE = "dissolve"
    PASS = "pass"
    LABELS = {
        ESTABLISH: gettext_lazy("establish"),
        MOVE: gettext_lazy("move"),
        RENAME: gettext_lazy("rename"),
        MERGE: gettext_lazy("merge"),
        SPLIT: gettext_lazy("split"),
        DISSOLVE: gettext_lazy("dissolve"),
        PASS: gettext_lazy("pass an enterprise"),
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
    return choice_value(value, OrganizationKind)


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
        _add_error(step, headers, key, _("No organisation has the code %(code)s.") % {"code": code})
    return organization


def _require(step, headers, cells, *keys):
    missing = [key for key in keys if cells.get(key) in (None, "")]
    for key in missing:
        _add_error(step, headers, key, _("This operation needs this column."))
    return not missing


def affected(organization, on):
    """Lines naming what an operation on ``organization`` affects."""
    subtree = Organization.objects.subtree(organization).active_on(on)
    members = Member.objects.filter(organization__path__startswith=organization.path, status=MemberStatus.ACTIVE)
    enterprises = enterprise_model().objects.filter(managing_committee=organization)
    roles = RoleAssignment.objects.filter(organization=organization).select_related("user")
    children = list(Organization.objects.children_of(organization).active_on(on).values_list("code", flat=True))
    lines = [
        _("organisations: %(count)s (directly below: %(codes)s)")
        % {"count": subtree.count(), "codes": ", ".join(children[:20]) + (" …" if len(children) > 20 else "") or "—"},
        _("members: %(count)s") % {"count": members.count()},
        _("enterprises it manages: %(count)s") % {"count": enterprises.count()},
    ]
    holders = [f"{role.user.username} ({role.get_role_display()})" for role in roles]
    if holders:
        lines.append(_("role assignments: %(holders)s") % {"holders": ", ".join(holders)})
    return lines


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
    organization = _organization(step, headers, step.code, "code")
    if organization is None:
        return
    step.affects.extend(affected(organization, on))
    if operation == Operation.MOVE:
        parent = _require(step, headers, cells, "new_parent") and _organization(
            step, headers, cells["new_parent"], "new_parent"
        )
        if parent:
            services.move_organization(acting_user, organization, parent, on=on, **decision)
    elif operation == Operation.RENAME:
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


def _errors_of(exc):
    if hasattr(exc, "error_dict"):
        return exc.message_dict
    return {"code": exc.messages}


def _name_the_plan(reason, acting_user, since):
    """The history rows the plan wrote name it (the services named each change; the plan comes first)."""
    for model in (Organization, OrganizationVersion, Member, MembershipPeriod, RoleAssignment):
        rows = model.history.model.objects.filter(history_date__gte=since)
        if acting_user is not None and acting_user.pk:
            rows = rows.filter(history_user=acting_user)
        for row in rows.only("history_id", "history_change_reason"):
            before = row.history_change_reason
            row.history_change_reason = (f"{reason}: {before}" if before else reason)[:100]
            row.save(update_fields=["history_change_reason"])


def run_plan(source, *, acting_user, dry_run=False, filename=None):
    """Read, check and (unless ``dry_run`` or any error) write a restructuring plan."""
    if not scope_for(acting_user).administers:
        raise PermissionDenied(_("Only administrators change the organisation tree."))
    filename = Path(str(filename or getattr(source, "name", "") or "plan")).name
    steps, headers = read_plan(source)
    since = timezone.now()
    with transaction.atomic():
        for step in steps:
            if step.errors:
                continue
            savepoint = transaction.savepoint()
            try:
                _apply(step, headers, acting_user)
            except ValidationError as exc:
                for name, messages in _errors_of(exc).items():
                    for message in messages:
                        _add_error(step, headers, FIELD_COLUMNS.get(name, "code"), message)
            except PermissionDenied as exc:
                _add_error(step, headers, "code", str(exc))
            if step.errors:
                transaction.savepoint_rollback(savepoint)
            else:
                transaction.savepoint_commit(savepoint)
        result = PlanResult(filename, steps, dry_run=dry_run)
        if dry_run or result.has_errors:
            transaction.set_rollback(True)
        else:
            _name_the_plan(plan_reason(filename), acting_user, since)
            result.committed = True
    return result
