"""``python manage.py load_demo [--if-empty]``: the demo data of Hà Nội and Quảng Ninh, and the demo logins."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand

from branches.models import Organization
from devdata import demo


class Command(BaseCommand):
    help = (
        "Load the demo data (Hà Nội and Quảng Ninh, reproducing the reference figures) once, and create or "
        "reset the demo logins. Running it again changes nothing but the demo passwords, which are reset."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Load only when the database holds no Party organisation at all.",
        )

    def handle(self, *args, if_empty=False, **options):
        started = time.perf_counter()
        if if_empty and Organization.objects.exists() and not demo.is_loaded():
            self.stdout.write("The database already holds organisations: demo data not loaded.")
            return
        counts = demo.load()
        if counts is None:
            self.stdout.write("Demo data already loaded: nothing to do.")
        else:
            summary = ", ".join(f"{n:,} {name}" for name, n in counts.items())
            elapsed = time.perf_counter() - started
            self.stdout.write(self.style.SUCCESS(f"Demo data loaded in {elapsed:.1f} s: {summary}."))
        self.stdout.write("Demo logins (role, username, password):")
        for role, username, password in demo.ensure_users():
            self.stdout.write(f"  {role:<14} {username:<16} {password}")
        two_factor = getattr(settings, "OTP_REQUIRED_ROLES", ())
        if two_factor:
            self.stdout.write(
                f"Roles {', '.join(two_factor)} set up two-factor authentication (TOTP) at their first sign-in."
            )
