"""``python manage.py generate_scale``: a national-size dataset on PostgreSQL (see reports/scale.py)."""

import time

from django.core.management.base import BaseCommand, CommandError

from devdata import scale


class Command(BaseCommand):
    help = (
        "Generate a national-size synthetic dataset with PostgreSQL COPY (34 provinces, 3,321 communes; "
        "defaults: 1,000,000 enterprises and members, 50,000 organisations, 200,000 mass organisations, 10 years)."
    )

    def add_arguments(self, parser):
        defaults = scale.Sizes()
        parser.add_argument("--members", type=int, default=defaults.members)
        parser.add_argument("--enterprises", type=int, default=defaults.enterprises)
        parser.add_argument("--organizations", type=int, default=defaults.organizations)
        parser.add_argument("--mass-organizations", type=int, default=defaults.mass_organizations)
        parser.add_argument("--years", type=int, default=defaults.years)
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument(
            "--scale", type=float, default=1.0, help="Multiply every size by this factor (e.g. 0.1 for a tenth)."
        )
        parser.add_argument("--reset", action="store_true", help="Truncate the domain tables first.")

    def handle(self, *args, **options):
        sizes = scale.Sizes(
            members=options["members"],
            enterprises=options["enterprises"],
            organizations=options["organizations"],
            mass_organizations=options["mass_organizations"],
            years=options["years"],
            seed=options["seed"],
        )
        if options["scale"] != 1.0:
            sizes = sizes.scaled(options["scale"])
        for name in ("members", "enterprises", "mass_organizations", "years"):
            if getattr(sizes, name) < 1:
                raise CommandError(f"--{name.replace('_', '-')} must be at least 1.")
        if sizes.organizations < scale.MIN_ORGANIZATIONS:
            raise CommandError(f"--organizations must be at least {scale.MIN_ORGANIZATIONS}.")
        started = time.monotonic()
        try:
            result = scale.generate(sizes, reset_first=options["reset"], log=self.stdout.write)
        except (scale.UnsupportedDatabase, scale.NotEmpty) as exc:
            raise CommandError(str(exc)) from exc
        for name, count in result.counts.items():
            self.stdout.write(f"{name}: {count:,}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {result.start}–{result.end} in {time.monotonic() - started:.1f} s "
                f"(root committee {result.root_code})."
            )
        )
