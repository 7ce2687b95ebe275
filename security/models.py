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


class ApiTokenQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Administrators see every token; everyone else their own."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.all() if scope_for(user).everything else self.filter(user=user)

    def editable_by(self, user):
        return self.visible_to(user)

    def usable(self, now):
        return self.filter(revoked_at__isnull=True, expires_at__gt=now)


class ApiToken(models.Model):
    """A key for the API (``Authorization: Token <key>``), kept as its SHA-256 digest only.

    It expires (``settings.API_TOKEN_LIFETIME``) and can be revoked by its owner or an
    administrator. ``second_factor`` says the key was issued after the user passed their second
    factor: the API refuses a key without it for an account that needs two-factor authentication.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    digest = models.CharField(_("key digest"), max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("key begins with"), max_length=8, editable=False)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    second_factor = models.BooleanField(_("issued after the second factor"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.prefix}… ({self.user})"


class ApiTokenUse(models.Model):
    """One request made with an API token: when, from where, what."""

    token = models.ForeignKey(ApiToken, verbose_name=_("API token"), on_delete=models.CASCADE, related_name="uses")
    at = models.DateTimeField(_("at"), auto_now_add=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("address"), max_length=500)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("API token use")
        verbose_name_plural = _("API token uses")
        indexes = [models.Index(fields=["token", "at"], name="apitokenuse_token_at")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.token.prefix}"
