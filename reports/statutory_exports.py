"""The statutory forms (member movement, new admissions) as a table in the forms' layout, written as
.xlsx (title, committee, period, numbered columns and rows, a signature block with place and date),
as CSV and as text. Strings in the active language."""

import io
from dataclasses import dataclass, field

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from core.spreadsheets import OutColumn, write_csv
from reports.approval import approval_stamp, stamp_text
from reports.statistics import MOVEMENT_COLUMNS, MOVEMENT_LABELS
from reports.statistics_rules import admission_columns


@dataclass
class FormTable:
    """``rows``: ``(code, name, values, is_total)``; ``values`` line up with ``columns``."""

    form: str
    title: str
    organization: object
    start: object
    end: object
    columns: list
    rows: list = field(default_factory=list)

    @property
    def period(self):
        return _("From %(start)s to %(end)s") % {
            "start": date_format(self.start, "SHORT_DATE_FORMAT"),
            "end": date_format(self.end, "SHORT_DATE_FORMAT"),
        }

    def filename(self, extension):
        return f"{self.form}-{self.organization.code}-{self.start:%Y%m%d}-{self.end:%Y%m%d}.{extension}"


def _percent(value):
    return None if value is None else float(value)


def movement_table(report):
    columns = [str(MOVEMENT_LABELS[name]) for name in (*MOVEMENT_COLUMNS, "change_percent")]

    def values(row):
        return [getattr(row, name) for name in MOVEMENT_COLUMNS] + [_percent(row.change_percent)]

    table = FormTable(
        form="movement",
        title=_("Member movement (form 1-BTCTW)"),
        organization=report.organization,
        start=report.start,
        end=report.end,
        columns=columns,
    )
    for row in report.children:
        table.rows.append((row.organization.code, row.organization.name, values(row), False))
    table.rows.append((report.organization.code, _("Total"), values(report.total), True))
    return table


def admissions_table(report):
    columns = admission_columns()
    table = FormTable(
        form="admissions",
        title=_("New admissions (form 3-BTCTW)"),
        organization=report.organization,
        start=report.start,
        end=report.end,
        columns=[str(label) for _key, label in columns],
    )
    for row in report.children:
        values = [row.get(key) for key, _label in columns]
        table.rows.append((row.organization.code, row.organization.name, values, False))
    table.rows.append((report.organization.code, _("Total"), [report.total.get(key) for key, _l in columns], True))
    return table


def _text_cell(sheet, row, column, value, **style):
    """A cell holding text as text: a name starting with ``=`` is not a formula."""
    cell = sheet.cell(row, column)
    cell.value = "" if value is None else str(value)
    cell.data_type = "s"
    for name, setting in style.items():
        setattr(cell, name, setting)
    return cell


def form_xlsx(table, *, place=""):
    """The workbook (bytes) in the form's layout."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = table.form[:31]
    bold, thin = Font(bold=True), Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)
    width = 3 + len(table.columns)
    _text_cell(sheet, 1, 1, table.title, font=Font(bold=True, size=14))
    _text_cell(sheet, 2, 1, _("Committee: %(name)s (%(code)s)") % {
        "name": table.organization.name, "code": table.organization.code,
    })  # fmt: skip
    _text_cell(sheet, 3, 1, table.period)
    approved = approval_stamp(table.organization, table.start, table.end)
    if approved is not None:
        _text_cell(sheet, 4, 1, stamp_text(approved), font=bold)
    header = 5
    for column, label in enumerate([_("No."), _("code"), _("organisation"), *table.columns], start=1):
        _text_cell(sheet, header, column, label, font=bold, alignment=center, border=box)
        # The forms number their columns: (1), (2), …
        _text_cell(sheet, header + 1, column, f"({column})", alignment=center, border=box)
    line = header + 2
    for number, (code, name, values, is_total) in enumerate(table.rows, start=1):
        _text_cell(sheet, line, 1, "" if is_total else number, border=box)
        _text_cell(sheet, line, 2, code, border=box)
        _text_cell(sheet, line, 3, name, border=box)
        for offset, value in enumerate(values):
            cell = sheet.cell(line, 4 + offset, value)
            cell.border = box
            cell.number_format = "0.0" if isinstance(value, float) else "#,##0"
        if is_total:
            for cell in sheet[line]:
                cell.font = bold
        line += 1
    line += 1
    signature_column = max(1, width - 3)
    _text_cell(sheet, line, signature_column, _("%(place)s, date …… month …… year ……") % {"place": place or "……"})
    _text_cell(sheet, line + 1, signature_column, _("On behalf of the Party committee"), font=bold)
    _text_cell(sheet, line + 2, signature_column, _("(signature, full name and seal)"))
    _text_cell(sheet, line + 1, 2, _("Prepared by"), font=bold)
    sheet.column_dimensions["A"].width = 6
    sheet.column_dimensions["B"].width = 14
    sheet.column_dimensions["C"].width = 40
    for offset in range(len(table.columns)):
        sheet.column_dimensions[get_column_letter(4 + offset)].width = 13
    sheet.freeze_panes = sheet.cell(header + 2, 4)
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def form_csv(table):
    columns = [OutColumn(_("code"), text=True), OutColumn(_("organisation"))] + [OutColumn(c) for c in table.columns]
    return write_csv(columns, [[code, name, *values] for code, name, values, _is_total in table.rows])
