"""Account security and the access log of sensitive data.

- :class:`AxesBackend`: django-axes' lockout (5 failures per username and address), tolerant of
  ``authenticate()`` calls without a request (the test client's ``login``, shell scripts).
- :class:`OTPRequiredMiddleware`: a signed-in user whose role needs two-factor authentication
  (``settings.OTP_REQUIRED_ROLES``), or who has set up a device, is sent to the TOTP setup or
  verify page until verified.
- Signal receivers log every login, failed login and logout to the ``security`` logger.
- :func:`record_access`: append an :class:`~branches.models.AccessLog` entry when a member's
  details are opened or a member list is exported; :class:`AccessLogMiddleware` calls it for the
  pages and endpoints named in :data:`ACCESS_LOGGED_VIEWS` and for every file download, so views
  need not (an export view may set ``request.access_log_member_ids`` to name the members exported).
"""

import logging
from urllib.parse import urlencode

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from core.scoping import scope_for

logger = logging.getLogger("security")


# Client address ---------------------------------------------------------------------------


def client_ip(request):
    """The client's address: nginx's ``X-Real-IP`` when behind it (``USE_X_REAL_IP``), else REMOTE_ADDR."""
    if request is None:
        return None
    if getattr(settings, "USE_X_REAL_IP", False):
        real_ip = request.META.get("HTTP_X_REAL_IP", "").strip()
        if real_ip:
            return real_ip
    return request.META.get("REMOTE_ADDR") or None


def user_agent(request):
    return (request.META.get("HTTP_USER_AGENT", "") if request is not None else "")[:500]


# Login protection -------------------------------------------------------------------------


class AxesBackend(AxesStandaloneBackend):
    """Axes' lockout check; an ``authenticate()`` without a request has no address to lock out and passes on."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


@receiver(user_logged_in)
def log_login(sender, request, user, **kwargs):
    logger.info("login user=%s ip=%s", user.get_username(), client_ip(request))


@receiver(user_logged_out)
def log_logout(sender, request, user, **kwargs):
    logger.info("logout user=%s ip=%s", user.get_username() if user else "-", client_ip(request))


@receiver(user_login_failed)
def log_login_failed(sender, credentials, request=None, **kwargs):
    logger.warning(
        "login failed user=%s ip=%s%s",
        credentials.get("username", "-"),
        client_ip(request),
        " (locked out)" if getattr(request, "axes_locked_out", False) else "",
    )


def log_permission_denied(request, reason=""):
    request.permission_denied_logged = True
    user = getattr(request, "user", None)
    logger.warning(
        "permission denied user=%s ip=%s %s %s %s",
        user.get_username() if user is not None and user.is_authenticated else "-",
        client_ip(request),
        request.method,
        request.path,
        reason,
    )


# Two-factor authentication ----------------------------------------------------------------


def has_confirmed_device(user):
    from django_otp import devices_for_user

    return any(True for _device in devices_for_user(user, confirmed=True))


def otp_required_for(user):
    """Whether ``user`` must pass a TOTP check: their role needs it (the scope answers), or they set
    up a device themselves."""
    if not getattr(user, "is_authenticated", False):
        return False
    return scope_for(user).must_use_two_factor or has_confirmed_device(user)


OTP_EXEMPT_URL_NAMES = ("security:otp_setup", "security:otp_verify", "security:data_protection", "logout", "health")
OTP_EXEMPT_PREFIXES = ("/static/", "/i18n/")


class OTPRequiredMiddleware:
    """Sends a signed-in user who needs two-factor authentication to set it up or to verify a code."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._exempt_paths = None

    def exempt_paths(self):
        if self._exempt_paths is None:
            paths = set()
            for name in OTP_EXEMPT_URL_NAMES:
                try:
                    paths.add(reverse(name))
                except Exception:  # noqa: BLE001 - a page not mounted is simply not exempt
                    continue
            self._exempt_paths = paths
        return self._exempt_paths

    def __call__(self, request):
        if request.method == "POST" and request.path == self.token_path():
            refusal = self.refuse_password_only_token(request)
            if refusal is not None:
                return refusal
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not (hasattr(user, "is_verified") and user.is_verified())
            and not request.path.startswith(OTP_EXEMPT_PREFIXES)
            and request.path not in self.exempt_paths()
            and otp_required_for(user)
        ):
            return self.refuse(request, user)
        return self.get_response(request)

    def token_path(self):
        try:
            return reverse("api:token")
        except Exception:  # noqa: BLE001 - no API mounted
            return None

    def refuse_password_only_token(self, request):
        """A password alone must not yield an API token for an account that needs a second factor."""
        import json

        from django.contrib.auth import get_user_model

        username = request.POST.get("username")
        if username is None and request.content_type == "application/json":
            try:
                username = (json.loads(request.body or b"{}") or {}).get("username")
            except (ValueError, AttributeError):
                username = None
        if not isinstance(username, str) or not username:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None or not otp_required_for(user):
            return None
        log_permission_denied(request, "password-only API token refused (two-factor account)")
        return JsonResponse(
            {
                "detail": _(
                    "This account uses two-factor authentication: sign in on the web page and ask an "
                    "administrator for an API token."
                )
            },
            status=403,
        )

    def refuse(self, request, user):
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"detail": _("Two-factor authentication is required: sign in through the web page first.")},
                status=403,
            )
        name = "security:otp_verify" if has_confirmed_device(user) else "security:otp_setup"
        return redirect(f"{reverse(name)}?{urlencode({'next': request.get_full_path()})}")


# Access log -------------------------------------------------------------------------------


def record_access(request, action, *, members=(), filters=None):
    """Append who opened, exported or edited which members (instances or ids), with the filters of an export.

    Call it from the member detail view (``AccessAction.VIEWED``), every member export
    (``AccessAction.EXPORTED`` with ``filters=request.GET``) and the API's member detail.
    """
    from security.models import AccessLog

    user = getattr(request, "user", None)
    if user is not None and not user.is_authenticated:
        user = None
    member_ids = sorted({getattr(member, "pk", member) for member in members})
    if request is not None:
        request.access_logged = True  # AccessLogMiddleware adds no second entry
    if filters is not None and hasattr(filters, "lists"):
        filters = {key: values if len(values) != 1 else values[0] for key, values in filters.lists()}
    return AccessLog.objects.create(
        user=user,
        username=user.get_username() if user is not None else "",
        action=action,
        member_ids=member_ids,
        filters={key: value for key, value in (filters or {}).items() if key != "csrfmiddlewaretoken"},
        path=request.get_full_path()[:500] if request is not None else "",
        ip_address=client_ip(request),
        user_agent=user_agent(request),
    )


# What is logged without the view's help: (url name, methods) → action. ``pk`` in the URL is the member.
ACCESS_LOGGED_VIEWS = {
    "branches:member_detail": ("viewed", {"GET"}),
    "api:member-detail": ("viewed", {"GET"}),
    "admin:branches_member_change": ("viewed", {"GET"}),
    "admin:branches_member_history": ("viewed", {"GET"}),
    "branches:member_edit": ("edited", {"POST"}),
    "branches:member_recognize": ("edited", {"POST"}),
    "branches:member_transfer": ("edited", {"POST"}),
    "branches:member_leave": ("edited", {"POST"}),
    "api:member-leave": ("edited", {"POST"}),
    "api:member-recognize": ("edited", {"POST"}),
    "api:member-transfer": ("edited", {"POST"}),
    "api:member-list": ("exported", {"GET"}),
}
EDIT_METHODS = {"PUT", "PATCH", "DELETE"}


def _ids_from_api_response(response):
    data = getattr(response, "data", None)
    if isinstance(data, dict):
        data = data.get("results", [])
    if not isinstance(data, list):
        return []
    return [row["id"] for row in data if isinstance(row, dict) and isinstance(row.get("id"), int)]


def _member_pk(match):
    value = match.kwargs.get("pk") or match.kwargs.get("object_id")
    try:
        return [int(value)] if value is not None else []
    except (TypeError, ValueError):
        return []


class AccessLogMiddleware:
    """Appends access-log entries for successful member views, member edits and every file download."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 403 and not getattr(request, "permission_denied_logged", False):
            log_permission_denied(request, "(API or view refusal)")  # refusals not raised as PermissionDenied
        try:
            self.log(request, response)
        except Exception:  # noqa: BLE001 - a failing log entry is reported, never loses the user's page
            logger.exception("access log entry could not be written for %s", request.path)
        return response

    def log(self, request, response):
        user = getattr(request, "user", None)
        match = getattr(request, "resolver_match", None)
        if user is None or not user.is_authenticated or match is None or response.status_code >= 400:
            return
        if getattr(request, "access_logged", False):
            return  # the view recorded the access itself
        explicit_ids = getattr(request, "access_log_member_ids", None)
        download = response.get("Content-Disposition", "").startswith("attachment")
        action, methods = ACCESS_LOGGED_VIEWS.get(match.view_name, (None, set()))
        if match.view_name == "api:member-detail" and request.method in EDIT_METHODS:
            action, methods = "edited", EDIT_METHODS
        if download:
            action, methods = "exported", {request.method}
        if action is None or request.method not in methods:
            return
        if action == "edited" and request.method == "POST" and response.status_code == 200 and not download:
            if not match.view_name.startswith("api:"):
                return  # a form shown again with errors: nothing was changed
        if explicit_ids is not None:
            member_ids = list(explicit_ids)
        elif match.view_name == "api:member-list":
            member_ids = _ids_from_api_response(response)
        elif action in ("viewed", "edited"):
            member_ids = _member_pk(match)
        elif match.view_name == "admin:branches_member_changelist":
            # an admin action downloading the selected members
            member_ids = [int(pk) for pk in request.POST.getlist("_selected_action") if pk.isdigit()]
        else:
            member_ids = []
        filters = request.GET if action == "exported" else None
        record_access(request, action, members=member_ids, filters=filters)
