"""``manage.py badges --org CODE [--date YYYY-MM-DD] [--format text|json]``.

The members of the organisation's subtree reaching a Party badge age for a presentation date (the
next one on or after ``--date``, today by default), with the awards already recorded
(``branches.badges``).
"""

import datetime
import json

from django.core.management.base import BaseCommand, CommandError

from branches.badges import badge_rows, upcoming_presentations
from branches.models import Member, Organization
from core.dates import today


def _date(value):
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date must be YYYY-MM-DD, not {value!r}.") from None


class Command(BaseCommand):
    help = "List the members reaching a Party badge age for the next presentation date."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="Code of the organisation (its whole subtree is read).")
        parser.add_argument("--date", type=_date, default=None, help="YYYY-MM-DD (default: today).")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args, org, date, format, **options):
        organization = Organization.objects.filter(code=org).first()
        if organization is None:
            raise CommandError(f"No organisation has the code {org!r}.")
        presentation = upcoming_presentations(date or today(), count=1)[0]
        rows = badge_rows(organization, presentation, Member.objects.all())
        data = [
            {
                "years": row.years,
                "member": row.member.full_name,
                "member_id": row.member.pk,
                "organization": row.member.organization.code,
                "admitted_on": row.member.admitted_on.isoformat(),
                "reaches_on": row.reached_on.isoformat(),
                "presented_on": row.award.presented_on.isoformat() if row.award else None,
                "decision_number": row.award.decision_number if row.award else None,
            }
            for row in rows
        ]
        if format == "json":
            self.stdout.write(
                json.dumps({"presentation": presentation.isoformat(), "members": data}, ensure_ascii=False)
            )
            return
        self.stdout.write(f"{organization.name} ({organization.code}), presentation {presentation:%d/%m/%Y}")
        for item in data:
            done = f"  presented {item['presented_on']}" if item["presented_on"] else ""
            self.stdout.write(f"{item['years']:>3} years  {item['member']} ({item['organization']}){done}")
        self.stdout.write(f"{len(data)} member(s)")
