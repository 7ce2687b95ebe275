"""The fulfilment table as an Excel workbook and as CSV, with the same figures and strings as the page.

One row per organisation directly below the committee, then the committee's total row; per
metric the actual, the target and the percentage stored as numbers, and the display string.
Strings are written in the active language.
"""

import csv
import io

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from core.spreadsheets import csv_cell, xlsx_cell
from core.text import display_date
from reports.approval import approval_stamp, stamp_text
from reports.engine import METRICS

SUBCOLUMNS = ("actual", "target", "percent", "display")
FIXED_COLUMNS = 2  # code, organisation


def _subcolumn_labels():
    return {
        "actual": _("actual"),
        "target": _("target"),
        "percent": _("%"),
        "display": _("shown"),
    }


def title(report):
    return _("Target fulfilment: %(name)s (%(code)s)") % {
        "name": report.organization.name,
        "code": report.organization.code,
    }


def period_line(report):
    """``Year 2024, as of 30/09/2024`` or ``From … to …``."""
    end = date_format(report.end, "SHORT_DATE_FORMAT")
    if report.year is not None:
        return _("Year %(year)s, as of %(date)s") % {"year": report.year, "date": end}
    return _("From %(start)s to %(end)s") % {"start": date_format(report.start, "SHORT_DATE_FORMAT"), "end": end}


def table_rows(report):
    """``(code, name, rows, is_total)`` for each organisation below, then the total."""
    for part in report.children:
        ended = getattr(part, "ended_label", "")
        name = f"{part.organization.name} ({ended})" if ended else part.organization.name
        yield part.organization.code, name, part.rows, False
    yield (
        report.organization.code,
        _("Total: %(name)s") % {"name": report.organization.name},
        report.rows,
        True,
    )


def _cells(row):
    return [row.actual, row.target, None if row.percent is None else float(row.percent), row.display]


def fulfilment_filename(report, extension):
    if report.year is not None:
        period = f"{report.year}-{report.end:%Y%m%d}"
    else:
        period = f"{report.start:%Y%m%d}-{report.end:%Y%m%d}"
    return f"fulfilment-{report.organization.code}-{period}.{extension}"


def figures_sheet(workbook, heading, figures):
    """A sheet of a structure or gaps report (``figures``): the total, then each organisation
    directly below; shares as "n/total (p%)"."""
    sheet = workbook.create_sheet(str(heading)[:31])
    sheet.append([xlsx_cell(sheet, f"{heading} — {figures.organization} — {display_date(figures.date)}")])
    sheet["A1"].font = Font(bold=True, size=12)
    bold = Font(bold=True)
    sheet.append(
        [xlsx_cell(sheet, value) for value in (_("code"), _("organisation"), *(r.label for r in figures.rows))]
    )
    for cell in sheet[2]:
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="top")

    def values(rows):
        return [row.value if row.total is None else row.display for row in rows]

    sheet.append([xlsx_cell(sheet, v) for v in (figures.organization.code, str(_("total")), *values(figures.rows))])
    for cell in sheet[3]:
        cell.font = bold
    for part in figures.children:
        name = part.organization.name + (f" ({part.ended_label})" if part.ended_label else "")
        sheet.append([xlsx_cell(sheet, v) for v in (part.organization.code, name, *values(part.rows))])
    sheet.column_dimensions["A"].width = 14
    sheet.column_dimensions["B"].width = 40
    for index in range(len(figures.rows)):
        sheet.column_dimensions[get_column_letter(3 + index)].width = 18
    sheet.freeze_panes = "C3"
    return sheet


def fulfilment_xlsx(report, structure=None, gaps=None):
    """The workbook as bytes; with ``structure`` and ``gaps`` (reports on the period's end date),
    a sheet for each."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = str(_("Fulfilment"))[:31]
    bold = Font(bold=True)
    sheet.append([xlsx_cell(sheet, title(report))])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([xlsx_cell(sheet, period_line(report))])
    approved = approval_stamp(report.organization, report.start, report.end)
    sheet.append([xlsx_cell(sheet, stamp_text(approved))] if approved else [])

    def put(row, column, value):
        cell = sheet.cell(row, column)
        safe = xlsx_cell(sheet, value)
        cell.value, cell.data_type = safe.value, safe.data_type
        return cell

    header_row = 4
    labels = _subcolumn_labels()
    put(header_row, 1, _("code")).font = bold
    put(header_row, 2, _("organisation")).font = bold
    put(header_row + 1, 1, "")
    for index, metric in enumerate(METRICS):
        column = FIXED_COLUMNS + 1 + index * len(SUBCOLUMNS)
        cell = put(header_row, column, str(metric.label))
        cell.font = bold
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
        sheet.merge_cells(
            start_row=header_row, start_column=column, end_row=header_row, end_column=column + len(SUBCOLUMNS) - 1
        )
        for offset, key in enumerate(SUBCOLUMNS):
            sub = put(header_row + 1, column + offset, labels[key])
            sub.font = bold
            sub.alignment = Alignment(horizontal="center")

    total_fill = PatternFill("solid", fgColor="DDDDDD")
    for code, name, rows, is_total in table_rows(report):
        values = [code, name]
        for row in rows:
            values.extend(_cells(row))
        sheet.append([xlsx_cell(sheet, value) for value in values])
        line = sheet.max_row
        for index in range(len(METRICS)):
            column = FIXED_COLUMNS + 1 + index * len(SUBCOLUMNS)
            sheet.cell(line, column).number_format = "#,##0"
            sheet.cell(line, column + 1).number_format = "#,##0"
            sheet.cell(line, column + 2).number_format = "0.0"
        if is_total:
            for cell in sheet[line]:
                cell.font = bold
                cell.fill = total_fill

    sheet.column_dimensions["A"].width = 12
    sheet.column_dimensions["B"].width = 40
    for index in range(len(METRICS)):
        column = FIXED_COLUMNS + 1 + index * len(SUBCOLUMNS)
        for offset, width in enumerate((10, 10, 8, 22)):
            sheet.column_dimensions[get_column_letter(column + offset)].width = width
    sheet.freeze_panes = sheet.cell(header_row + 2, FIXED_COLUMNS + 1)
    if structure is not None:
        figures_sheet(workbook, _("Structure"), structure)
    if gaps is not None:
        figures_sheet(workbook, _("Gaps"), gaps)
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def fulfilment_csv(report):
    """The CSV as text starting with a byte-order mark, so Excel reads it as UTF-8."""
    stream = io.StringIO()
    stream.write("\ufeff")
    writer = csv.writer(stream)
    labels = _subcolumn_labels()
    header = [_("code"), _("organisation")]
    for metric in METRICS:
        header.extend(f"{metric.label} ({labels[key]})" for key in SUBCOLUMNS)
    writer.writerow([csv_cell(value) for value in header])
    for code, name, rows, _is_total in table_rows(report):
        values = [code, name]
        for row in rows:
            values.extend(_cells(row))
        writer.writerow([csv_cell(value) for value in values])
    return stream.getvalue()
