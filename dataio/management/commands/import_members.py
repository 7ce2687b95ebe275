from dataio.imports import import_members
from dataio.management.commands._import_base import ImportCommand


class Command(ImportCommand):
    help = "Import Party members from an .xlsx or .csv file into an organisation (all rows or none)."
    run = staticmethod(import_members)
