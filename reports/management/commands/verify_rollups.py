"""``python manage.py verify_rollups [--repair]``: compare the roll-ups and the standing counts with a
full recount."""

from django.core.management.base import BaseCommand, CommandError

from reports import rollups


class Command(BaseCommand):
    help = "Recount the reports' roll-ups from the raw tables; exit 1 and list the differences when they disagree."

    def add_arguments(self, parser):
        parser.add_argument("--repair", action="store_true", help="Rebuild the roll-ups from the raw tables.")
        parser.add_argument("--limit", type=int, default=50, help="How many differences to print.")

    def handle(self, *args, **options):
        count, details = rollups.differences(limit=options["limit"])
        if not count:
            self.stdout.write(self.style.SUCCESS("Roll-ups agree with a full recount."))
            return
        from branches.models import Organization

        codes = dict(Organization.objects.filter(pk__in={d[0] for d in details}).values_list("pk", "code"))
        self.stdout.write(f"{count} roll-up rows differ from a full recount:")
        for key, day, metric, stored, exact in details:
            if metric.startswith("enterprise "):  # a standing count of an enterprise (by id), on a day
                self.stdout.write(f"  enterprise #{key} {day:%d/%m/%Y} {metric}: stored {stored}, recount {exact}")
            elif metric.startswith("organization "):  # a standing count of an organisation, on a day
                self.stdout.write(f"  {codes.get(key, key)} {day:%d/%m/%Y} {metric}: stored {stored}, recount {exact}")
            else:
                self.stdout.write(f"  {codes.get(key, key)} {day:%Y-%m} {metric}: stored {stored}, recount {exact}")
        if options["repair"]:
            rollups.rebuild()
            remaining, _details = rollups.differences(limit=1)
            if remaining:
                raise CommandError(f"Rebuilt, but {remaining} rows still differ.")
            self.stdout.write(self.style.SUCCESS("Rebuilt the roll-ups from the raw tables."))
            return
        raise CommandError("Roll-ups disagree with the raw tables (run with --repair to rebuild them).")
