"""``python manage.py report fulfilment|structure|gaps``: the reports of the dashboard on the command line.

Examples::

    manage.py report fulfilment --org HN --year 2024 --format json --language en
    manage.py report fulfilment --org UB --year 2024 --as-of 2024-09-30
    manage.py report fulfilment --org HN --start 2012-02-27 --end 2024-12-31
    manage.py report fulfilment --org HN --year 2024 --format xlsx --output hanoi-2024.xlsx
    manage.py report structure --org QN --date 2024-12-31
    manage.py report gaps --org HN --date 2024-12-31 --stagnant-years 3
    manage.py report movement --org HN --start 2024-01-01 --end 2024-12-31 --format json
    manage.py report movement --org HN --year 2024 --half 1 --format xlsx --output hn-2024-h1.xlsx
    manage.py report admissions --org QN --year 2024 --format text
"""

import datetime
import json
import re
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from branches.models import Organization
from reports import engine, exports, serializers, statistics, statutory_exports

LANGUAGES = [code for code, _name in settings.LANGUAGES]
FIGURE = re.compile(r"^[0-9][0-9.,/ ()%]*$")


def _date(value):
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise CommandError(f"Not a date (YYYY-MM-DD): {value!r}") from None


def _table(headers, rows):
    """Rows of strings aligned in columns; figures (digits, separators, %) right-aligned."""
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [max([len(str(header))] + [len(row[i]) for row in rows]) for i, header in enumerate(headers)]

    def line(cells):
        return "  ".join(
            cell.rjust(width) if FIGURE.match(cell) else cell.ljust(width)
            for cell, width in zip(cells, widths, strict=True)
        ).rstrip()

    return "\n".join([line([str(h) for h in headers]), "  ".join("-" * w for w in widths), *map(line, rows)])


def _name(part):
    """The organisation's name, with the day it ended there when it did before the end."""
    ended = getattr(part, "ended_label", "")
    return f"{part.organization.name} ({ended})" if ended else part.organization.name


def _totals_and_children(report, value_of):
    """The organisation's own figures (one metric a line), then one line per organisation below."""
    keys = [str(getattr(row.metric, "value", row.metric)) for row in report.rows]
    total = _table(
        ["metric", "", "shown"],
        [[key, str(row.label), value_of(row)] for key, row in zip(keys, report.rows, strict=True)],
    )
    parts = [total]
    if report.children:
        children = _table(
            ["code", "", *keys],
            [[part.organization.code, _name(part), *(value_of(row) for row in part.rows)] for part in report.children],
        )
        parts.append(children)
    return "\n\n".join(parts)


def statutory_period(sub):
    sub.add_argument("--start", help="First day of the period (YYYY-MM-DD).")
    sub.add_argument("--end", help="Last day of the period (YYYY-MM-DD), included.")
    sub.add_argument("--year", type=int, help="A whole year, instead of --start and --end.")
    sub.add_argument("--half", type=int, choices=[1, 2], help="With --year: its first or second half.")


def statutory_dates(options):
    """``(start, end)`` of ``--start``/``--end`` or ``--year`` [``--half``]."""
    start, end, year, half = options.get("start"), options.get("end"), options.get("year"), options.get("half")
    if start or end:
        if not (start and end):
            raise CommandError("Give both --start and --end.")
        if year is not None or half is not None:
            raise CommandError("Give either --year (with --half) or --start and --end, not both.")
        start, end = _date(start), _date(end)
    elif year is not None:
        if not 1930 <= year <= 2200:
            raise CommandError("Give a year between 1930 and 2200.")
        start, end = (
            statistics.half_year(year, half) if half else (datetime.date(year, 1, 1), datetime.date(year, 12, 31))
        )
    else:
        raise CommandError("Give --start and --end, or --year.")
    try:
        statistics.check_period(start, end)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    return start, end


def _form_output(table, data, fmt):
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if fmt == "xlsx":
        return statutory_exports.form_xlsx(table)
    if fmt == "csv":
        return statutory_exports.form_csv(table)
    numbers = [f"({index})" for index in range(1, len(table.columns) + 1)]
    legend = "\n".join(f"{number} {label}" for number, label in zip(numbers, table.columns, strict=True))
    body = _table(
        ["code", "", *numbers],
        [[code, name, *("" if value is None else value for value in values)] for code, name, values, _t in table.rows],
    )
    return (
        f"{table.title}\n{table.organization.name} ({table.organization.code})\n{table.period}\n\n{body}\n\n{legend}\n"
    )


class Command(BaseCommand):
    help = "Print a report (target fulfilment, structure or gaps) of an organisation's subtree."

    def add_arguments(self, parser):
        subparsers = parser.add_subparsers(
            dest="report", required=True, metavar="{fulfilment,structure,gaps,movement,admissions}"
        )

        def common(sub, formats):
            sub.add_argument("--org", required=True, help="The organisation's code.")
            sub.add_argument("--format", choices=formats, default="text")
            sub.add_argument("--output", help="Write to this file instead of the standard output.")
            sub.add_argument("--language", choices=LANGUAGES, default=settings.LANGUAGE_CODE)

        fulfilment = subparsers.add_parser("fulfilment", help="Target fulfilment of a year, or actuals of a range.")
        common(fulfilment, ["text", "json", "xlsx", "csv"])
        fulfilment.add_argument("--year", type=int)
        fulfilment.add_argument("--as-of", dest="as_of", help="End the year on this date (YYYY-MM-DD).")
        fulfilment.add_argument("--start", help="Start of a range (YYYY-MM-DD), instead of --year.")
        fulfilment.add_argument("--end", help="End of a range (YYYY-MM-DD), included.")
        fulfilment.add_argument(
            "--structure",
            choices=engine.ReportStructure.values,
            default=engine.ReportStructure.END_DATE,
            help="end: the organisations of the end date (default); historical: those of each event's date.",
        )

        structure = subparsers.add_parser("structure", help="Organisations, members and mass organisations on a date.")
        common(structure, ["text", "json"])
        structure.add_argument("--date", help="YYYY-MM-DD (default: today).")

        gaps = subparsers.add_parser("gaps", help="Where Party building lags on a date.")
        common(gaps, ["text", "json"])
        gaps.add_argument("--date", help="YYYY-MM-DD (default: today).")
        gaps.add_argument("--stagnant-years", dest="stagnant_years", type=int, default=3)

        movement = subparsers.add_parser("movement", help="Member movement of a period (form 1-BTCTW).")
        common(movement, ["text", "json", "xlsx", "csv"])
        statutory_period(movement)

        admissions = subparsers.add_parser("admissions", help="New admissions of a period (form 3-BTCTW).")
        common(admissions, ["text", "json", "xlsx", "csv"])
        statutory_period(admissions)

    def handle(self, *args, **options):
        organization = Organization.objects.filter(code=options["org"]).first()
        if organization is None:
            raise CommandError(f"No organisation has the code {options['org']!r}.")
        if options["format"] == "xlsx" and not options.get("output"):
            raise CommandError("--format xlsx writes a file: give --output FILE.")
        with translation.override(options["language"]):
            output = getattr(self, f"_{options['report']}")(organization, options)
        self._write(output, options.get("output"))

    def _write(self, output, path):
        if path:
            if isinstance(output, bytes):
                Path(path).write_bytes(output)
            else:
                Path(path).write_text(output, encoding="utf-8")
            return
        if isinstance(output, bytes):
            sys.stdout.buffer.write(output)
            return
        self.stdout.write(output, ending="" if output.endswith("\n") else "\n")

    # The three reports ----------------------------------------------------------------------

    def _fulfilment(self, organization, options):
        year, as_of, start, end = options.get("year"), options.get("as_of"), options.get("start"), options.get("end")
        if start or end:
            if not (start and end):
                raise CommandError("Give both --start and --end for a range.")
            if year is not None or as_of:
                raise CommandError("Give either --year (with --as-of) or --start and --end, not both.")
            try:
                report = engine.fulfilment_range(organization, _date(start), _date(end), structure=options["structure"])
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        else:
            if year is None:
                raise CommandError("Give --year, or --start and --end.")
            if not 1930 <= year <= 2200:
                raise CommandError("Give a year between 1930 and 2200.")
            try:
                report = engine.fulfilment(
                    organization, year, as_of=_date(as_of) if as_of else None, structure=options["structure"]
                )
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        fmt = options["format"]
        if fmt == "json":
            return json.dumps(serializers.fulfilment_to_dict(report), ensure_ascii=False, indent=2) + "\n"
        if fmt == "xlsx":
            return exports.fulfilment_xlsx(
                report, engine.structure(organization, report.end), engine.gaps(organization, report.end)
            )
        if fmt == "csv":
            return exports.fulfilment_csv(report)
        heading = f"{exports.title(report)}\n{exports.period_line(report)}\n\n"
        return heading + _totals_and_children(report, lambda row: row.display) + "\n"

    def _report_date(self, options):
        return _date(options["date"]) if options.get("date") else engine.today()

    def _structure(self, organization, options):
        report = engine.structure(organization, self._report_date(options))
        if options["format"] == "json":
            return json.dumps(serializers.structure_to_dict(report), ensure_ascii=False, indent=2) + "\n"
        heading = f"{organization.name} ({organization.code}): {report.date.isoformat()}\n\n"
        return heading + _totals_and_children(report, lambda row: row.display) + "\n"

    def _gaps(self, organization, options):
        if options["stagnant_years"] < 1:
            raise CommandError("--stagnant-years must be at least 1.")
        report = engine.gaps(organization, self._report_date(options), stagnant_years=options["stagnant_years"])
        data = serializers.gaps_to_dict(report)
        if options["format"] == "json":
            return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
        heading = (
            f"{organization.name} ({organization.code}): {report.date.isoformat()}, "
            f"stagnant = no admission in {report.stagnant_years} years\n\n"
        )
        sections = [heading + _totals_and_children(report, lambda row: row.display)]
        lists = [
            ("eligible_enterprises", ["tax_code", "name", "managing_committee", "official_members"]),
            ("small_enterprises", ["tax_code", "name", "managing_committee", "active_members"]),
            ("stagnant_organizations", ["code", "name", "established_on", "last_admitted_on"]),
        ]
        for key, columns in lists:
            items = data[key]
            body = _table(columns, [[item[c] if item[c] is not None else "" for c in columns] for item in items])
            sections.append(f"{key} ({len(items)})\n{body}")
        return "\n\n".join(sections) + "\n"

    def _movement(self, organization, options):
        start, end = statutory_dates(options)
        report = statistics.member_movement(organization, start, end)
        return _form_output(
            statutory_exports.movement_table(report), serializers.movement_to_dict(report), options["format"]
        )

    def _admissions(self, organization, options):
        start, end = statutory_dates(options)
        report = statistics.new_admissions(organization, start, end)
        table = statutory_exports.admissions_table(report)
        return _form_output(table, serializers.admissions_to_dict(report), options["format"])
