"""``python manage.py approval status --org CODE --year YYYY [--half 1|2]``: the approval of a period's
figures of an organisation and of each organisation directly below it."""

from django.core.management.base import BaseCommand, CommandError

from branches.approvals import status_below
from branches.models import Organization
from core.models import display_name


class Command(BaseCommand):
    help = "Show the approval status of a period's figures of an organisation and those directly below it."

    def add_arguments(self, parser):
        subparsers = parser.add_subparsers(dest="action", required=True, metavar="{status}")
        status = subparsers.add_parser("status", help="Approval status of a year or half-year.")
        status.add_argument("--org", required=True, help="The organisation's code.")
        status.add_argument("--year", required=True, type=int)
        status.add_argument("--half", type=int, choices=[1, 2], default=0)

    def handle(self, *args, **options):
        organization = Organization.objects.filter(code=options["org"]).first()
        if organization is None:
            raise CommandError(f"No organisation has the code {options['org']!r}.")
        if not 1930 <= options["year"] <= 2200:
            raise CommandError("Give a year between 1930 and 2200.")
        rows, counts = status_below(organization, options["year"], options["half"])
        period = f"{options['year']}" + (f" H{options['half']}" if options["half"] else "")
        self.stdout.write(f"{organization.name} ({organization.code}), {period}")
        for depth, (org, record) in enumerate(rows):
            status = record.status if record else "open"
            detail = ""
            if record and record.decided_by_id:
                detail = f"  {record.decided_at:%Y-%m-%d} {display_name(record.decided_by)}"
            if record and record.comment:
                detail += f"  {record.comment}"
            self.stdout.write(f"{'  ' if depth else ''}{org.code:<20} {status:<10}{detail}")
        self.stdout.write("below: " + ", ".join(f"{key} {value}" for key, value in counts.items()))
