from branches.management.commands._import_base import ImportCommand
from enterprises.imports import import_enterprises


class Command(ImportCommand):
    help = "Import enterprises (matched by tax code) from an .xlsx or .csv file (all rows or none)."
    run = staticmethod(import_enterprises)
