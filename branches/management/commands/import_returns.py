from branches.management.commands._import_base import ImportCommand
from enterprises.imports import import_returns


class Command(ImportCommand):
    help = "Import membership returns of mass organisations from an .xlsx or .csv file (all rows or none)."
    run = staticmethod(import_returns)
