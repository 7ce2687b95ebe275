from dataio.enterprise_imports import import_returns
from dataio.management.commands._import_base import ImportCommand


class Command(ImportCommand):
    help = "Import membership returns of mass organisations from an .xlsx or .csv file (all rows or none)."
    run = staticmethod(import_returns)
