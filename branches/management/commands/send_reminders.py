"""``manage.py send_reminders [--date YYYY-MM-DD] [--enqueue]``.

Sends each user one e-mail digest of what became due or overdue in the organisations of their
roles (``branches.reminders``), in their language. ``--enqueue`` puts the work on the task queue
instead (a worker sends it); run daily by ``deploy/party-reminders.timer``.
"""

import datetime

from django.core.management.base import BaseCommand, CommandError

from branches.reminders import send_reminders, send_reminders_task


def _date(value):
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date must be YYYY-MM-DD, not {value!r}.") from None


class Command(BaseCommand):
    help = "E-mail each user the digest of what became due or overdue in their organisations."

    def add_arguments(self, parser):
        parser.add_argument("--date", type=_date, default=None, help="YYYY-MM-DD (default: today).")
        parser.add_argument("--enqueue", action="store_true", help="Put the work on the task queue.")

    def handle(self, *args, date, enqueue, **options):
        if enqueue:
            result = send_reminders_task.enqueue(date.isoformat() if date else None)
            self.stdout.write(f"Enqueued the digest as task {result.id}.")
            return
        sent = send_reminders(date)
        self.stdout.write(f"{sent} digest(s) sent.")
