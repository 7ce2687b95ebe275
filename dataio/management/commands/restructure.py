from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError

from core.spreadsheets import SpreadsheetError
from dataio.management.commands._import_base import ImportCommand
from dataio.restructure import run_plan


class Command(ImportCommand):
    """``FILE [--dry-run] [--user USERNAME]``: print the plan's preview; exit non-zero on any error."""

    help = (
        "Apply a restructuring plan (.xlsx or .csv, one operation per row: establish, move, rename, merge, "
        "split, dissolve) to the organisation tree, all rows or none."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="An .xlsx or .csv (UTF-8) file.")
        parser.add_argument("--dry-run", action="store_true", help="Check and print the preview; write nothing.")
        parser.add_argument(
            "--user", help="Username of the acting administrator (default: the first active superuser)."
        )

    def handle(self, *args, **options):
        user = self.acting_user(options["user"])
        try:
            with open(options["file"], "rb") as source:
                result = run_plan(source, acting_user=user, dry_run=options["dry_run"])
        except SpreadsheetError as exc:
            raise CommandError(exc.message) from exc
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        except FileNotFoundError as exc:
            raise CommandError(f"No such file: {options['file']}") from exc
        for line in result.preview_lines():
            self.stdout.write(line)
        if result.has_errors:
            raise CommandError(f"{len(result.errors())} error(s); nothing was written.")
        if options["dry_run"]:
            self.stdout.write(f"Dry run, nothing written ({len(result.steps)} operation(s)).")
        else:
            self.stdout.write(self.style.SUCCESS(f"Applied {result.filename} ({len(result.steps)} operation(s))."))
