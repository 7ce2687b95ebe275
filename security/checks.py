"""System checks of the security settings, run by ``manage.py check --deploy``."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def two_factor_required(app_configs, **kwargs):
    """Two-factor authentication must be required of administrators and department staff in production."""
    required = set(getattr(settings, "OTP_REQUIRED_ROLES", ()))
    missing = {"administrator", "department"} - required
    if not missing:
        return []
    return [
        Warning(
            "Two-factor authentication is not required of: " + ", ".join(sorted(missing)) + ".",
            hint="Remove OTP_REQUIRED=0 (and any OTP_REQUIRED_ROLES narrowing it) from the production environment.",
            id="security.W001",
        )
    ]
