"""The access log and the API tokens in the admin: shown to administrators; tokens revoked here."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin import (
    AdministratorOnlyMixin,
)
from security.access import revoke_token
from security.models import AccessLog, ApiToken


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


@admin.register(ApiToken)
class ApiTokenAdmin(AdministratorOnlyMixin, admin.ModelAdmin):
    """API tokens (never their keys): listed, and revoked with the action."""

    allow_add = False
    allow_change = False
    list_display = ["prefix", "user", "created", "expires_at", "revoked_at", "second_factor", "last_used_at"]
    list_select_related = ["user"]
    list_filter = ["second_factor"]
    search_fields = ["user__username", "prefix"]
    actions = ["revoke"]

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True).select_related("user"):
            revoke_token(token, request.user.get_username())
