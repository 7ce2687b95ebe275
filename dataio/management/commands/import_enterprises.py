from dataio.enterprise_imports import import_enterprises
from dataio.management.commands._import_base import ImportCommand


class Command(ImportCommand):
    help = "Import enterprises (matched by tax code) from an .xlsx or .csv file (all rows or none)."
    run = staticmethod(import_enterprises)
