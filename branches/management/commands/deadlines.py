"""``manage.py deadlines --org CODE [--date YYYY-MM-DD] [--format text|json]``.

Lists what is due within 60 days of the date (today by default) or overdue in the organisation's
subtree (``branches.deadlines``): ceremonies to hold, probation reviews, course certificates that
expire, Party badges for the next presentation date — each with its rule, its due date and the
working days left.
"""

import datetime
import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from branches.deadlines import deadlines_for
from branches.models import Organization
from core.dates import today


def _date(value):
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date must be YYYY-MM-DD, not {value!r}.") from None


class Command(BaseCommand):
    help = "List the lifecycle deadlines due within 60 days or overdue in an organisation's subtree."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="Code of the organisation (its whole subtree is read).")
        parser.add_argument("--date", type=_date, default=None, help="YYYY-MM-DD (default: today).")
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument("--language", choices=[code for code, _name in settings.LANGUAGES], default=None)

    def handle(self, *args, org, date, format, language, **options):
        organization = Organization.objects.filter(code=org).first()
        if organization is None:
            raise CommandError(f"No organisation has the code {org!r}.")
        on = date or today()
        with translation.override(language or settings.LANGUAGE_CODE):
            items = deadlines_for(organization, on)
            if format == "json":
                payload = {
                    "organization": organization.code,
                    "date": on.isoformat(),
                    "items": [item.as_dict() for item in items],
                }
                self.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2))
                return
            self.stdout.write(f"{organization} — {on:%d/%m/%Y}: {len(items)}")
            for item in items:
                state = "!" if item.overdue else " "
                self.stdout.write(
                    f"{state} {item.due_on:%d/%m/%Y} ({item.working_days_left:+d}) {item.organization:<20} "
                    f"{item.subject:<30} {item.rule}"
                )
