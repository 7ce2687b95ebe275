from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Targets and reports")

    def ready(self):
        from reports import checks, rollups, services  # noqa: F401 (checks registers itself)

        rollups.connect()  # the roll-ups and the data version follow the domain events
        services.connect()  # targets are carried when committees merge or split
