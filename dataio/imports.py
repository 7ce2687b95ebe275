"""Importing members from a spreadsheet: read → check every row → preview → commit.

:func:`import_members` reads an .xlsx or .csv file, reads every cell (dates dd/mm/yyyy, ISO or
real date cells; Vietnamese letters NFC-normalised), resolves codes within the user's scope,
then hands the rows to the bulk service (:mod:`dataio.bulk`), which applies the rules of
``admit_member`` / ``update_member`` to each. The result lists every row as create, update,
unchanged or error, each error with its row, column and message. Unless ``dry_run``, and only
when no row has an error, everything is written in one transaction as one change set
("import <file name>").

The generic pieces (columns, header matching, the result) are shared with
``dataio.enterprise_imports``.
"""

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branches.choices import Ethnicity, PoliticalTheory, Position, ProfessionalQualification, Religion, Sex
from branches.models import Organization, validate_general_education
from core.spreadsheets import (
    CellError,
    OutColumn,
    SpreadsheetError,
    boolean_value,
    choice_value,
    code_value,
    date_value,
    labels_in_all_languages,
    normalize_header,
    read_spreadsheet,
    text_value,
)
from core.timing import PhaseTimer
from core.validators import normalize_tax_code
from dataio import bulk
from dataio.bulk import filter_in
from enterprises.models import Enterprise

# Columns ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of an import file: its key, header (translated), how a cell is read, an example."""

    key: str
    label: object
    read: object = text_value
    required: bool = False
    blank: bool = False  # a required column whose cells may stay empty (the rules say when they may not)
    text: bool = False
    example: object = ""
    help: object = ""

    @property
    def header(self):
        return f"{self.label}*" if self.required else str(self.label)

    def aliases(self):
        return {normalize_header(self.key)} | labels_in_all_languages(self.label)


def match_columns(headers, columns, ignored=()):
    """Map each column key to its position in ``headers`` (matched by key or translated label).

    Raises :class:`SpreadsheetError` naming unknown, repeated and missing columns.
    ``ignored``: further headers (labels) tolerated and skipped, e.g. informative export columns.
    """
    positions, unknown, repeated = {}, [], []
    ignored_aliases = set()
    for label in ignored:
        ignored_aliases |= labels_in_all_languages(label)
    lookup = {}
    for column in columns:
        for alias in column.aliases():
            lookup[alias] = column
    for index, header in enumerate(headers):
        wanted = normalize_header(header)
        if not wanted or wanted in ignored_aliases:
            continue
        column = lookup.get(wanted)
        if column is None:
            unknown.append(header)
        elif column.key in positions:
            repeated.append(header)
        else:
            positions[column.key] = index
    missing = [column.header for column in columns if column.required and column.key not in positions]
    problems = []
    if unknown:
        problems.append(_("unknown column(s): %(columns)s") % {"columns": ", ".join(f"“{h}”" for h in unknown)})
    if repeated:
        problems.append(_("repeated column(s): %(columns)s") % {"columns": ", ".join(f"“{h}”" for h in repeated)})
    if missing:
        problems.append(_("missing column(s): %(columns)s") % {"columns": ", ".join(f"“{h}”" for h in missing)})
    if problems:
        expected = ", ".join(column.header for column in columns)
        raise SpreadsheetError(
            _("The columns do not match the template (%(problems)s). Expected columns: %(expected)s.")
            % {"problems": "; ".join(problems), "expected": expected},
            "columns",
        )
    return positions


def _read_empty(read_cell):
    """What ``read_cell`` makes of an empty cell, ``""`` and missing (``None``), each as
    ``(value, error message or None)``: a column's reader is a function of the cell alone, so an
    empty cell is read once per file, however many rows leave it empty."""
    made = []
    for raw in ("", None):
        try:
            made.append((read_cell(raw), None))
        except CellError as exc:
            made.append((None, str(exc)))
    return tuple(made)


def cell_reader(columns, positions):
    """A function reading one row's cells: ``(values by key, errors by key)``; absent columns are
    left out. Which columns to read, where and how, is worked out once per file, and what the
    cells past a row's end give (they are empty: see :func:`_read_empty`) once per row width."""
    plan = [
        (
            column.key,
            positions[column.key],
            column.read,
            column.required and not column.blank,
            _read_empty(column.read),
        )
        for column in columns
        if column.key in positions
    ]
    order = [key for key, *_rest in plan]
    by_width = {}

    def past_the_end(width):
        """``(values, errors, the columns within the width)``: values holds every key of a column
        read without error, in the columns' order (those within the width hold None until read)."""
        values, errors, within = {}, {}, []
        for key, index, read_cell, required, empty in plan:
            if index < width:
                values[key] = None
                within.append((key, index, read_cell, required, empty))
                continue
            value, message = empty[True]
            if message is None and required and (value is None or value == ""):
                message = _("This column must be filled in.")
            if message is None:
                values[key] = value
            else:
                errors[key] = message
        return values, errors, within

    def read(values):
        width = len(values)
        known = by_width.get(width)
        if known is None:
            known = by_width[width] = past_the_end(width)
        template, tail_errors, within = known
        out, errors = template.copy(), tail_errors.copy()
        for key, index, read_cell, required, empty in within:
            raw = values[index]
            if raw is None or raw == "":
                value, message = empty[raw is None]
                if message is not None:
                    del out[key]
                    errors[key] = message
                    continue
            else:
                try:
                    value = read_cell(raw)
                except CellError as exc:
                    del out[key]
                    errors[key] = str(exc)
                    continue
            if required and (value is None or value == ""):
                del out[key]
                errors[key] = _("This column must be filled in.")
                continue
            out[key] = value
        if tail_errors and len(errors) > len(tail_errors):  # both kinds: in the columns' order
            errors = {key: errors[key] for key in order if key in errors}
        return out, errors

    return read


# The result -------------------------------------------------------------------------------


@dataclass
class RowError:
    column: str
    message: str


@dataclass
class ImportRow:
    """One row of the file as the preview shows it."""

    number: int
    action: str
    label: str = ""
    errors: list = field(default_factory=list)
    changes: list = field(default_factory=list)

    def error_text(self):
        return "; ".join(f"{error.column}: {error.message}" for error in self.errors)


@dataclass
class ImportResult:
    """The preview of an import (and whether it was written)."""

    kind: str
    filename: str
    rows: list
    committed: bool = False
    dry_run: bool = False
    timer: PhaseTimer = None

    @property
    def has_errors(self):
        return any(row.action == bulk.ERROR for row in self.rows)

    @property
    def counts(self):
        counted = Counter(row.action for row in self.rows)
        return {action: counted.get(action, 0) for action in bulk.ACTIONS}

    def preview_lines(self):
        """One line per row: row number, action, and each error with its column."""
        lines = []
        for row in self.rows:
            line = _("row %(number)s: %(action)s") % {"number": row.number, "action": action_label(row.action)}
            if row.label:
                line += f" — {row.label}"
            if row.errors:
                line += " — " + row.error_text()
            elif row.changes:
                line += " — " + "; ".join(f"{name}: {before} → {after}" for name, before, after in row.changes)
            lines.append(line)
        return lines


ACTION_LABELS = {
    bulk.CREATE: gettext_lazy("create"),
    bulk.UPDATE: gettext_lazy("update"),
    bulk.UNCHANGED: gettext_lazy("unchanged"),
    bulk.ERROR: gettext_lazy("error"),
}


def action_label(action):
    return str(ACTION_LABELS.get(action, action))


def _display(value):
    if value is None or value == "":
        return "—"
    if hasattr(value, "strftime"):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def file_headers(sheet, positions):
    """Column key → the header as written in the file (errors name the column the user sees)."""
    return {key: sheet.headers[index] for key, index in positions.items()}


def build_rows(numbers, items, columns, model, label_of, file_headers=None):
    """Turn bulk items into preview rows: errors named by column header, changes by field label."""
    headers = {column.key: str(column.label) for column in columns}
    headers.update(file_headers or {})
    rows = []
    for number, item in zip(numbers, items, strict=True):
        errors = []
        for name, messages in item.errors.items():
            column = headers.get(name) or _field_label(model, name)
            for message in messages:
                errors.append(RowError(str(column), str(message)))
        changes = [
            (_field_label(model, name), _display(before), _display(after))
            for name, (before, after) in item.changes.items()
        ]
        rows.append(ImportRow(number, item.action, label_of(item), errors, changes))
    return rows


def _field_label(model, name):
    try:
        return str(model._meta.get_field(name).verbose_name)
    except Exception:
        return name


def change_reason(filename):
    return f"import {filename}"


def _filename(source, filename):
    if filename:
        return Path(str(filename)).name
    if isinstance(source, str | Path):
        return Path(source).name
    return Path(getattr(source, "name", "") or "upload").name


def resolve(queryset, field_name, wanted, chunk=bulk.LOOKUP_CHUNK):
    """``{value: object}`` for the values of ``field_name`` found in ``queryset`` (chunked ``IN``)."""
    found = {}
    for subset in bulk.filter_in(queryset, field_name, wanted - {"", None}):
        for obj in subset:
            found[getattr(obj, field_name)] = obj
    return found


def read_tax_code(value):
    text = code_value(value, width=10)
    return (normalize_tax_code(text) or text) if text else ""


def read_citizen_id(value):
    return code_value(value, width=12)


# Members ----------------------------------------------------------------------------------

SEX_ALIASES = {"nam": Sex.MALE, "nữ": Sex.FEMALE, "nu": Sex.FEMALE, "m": Sex.MALE, "f": Sex.FEMALE}
POSITION_ALIASES = {
    "chủ doanh nghiệp": Position.OWNER,
    "quản lý": Position.MANAGER,
    "kỹ thuật": Position.TECHNICAL,
    "công nhân": Position.WORKER,
    "người lao động": Position.WORKER,
}


def read_sex(value):
    return choice_value(value, Sex, SEX_ALIASES)


def read_position(value):
    return choice_value(value, Position, POSITION_ALIASES)


def read_ethnicity(value):
    # The official list's code (01–54) or name, or "foreign origin".
    text = text_value(value)
    if text.isdigit() and len(text) == 1:
        text = f"0{text}"
    return choice_value(text, Ethnicity, ETHNICITY_ALIASES)


ETHNICITY_ALIASES = {"nước ngoài": "foreign", "người nước ngoài": "foreign", "h'mông": "08", "mông": "08"}


def read_religion(value):
    return choice_value(value, Religion, {"không": Religion.NONE, "không có": Religion.NONE})


def read_general_education(value):
    text = text_value(value).replace(" ", "")
    if text and not validate_general_education.regex.search(text):
        raise CellError(str(validate_general_education.message))
    return text


def read_qualification(value):
    return choice_value(
        value, ProfessionalQualification, {"không": "none", "cao đẳng": "college", "đại học": "university"}
    )


def read_political_theory(value):
    return choice_value(
        value,
        PoliticalTheory,
        {
            "không": "none",
            "sơ cấp": "elementary",
            "trung cấp": "intermediate",
            "cao cấp": "advanced",
            "cử nhân": "advanced",
        },
    )


def optional_boolean(value):
    """Yes or no like :func:`boolean_value`; an empty cell is "not recorded" (None)."""
    if value is None or text_value(value) == "":
        return None
    return boolean_value(value)


MEMBER_COLUMNS = (
    Column("citizen_id", gettext_lazy("citizen ID"), read_citizen_id, required=True, text=True, example="001190000001"),
    Column("full_name", gettext_lazy("full name"), required=True, example="Nguyễn Thị Hồng Nhung"),
    Column("sex", gettext_lazy("sex"), read_sex, required=True, example=Sex.FEMALE.label),
    Column("date_of_birth", gettext_lazy("date of birth"), date_value, required=True, example="17/05/1990"),
    Column("party_card_number", gettext_lazy("Party card number"), text=True, example="PC00012345"),
    Column(
        "organization",
        gettext_lazy("organisation code"),
        text=True,
        example="",
        help=gettext_lazy("Empty: the organisation you import into."),
    ),
    Column(
        "admitted_on",
        gettext_lazy("admitted on"),
        date_value,
        required=True,
        blank=True,
        example="03/02/2024",
        help=gettext_lazy("Needed for a new member; an existing member's date is not changed by an import."),
    ),
    Column("dossier_reviewed_on", gettext_lazy("dossier reviewed on"), date_value, example=""),
    Column("over_age_approved", gettext_lazy("admission over 60 approved"), boolean_value, example=""),
    Column("over_age_approval_reference", gettext_lazy("reference of the approval over 60"), text=True, example=""),
    Column("admission_decision_number", gettext_lazy("number of the admission decision"), text=True, example=""),
    Column("admission_decided_by", gettext_lazy("committee that decided the admission"), text=True, example=""),
    Column("ceremony_on", gettext_lazy("admission ceremony on"), date_value, example=""),
    Column("official_on", gettext_lazy("official on"), date_value, example=""),
    Column("enterprise", gettext_lazy("workplace enterprise tax code"), read_tax_code, text=True, example=""),
    Column("position", gettext_lazy("position"), read_position, example=Position.WORKER.label),
    Column("is_business_owner", gettext_lazy("business owner"), boolean_value, example=gettext_lazy("no")),
    Column("ethnicity", gettext_lazy("ethnicity"), read_ethnicity, example="Kinh"),
    Column("religion", gettext_lazy("religion"), read_religion, example=Religion.NONE.label),
    Column("general_education", gettext_lazy("general education"), read_general_education, text=True, example="12/12"),
    Column(
        "professional_qualification",
        gettext_lazy("professional qualification"),
        read_qualification,
        example=ProfessionalQualification.UNIVERSITY.label,
    ),
    Column(
        "political_theory",
        gettext_lazy("political theory"),
        read_political_theory,
        example=PoliticalTheory.ELEMENTARY.label,
    ),
    Column(
        "youth_union_member_at_admission",
        gettext_lazy("Youth Union member at admission"),
        optional_boolean,
        example=gettext_lazy("yes"),
    ),
    Column("hometown", gettext_lazy("hometown"), example=""),
)
#: Informative columns of the members export that an import skips.
MEMBER_IGNORED = (
    gettext_lazy("status"),
    gettext_lazy("organisation"),
    gettext_lazy("number of the recognition decision"),
    gettext_lazy("date of the recognition decision"),
    gettext_lazy("membership ended on"),
    gettext_lazy("why it ended"),
    gettext_lazy("number of the decision or letter"),
    gettext_lazy("date of the decision or letter"),
)


def template_columns(columns):
    return [OutColumn(column.header, text=column.text) for column in columns]


def template_rows(columns):
    return [[str(column.example) if column.example != "" else None for column in columns]]


@bulk.collector_paused()
def import_members(source, *, organization, acting_user, dry_run=False, filename=None, progress=None, timer=None):
    """Import members from ``source`` (a path, bytes or an uploaded file) into ``organization``.

    Returns an :class:`ImportResult` (``.rows``, ``.has_errors``, ``.counts``, ``.timer``). Raises
    :class:`SpreadsheetError` when the file as a whole is refused and ``PermissionDenied`` when
    ``organization`` is not the user's to change. Writes nothing when ``dry_run`` or when any row
    has an error; otherwise writes every row in one transaction.

    ``progress(done, total)``: called as the rows are checked and written (see
    :func:`dataio.bulk.import_members`). ``timer``: a :class:`~core.timing.PhaseTimer` that
    receives the time of each phase (read, check, write, roll-ups, preview); a new one by default.
    """
    timer = timer or PhaseTimer()
    filename = _filename(source, filename)
    if not Organization.objects.editable_by(acting_user).filter(pk=organization.pk).exists():
        raise PermissionDenied(
            _("You may not change the records of %(organization)s.") % {"organization": organization}
        )
    with timer.phase("read"):
        sheet, positions, items = _read_members(source, organization, acting_user)
    try:
        bulk.import_members(
            acting_user,
            organization=organization,
            items=items,
            reason=change_reason(filename),
            dry_run=dry_run,
            progress=progress,
            timer=timer,
        )
    except INTEGRITY_ERRORS:
        # A concurrent change recorded one of the file's numbers after the rows were checked: the
        # database refused the write and rolled all of it back. Say which rows, write nothing.
        _report_concurrent_conflicts(items)
    with timer.phase("preview"):
        rows = build_rows(
            [number for number, _values in sheet.rows],
            items,
            MEMBER_COLUMNS,
            _member_model(),
            lambda item: item.values.get("full_name") or "",
            file_headers(sheet, positions),
        )
    result = ImportResult("members", filename, rows, dry_run=dry_run, timer=timer)
    result.committed = not dry_run and not result.has_errors
    return result


def _read_members(source, organization, acting_user):
    """The file's sheet, its columns' positions and one bulk item per row (codes resolved)."""
    sheet = read_spreadsheet(source)
    positions = match_columns(sheet.headers, MEMBER_COLUMNS, ignored=MEMBER_IGNORED)
    read = cell_reader(MEMBER_COLUMNS, positions)
    parsed = [read(values) for _number, values in sheet.rows]
    given = frozenset(positions)

    organizations = resolve(
        Organization.objects.editable_by(acting_user).filter(path__startswith=organization.path),
        "code",
        {values.get("organization") for values, _errors in parsed},
    )
    enterprises = resolve(
        Enterprise.objects.visible_to(acting_user), "tax_code", {values.get("enterprise") for values, _errors in parsed}
    )
    items = []
    for (number, _raw), (values, errors) in zip(sheet.rows, parsed, strict=True):
        item = bulk.Item(values=values, given=given, reference=number)
        for key, message in errors.items():
            item.error(key, message)
        code = values.get("organization")
        if code:
            values["organization"] = organizations.get(code)
            if values["organization"] is None:
                item.error(
                    "organization",
                    _("No organisation with the code %(code)s within %(scope)s.")
                    % {"code": code, "scope": organization},
                )
        else:
            values["organization"] = None
        tax_code = values.get("enterprise")
        if tax_code:
            values["enterprise"] = enterprises.get(tax_code)
            if values["enterprise"] is None:
                item.error(
                    "enterprise", _("No enterprise with the tax code %(code)s in your scope.") % {"code": tax_code}
                )
        else:
            values["enterprise"] = None
        items.append(item)
    return sheet, positions, items


def _integrity_errors():
    from django.db import IntegrityError

    try:  # a COPY's refusal comes from the driver, not through Django's wrapper
        from psycopg.errors import IntegrityError as DriverIntegrityError
    except ImportError:  # pragma: no cover - psycopg is in the requirements
        return (IntegrityError,)
    return (IntegrityError, DriverIntegrityError)


INTEGRITY_ERRORS = _integrity_errors()


def _report_concurrent_conflicts(items):
    """Mark the rows whose citizen ID or Party card number another change recorded meanwhile (every
    row that would have added a member, when none can be named)."""
    member_model = _member_model()
    citizen_ids = {item.values.get("citizen_id") for item in items} - {None, ""}
    cards = {item.values.get("party_card_number") for item in items} - {None, ""}
    taken_ids, taken_cards = set(), set()
    for subset in filter_in(member_model.objects.order_by(), "citizen_id", citizen_ids):
        taken_ids.update(subset.values_list("citizen_id", flat=True))
    for subset in filter_in(member_model.objects.order_by(), "party_card_number", cards):
        taken_cards.update(subset.values_list("party_card_number", flat=True))
    message = _(
        "Another change recorded this number while the file was being imported: nothing was imported. "
        "Import the file again."
    )
    marked = False
    for item in items:
        if item.action != bulk.CREATE:
            continue
        for name, taken in (("citizen_id", taken_ids), ("party_card_number", taken_cards)):
            if item.values.get(name) in taken:
                item.error(name, message)
                item.action = bulk.ERROR
                marked = True
    if not marked:
        for item in items:
            if item.action in (bulk.CREATE, bulk.UPDATE):
                item.error(
                    "citizen_id",
                    _("Another change conflicted with this file while it was being imported: nothing was imported."),
                )
                item.action = bulk.ERROR


def _member_model():
    from branches.models import Member

    return Member


# A generated file, for benchmarks and demonstrations -------------------------------------

_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ")
_MIDDLE = ("Văn", "Thị", "Hữu", "Đức", "Thanh", "Minh", "Ngọc", "Quang")
_GIVEN = ("An", "Bình", "Cường", "Dũng", "Hà", "Hạnh", "Hùng", "Lan", "Linh", "Mai", "Nam", "Phương", "Thảo")


def sample_members_file(count, *, file_format="csv", prefix="0999", start=0, organization_code=""):
    """A members import file of ``count`` new members (citizen IDs ``prefix`` + a serial from ``start``).

    For benchmarks (``bench/``) and demonstrations: ``import_members(sample_members_file(100_000), ...)``.
    """
    import datetime

    from core.spreadsheets import write_csv, write_xlsx

    width = 12 - len(prefix)
    rows = []
    for serial in range(start, start + count):
        female = serial % 2 == 1
        rows.append(
            [
                f"{prefix}{serial:0{width}d}",
                f"{_FAMILY[serial % 12]} {'Thị' if female else _MIDDLE[serial % 8]} {_GIVEN[serial % 13]}",
                str(Sex.FEMALE.label if female else Sex.MALE.label),
                datetime.date(1970 + serial % 30, 1 + serial % 12, 1 + serial % 28),
                "",
                organization_code,
                datetime.date(2015 + serial % 10, 1 + serial % 12, 1 + serial % 28),
                None,
                "",
                str(Position.WORKER.label),
                serial % 97 == 0,
                *[""] * 7,  # the profile (form 2-HSĐV) left to be recorded
            ]
        )
    columns = template_columns(MEMBER_COLUMNS)
    return write_csv(columns, rows) if file_format == "csv" else write_xlsx(columns, rows)
