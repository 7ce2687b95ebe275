from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Platform")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from core import checks  # noqa: F401  (registers the deploy check)
        from core.middleware import language_at_sign_in

        user_logged_in.connect(language_at_sign_in, dispatch_uid="core.language_at_sign_in")
