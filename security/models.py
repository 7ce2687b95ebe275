"""The access log of sensitive personal data."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.scoping import scope_for


class AccessAction(models.TextChoices):
    VIEWED = "viewed", _("viewed")
    EXPORTED = "exported", _("exported")
    EDITED = "edited", _("edited")


class AccessLogQuerySet(models.QuerySet):
    """Append-only: rows are added with ``create``; bulk updates and deletes are refused."""

    def visible_to(self, user):
        return self.all() if scope_for(user).administers else self.none()

    def editable_by(self, user):
        return self.none()

    def update(self, **kwargs):
        raise PermissionError("The access log is append-only.")

    def delete(self):
        raise PermissionError("The access log is append-only.")


class AccessLog(models.Model):
    """Who opened, exported or edited which member records (sensitive personal data), and from where.

    Append-only: an entry cannot be changed or deleted through the ORM, the admin or (on
    PostgreSQL) SQL, because a database trigger refuses UPDATE and DELETE.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="access_log_entries",
    )
    username = models.CharField(_("username"), max_length=150, blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    action = models.CharField(_("action"), max_length=10, choices=AccessAction.choices)
    member_ids = models.JSONField(_("member IDs"), default=list, blank=True)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    path = models.CharField(_("address"), max_length=500, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=500, blank=True)

    objects = AccessLogQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        # The table kept its name when the model moved here from branches.
        db_table = "branches_accesslog"
        indexes = [models.Index(fields=["user", "at"], name="accesslog_user_at")]
        constraints = [
            models.CheckConstraint(condition=Q(action__in=AccessAction.values), name="accesslog_action_known"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("The access log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The access log is append-only.")
