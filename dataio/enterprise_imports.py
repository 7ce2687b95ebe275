"""Importing enterprises and the membership returns of mass organisations from a spreadsheet.

Same flow as ``dataio.imports.import_members``: read the file, read every cell, resolve codes
in the user's scope, let the bulk service (:mod:`dataio.bulk`) apply the rules of
``create_enterprise`` / ``update_enterprise`` / ``record_membership_return`` to each row, and
write everything in one transaction only when no row has an error.
"""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branches.models import Organization
from core.spreadsheets import choice_value, date_value, integer_value, read_spreadsheet, text_value
from dataio import bulk
from dataio.imports import (
    Column,
    ImportResult,
    _filename,
    build_rows,
    cell_reader,
    change_reason,
    file_headers,
    match_columns,
    read_tax_code,
    resolve,
)
from enterprises.choices import MassOrganizationKind, OperatingStatus, Ownership, SizeClass
from enterprises.models import Enterprise, Locality, MassOrganization, MembershipReturn


def read_ownership(value):
    return choice_value(value, Ownership)


def read_size_class(value):
    return choice_value(value, SizeClass)


def read_operating_status(value):
    return choice_value(value, OperatingStatus) or None


def read_mass_kind(value):
    return choice_value(
        value,
        MassOrganizationKind,
        {
            "công đoàn": MassOrganizationKind.TRADE_UNION,
            "công đoàn cơ sở": MassOrganizationKind.TRADE_UNION,
            "đoàn thanh niên": MassOrganizationKind.YOUTH_UNION,
            "hội phụ nữ": MassOrganizationKind.WOMENS_UNION,
            "hội cựu chiến binh": MassOrganizationKind.VETERANS_ASSOCIATION,
        },
    )


def read_code(value):
    return text_value(value)


ENTERPRISE_COLUMNS = (
    Column("tax_code", gettext_lazy("tax code"), read_tax_code, required=True, text=True, example="0100109106"),
    Column("name", gettext_lazy("name"), required=True, example="Công ty TNHH Hồng Hà"),
    Column("ownership", gettext_lazy("ownership"), read_ownership, required=True, example=Ownership.PRIVATE.label),
    Column("locality", gettext_lazy("locality code"), read_code, required=True, text=True, example="00001"),
    Column("industrial_park", gettext_lazy("industrial park"), example=""),
    Column("address", gettext_lazy("address"), example="Số 1 Trần Duy Hưng"),
    Column("size_class", gettext_lazy("size class"), read_size_class, required=True, example=SizeClass.SMALL.label),
    Column("employees", gettext_lazy("employees"), integer_value, example=50),
    Column(
        "operating_status",
        gettext_lazy("operating status"),
        read_operating_status,
        example=OperatingStatus.OPERATING.label,
    ),
    Column(
        "managing_committee",
        gettext_lazy("managing committee code"),
        read_code,
        text=True,
        example="",
        help=gettext_lazy("Empty: the committee of the organisation you import into."),
    ),
)
ENTERPRISE_IGNORED = (gettext_lazy("locality"), gettext_lazy("managing committee"))

RETURN_COLUMNS = (
    Column("tax_code", gettext_lazy("enterprise tax code"), read_tax_code, required=True, text=True, example=""),
    Column("kind", gettext_lazy("kind"), read_mass_kind, required=True, example=MassOrganizationKind.TRADE_UNION.label),
    Column("name", gettext_lazy("mass organisation name"), example=""),
    Column("date", gettext_lazy("date"), date_value, required=True, example="31/12/2024"),
    Column("members_total", gettext_lazy("members in total"), integer_value, required=True, example=120),
    Column(
        "members_admitted",
        gettext_lazy("members admitted since the previous return"),
        integer_value,
        required=True,
        example=15,
    ),
)


def _require_organization(acting_user, organization):
    if not Organization.objects.editable_by(acting_user).filter(pk=organization.pk).exists():
        raise PermissionDenied(
            _("You may not change the records of %(organization)s.") % {"organization": organization}
        )


def import_enterprises(source, *, organization, acting_user, dry_run=False, filename=None, progress=None):
    """Import enterprises (matched by tax code: an existing one is updated) for ``organization``;
    ``progress(rows checked, rows in total)`` is called as the rows are checked."""
    filename = _filename(source, filename)
    _require_organization(acting_user, organization)
    sheet = read_spreadsheet(source)
    positions = match_columns(sheet.headers, ENTERPRISE_COLUMNS, ignored=ENTERPRISE_IGNORED)
    read = cell_reader(ENTERPRISE_COLUMNS, positions)
    parsed = [read(values) for _number, values in sheet.rows]
    given = frozenset(positions)
    localities = resolve(Locality.objects.all(), "code", {values.get("locality") for values, _e in parsed})
    committees = resolve(
        Organization.objects.assignable_managing_committees(acting_user),
        "code",
        {values.get("managing_committee") for values, _e in parsed},
    )
    items = []
    for (number, _raw), (values, errors) in zip(sheet.rows, parsed, strict=True):
        item = bulk.Item(values=values, given=given, reference=number)
        for key, message in errors.items():
            item.error(key, message)
        code = values.get("locality")
        if code:
            values["locality"] = localities.get(code)
            if values["locality"] is None:
                item.error("locality", _("No locality with the code %(code)s.") % {"code": code})
        code = values.get("managing_committee")
        if code:
            values["managing_committee"] = committees.get(code)
            if values["managing_committee"] is None:
                item.error(
                    "managing_committee", _("No committee with the code %(code)s in your scope.") % {"code": code}
                )
        else:
            values["managing_committee"] = None
        items.append(item)
    bulk.import_enterprises(
        acting_user,
        organization=organization,
        items=items,
        reason=change_reason(filename),
        dry_run=dry_run,
        progress=progress,
    )
    rows = build_rows(
        [number for number, _values in sheet.rows],
        items,
        ENTERPRISE_COLUMNS,
        Enterprise,
        lambda item: item.values.get("name") or "",
        file_headers(sheet, positions),
    )
    result = ImportResult("enterprises", filename, rows, dry_run=dry_run)
    result.committed = not dry_run and not result.has_errors
    return result


def _find_mass_organization(candidates, kind, name):
    """The mass organisation of one kind in an enterprise, by name when there are several."""
    found = [candidate for candidate in candidates if candidate.kind == kind]
    if name and len(found) > 1:
        found = [candidate for candidate in found if candidate.name.casefold() == name.casefold()] or found
    if len(found) > 1:
        active = [candidate for candidate in found if candidate.dissolved_on is None]
        found = active if len(active) == 1 else found
    return found


def import_returns(source, *, organization, acting_user, dry_run=False, filename=None, progress=None):
    """Import dated membership returns of the mass organisations of ``organization``'s enterprises;
    ``progress(rows checked, rows in total)`` is called as the rows are checked."""
    filename = _filename(source, filename)
    _require_organization(acting_user, organization)
    sheet = read_spreadsheet(source)
    positions = match_columns(sheet.headers, RETURN_COLUMNS)
    read = cell_reader(RETURN_COLUMNS, positions)
    parsed = [read(values) for _number, values in sheet.rows]
    tax_codes = sorted({values.get("tax_code") for values, _e in parsed} - {"", None})
    by_enterprise = {}
    for start in range(0, len(tax_codes), bulk.LOOKUP_CHUNK):
        for mass_organization in (
            MassOrganization.objects.visible_to(acting_user)
            .select_related("enterprise")
            .filter(enterprise__tax_code__in=tax_codes[start : start + bulk.LOOKUP_CHUNK])
        ):
            by_enterprise.setdefault(mass_organization.enterprise.tax_code, []).append(mass_organization)
    items = []
    for (number, _raw), (values, errors) in zip(sheet.rows, parsed, strict=True):
        item = bulk.Item(values=values, given=frozenset(positions), reference=number)
        for key, message in errors.items():
            item.error(key, message)
        if values.get("tax_code") and values.get("kind"):
            found = _find_mass_organization(
                by_enterprise.get(values["tax_code"], []), values["kind"], values.get("name")
            )
            if len(found) == 1:
                values["mass_organization"] = found[0]
            elif not found:
                item.error(
                    "kind",
                    _("The enterprise %(code)s has no %(kind)s in your scope.")
                    % {"code": values["tax_code"], "kind": MassOrganizationKind(values["kind"]).label},
                )
            else:
                item.error("name", _("The enterprise has several of these: give the name of the one meant."))
        items.append(item)
    bulk.import_returns(
        acting_user,
        organization=organization,
        items=items,
        reason=change_reason(filename),
        dry_run=dry_run,
        progress=progress,
    )
    rows = build_rows(
        [number for number, _values in sheet.rows],
        items,
        RETURN_COLUMNS,
        MembershipReturn,
        lambda item: str(item.values.get("mass_organization") or item.values.get("tax_code") or ""),
        file_headers(sheet, positions),
    )
    result = ImportResult("returns", filename, rows, dry_run=dry_run)
    result.committed = not dry_run and not result.has_errors
    return result
