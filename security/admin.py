"""The access log in the admin: shown to administrators, never added, changed or deleted."""

from django.contrib import admin

from core.admin import (
    AdministratorOnlyMixin,
)
from security.models import AccessLog


@admin.register(AccessLog)
class AccessLogAdmin(AdministratorOnlyMixin, admin.ModelAdmin):
    """Append-only: shown, never added, changed or deleted here."""

    allow_add = False
    allow_change = False
    list_display = ["at", "username", "action", "path", "ip_address"]
    list_select_related = ["user"]
    list_filter = ["action"]
    search_fields = ["username", "path"]
    date_hierarchy = "at"
