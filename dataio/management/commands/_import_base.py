"""What the import commands share: options, the acting user, the preview and the exit status."""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from branches.models import Organization
from core.spreadsheets import SpreadsheetError


class ImportCommand(BaseCommand):
    """``FILE --org CODE [--dry-run] [--user USERNAME]``: print one line per row; exit 1 on any error row."""

    run = None  # the import function: (source, *, organization, acting_user, dry_run, filename) -> ImportResult

    def add_arguments(self, parser):
        parser.add_argument("file", help="An .xlsx or .csv (UTF-8) file.")
        parser.add_argument("--org", required=True, help="Code of the organisation the rows belong to.")
        parser.add_argument("--dry-run", action="store_true", help="Check and print the preview; write nothing.")
        parser.add_argument(
            "--user",
            help="Username of the acting user (their scope applies; default: the first active superuser).",
        )

    def acting_user(self, username):
        users = get_user_model().objects.filter(is_active=True)
        if username:
            user = users.filter(username=username).first()
            if user is None:
                raise CommandError(f"No active user {username!r}.")
            return user
        user = users.filter(is_superuser=True).order_by("pk").first()
        if user is None:
            raise CommandError("No active superuser: name the acting user with --user.")
        return user

    def handle(self, *args, **options):
        user = self.acting_user(options["user"])
        organization = Organization.objects.filter(code=options["org"]).first()
        if organization is None:
            raise CommandError(f"No organisation with the code {options['org']!r}.")
        try:
            result = type(self).run(
                options["file"], organization=organization, acting_user=user, dry_run=options["dry_run"]
            )
        except SpreadsheetError as exc:
            raise CommandError(exc.message) from exc
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        except FileNotFoundError as exc:
            raise CommandError(f"No such file: {options['file']}") from exc
        for line in result.preview_lines():
            self.stdout.write(line)
        summary = ", ".join(f"{action}: {count}" for action, count in result.counts.items())
        if result.has_errors:
            raise CommandError(f"{result.counts['error']} row(s) with errors; nothing was written ({summary}).")
        if options["dry_run"]:
            self.stdout.write(f"Dry run, nothing written ({summary}).")
        else:
            self.stdout.write(self.style.SUCCESS(f"Imported {result.filename} ({summary})."))
