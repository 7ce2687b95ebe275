"""Account security and the access log of sensitive data.

- :class:`AxesBackend`: django-axes' lockout (per username and address, per username, per address:
  :class:`LockoutHandler`), tolerant of
  ``authenticate()`` calls without a request (the test client's ``login``, shell scripts).
- :class:`OTPRequiredMiddleware`: a signed-in user whose role needs two-factor authentication
  (``settings.OTP_REQUIRED_ROLES``), or who has set up a device, is sent to the TOTP setup or
  verify page until verified.
- Signal receivers log every login, failed login and logout to the ``security`` logger.
- :func:`record_access`: append an :class:`~security.models.AccessLog` entry when a member's
  details are opened or a member list is exported; :class:`AccessLogMiddleware` calls it for the
  pages and endpoints named in :data:`ACCESS_LOGGED_VIEWS` and for every file download, so views
  need not (an export view may set ``request.access_log_member_ids`` to name the members exported).
  The log fails closed: a request whose entry cannot be written gets a 503, never the data; text
  is stored whatever it holds (a NUL written as ``\\u0000``).
"""

import hashlib
import logging
import secrets
from functools import reduce
from operator import or_
from urllib.parse import urlencode

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from core.prepared import PreparedQuery
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


def _session_users(user_id):
    from django_otp import device_classes

    confirmed = [Exists(device.objects.filter(user=OuterRef("pk"), confirmed=True)) for device in device_classes()]
    users = get_user_model()._default_manager.select_related("preference")
    if confirmed:
        users = users.annotate(otp_device_confirmed=reduce(or_, confirmed))
    return users.filter(pk=user_id)


class SessionUserBackend(ModelBackend):
    """Django's model backend whose signed-in user arrives, in the one query of each request, with
    their profile (the name every page greets) and whether they confirmed a second factor (which
    ``OTPRequiredMiddleware`` asks of every request): two queries fewer per page. Its SQL is
    compiled once per connection (``core.prepared``)."""

    session_users = PreparedQuery(_session_users)

    def get_user(self, user_id):
        found = self.session_users(user_id)
        user = found[0] if found else None
        return user if user is not None and self.user_can_authenticate(user) else None


def lockout_username(request, credentials=None):
    """The username the lockout counts, spelt as sign-in reads it (trimmed, NFKC): ``" quantri"``
    and ``"quantri"`` are one account, so spaces cannot dodge the per-username limit."""
    import unicodedata

    value = (credentials or {}).get("username")
    if value is None and request is not None:
        value = getattr(request, "POST", {}).get("username")
        if value is None and getattr(request, "data", None) is not None:
            value = request.data.get("username") if hasattr(request.data, "get") else None
    if not isinstance(value, str):
        return value
    return unicodedata.normalize("NFKC", value).strip()


class LockoutHandler(AxesDatabaseHandler):
    """Axes' database handler with a limit per combination of ``AXES_LOCKOUT_PARAMETERS``:
    ``AXES_FAILURE_LIMIT`` for a username from one address, ``LOCKOUT_LIMIT_PER_USERNAME`` for one
    username from any address, ``LOCKOUT_LIMIT_PER_ADDRESS`` for one address whatever the username.

    Each combination's failures are scaled to the base limit, so axes' single comparison locks out
    when any combination reaches its own limit. A successful sign-in clears the failures of that
    username, never those of the address (signing in to one's own account must not reset it).
    """

    @staticmethod
    def _limit(parameter, base):
        names = {parameter} if isinstance(parameter, str) else set(parameter)
        if names == {"username"}:
            return getattr(settings, "LOCKOUT_LIMIT_PER_USERNAME", base)
        if names == {"ip_address"}:
            return getattr(settings, "LOCKOUT_LIMIT_PER_ADDRESS", base)
        return base

    def get_failures(self, request, credentials=None):
        from axes.helpers import get_failure_limit, get_lockout_parameters
        from django.db.models import Sum

        base = get_failure_limit(request, credentials)
        parameters = get_lockout_parameters(request, credentials)
        worst = 0
        for attempts, parameter in zip(self.get_user_attempts(request, credentials), parameters, strict=False):
            failures = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            worst = max(worst, failures * base // max(1, self._limit(parameter, base)))
        return worst

    def reset_user_attempts(self, request, credentials=None):
        from axes.helpers import get_lockout_parameters

        parameters = get_lockout_parameters(request, credentials)
        count = 0
        for attempts, parameter in zip(self.filter_user_attempts(request, credentials), parameters, strict=False):
            names = {parameter} if isinstance(parameter, str) else set(parameter)
            if "username" in names:
                count += attempts.delete()[0]
        return count


def lockout_response(request, original_response=None, credentials=None):
    """The lockout answer (429): JSON under ``/api/``, else the lockout page."""
    from django.shortcuts import render

    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": _("Too many failed attempts to sign in: signing in is blocked for a while.")}, status=429
        )
    return render(
        request,
        "security/lockout.html",
        {"cooloff_timedelta": getattr(settings, "AXES_COOLOFF_TIME", None)},
        status=429,
    )


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


# Probes of records outside the user's scope ----------------------------------------------


def note_scope_probe(user, field):
    """A number held by a record outside ``user``'s scope was refused: log it, count it per user and
    day, and alert the administrators (mail and an error in the security log) when one user reaches
    ``settings.SCOPE_PROBE_ALERT_AFTER`` such refusals in a day, and at every multiple of it.

    Log and counter live outside the database, so the refused change's rollback keeps them.
    """
    from django.core.cache import cache
    from django.core.mail import mail_admins

    username = user.get_username() if user is not None else "-"
    logger.warning("out-of-scope duplicate refused user=%s field=%s", username, field)
    key = f"scope-probe:{getattr(user, 'pk', None)}:{timezone.localdate():%Y%m%d}"
    cache.add(key, 0, timeout=2 * 24 * 3600)
    try:
        count = cache.incr(key)
    except ValueError:  # expired in between
        cache.set(key, count := 1, timeout=2 * 24 * 3600)
    threshold = getattr(settings, "SCOPE_PROBE_ALERT_AFTER", 5)
    if count % threshold == 0:
        message = (
            f"The user {username} was refused {count} citizen ID or Party card numbers held by members "
            "outside their scope today. Repeated refusals may be someone probing who is a Party member."
        )
        logger.error("scope probe alert user=%s count=%s", username, count)
        mail_admins(f"Possible probing by {username}", message, fail_silently=True)
    return count


# Two-factor authentication ----------------------------------------------------------------


def has_confirmed_device(user):
    known = getattr(user, "otp_device_confirmed", None)  # read with the user (SessionUserBackend)
    if known is not None:
        return known
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

    def refuse(self, request, user):
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"detail": _("Two-factor authentication is required: sign in through the web page first.")},
                status=403,
            )
        name = "security:otp_verify" if has_confirmed_device(user) else "security:otp_setup"
        return redirect(f"{reverse(name)}?{urlencode({'next': request.get_full_path()})}")


# A password an administrator set ----------------------------------------------------------

PASSWORD_CHANGE_EXEMPT_URL_NAMES = (
    "password_change",
    "password_change_done",
    "logout",
    "security:otp_setup",
    "security:otp_verify",
    "security:data_protection",
    "health",
)


#: Set in the session at sign-in when the password must be changed (no query on other requests).
PASSWORD_CHANGE_SESSION_KEY = "password_change_required"


@receiver(user_logged_in)
def ask_for_password_change(sender, request, user, **kwargs):
    """At sign-in: remember in the session whether an administrator set the password."""
    from security.services import must_change_password

    if request is not None and hasattr(request, "session") and must_change_password(user):
        request.session[PASSWORD_CHANGE_SESSION_KEY] = True


def password_change_done(request):
    """The user changed their own password: clear the flag and let them go on."""
    from security.services import password_changed

    password_changed(request.user)
    request.session.pop(PASSWORD_CHANGE_SESSION_KEY, None)


class PasswordChangeRequiredMiddleware(OTPRequiredMiddleware):
    """Sends a signed-in user whose password an administrator set to the password-change page until
    they choose their own (``security.services.require_password_change``); the API refuses them.
    After ``OTPRequiredMiddleware``: the second factor is asked first."""

    def exempt_paths(self):
        if self._exempt_paths is None:
            self._exempt_paths = {reverse(name) for name in PASSWORD_CHANGE_EXEMPT_URL_NAMES}
        return self._exempt_paths

    def __call__(self, request):
        session = getattr(request, "session", None)
        if (
            session is not None
            and session.get(PASSWORD_CHANGE_SESSION_KEY)
            and request.user.is_authenticated
            and not request.path.startswith(OTP_EXEMPT_PREFIXES)
            and request.path not in self.exempt_paths()
        ):
            return self.refuse(request, request.user)
        return self.get_response(request)

    def refuse(self, request, user):
        message = _("An administrator set your password: choose your own before you go on.")
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message}, status=403)
        messages.warning(request, message)
        return redirect(reverse("password_change"))


# API tokens -------------------------------------------------------------------------------
#
# The rule, in one place: a token works for an account that needs two-factor authentication only
# if it was issued after that account passed its second factor (``ApiToken.second_factor``). The
# token endpoint asks two-factor accounts for their TOTP code; the decision is made on the user
# that ``authenticate()`` returned, never on the username as submitted.


def token_digest(key):
    return hashlib.sha256(key.encode()).hexdigest()


def issue_token(user, *, second_factor, created_by=None):
    """A new API token for ``user``: returns ``(token, key)``; only the key's digest is stored."""
    from security.models import ApiToken

    key = secrets.token_hex(20)
    token = ApiToken.objects.create(
        user=user,
        digest=token_digest(key),
        prefix=key[:8],
        expires_at=timezone.now() + settings.API_TOKEN_LIFETIME,
        second_factor=second_factor,
        created_by=created_by,
    )
    logger.info(
        "api token issued user=%s by=%s second_factor=%s",
        user.get_username(),
        created_by.get_username() if created_by is not None else "-",
        second_factor,
    )
    return token, key


def revoke_token(token, acting_user):
    from security.models import ApiToken

    if token.revoked_at is None:
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
        token.refresh_from_db(fields=["revoked_at"])
    logger.info("api token revoked user=%s prefix=%s by=%s", token.user.get_username(), token.prefix, acting_user)


def token_usable_by(token):
    """Whether ``token`` may authenticate its user now (the two-factor rule included)."""
    return token.second_factor or not otp_required_for(token.user)


class ApiTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>`` against :class:`~security.models.ApiToken`: unexpired, unrevoked,
    issued after the second factor where the account needs one; each use is recorded."""

    def authenticate(self, request):
        self._request = request
        return super().authenticate(request)

    def authenticate_credentials(self, key):
        from security.models import ApiToken, ApiTokenUse

        now = timezone.now()
        token = (
            ApiToken.objects.usable(now).select_related("user").filter(digest=token_digest(key)).first()
            if len(key) <= 100
            else None
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("Invalid or expired token."))
        if not token_usable_by(token):
            log_permission_denied(self._request._request, "API token issued without the second factor refused")
            raise exceptions.AuthenticationFailed(
                _("This account uses two-factor authentication: ask for a new token with your code.")
            )
        request = self._request
        ApiTokenUse.objects.create(
            token=token,
            ip_address=client_ip(request),
            method=request.method[:10],
            path=log_safe(request.get_full_path())[:500],
        )
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token


# Access log -------------------------------------------------------------------------------


class AccessLogUnavailable(Exception):
    """The access-log entry could not be written: the data must not be served."""


def log_safe(text):
    """Text as the log stores it: any character kept, a NUL (which PostgreSQL refuses in text and
    JSON) written as ``\\u0000`` and a backslash doubled, so the original can be read back."""
    return str(text).replace("\\", "\\\\").replace("\x00", "\\u0000")


def _log_safe_filters(filters):
    safe = {}
    for key, value in filters.items():
        if key == "csrfmiddlewaretoken":
            continue
        safe[log_safe(key)] = [log_safe(item) for item in value] if isinstance(value, list) else log_safe(value)
    return safe


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
    try:
        with transaction.atomic():
            return AccessLog.objects.create(
                user=user,
                username=user.get_username() if user is not None else "",
                action=action,
                member_ids=member_ids,
                filters=_log_safe_filters(filters or {}),
                path=log_safe(request.get_full_path())[:500] if request is not None else "",
                ip_address=client_ip(request),
                user_agent=log_safe(user_agent(request)),
            )
    except Exception as exc:
        logger.exception("access log entry could not be written for %s", getattr(request, "path", "-"))
        raise AccessLogUnavailable from exc


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
    "branches:member_correct_admission": ("edited", {"POST"}),
    "branches:member_undo_leaving": ("edited", {"POST"}),
    "api:member-leave": ("edited", {"POST"}),
    "api:member-recognize": ("edited", {"POST"}),
    "api:member-transfer": ("edited", {"POST"}),
    "api:member-correct-admission": ("edited", {"POST"}),
    "api:member-undo-leaving": ("edited", {"POST"}),
    "api:member-list": ("exported", {"GET"}),
    # History pages: logged when they show members (the view names them in access_log_member_ids).
    "io:record_history": ("viewed", {"GET"}),
    "io:changeset": ("viewed", {"GET"}),
}
LOGGED_WHEN_MEMBERS_SHOWN = {"io:record_history", "io:changeset"}
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
        except AccessLogUnavailable:
            return self.refuse(request)  # fail closed: no data served without its log entry
        return response

    def process_exception(self, request, exception):
        """A view that records its access itself and could not: refused the same way."""
        if isinstance(exception, AccessLogUnavailable):
            return self.refuse(request)
        return None

    @staticmethod
    def refuse(request):
        message = _("The access log could not be written, so the data is not shown. Try again in a moment.")
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": message}, status=503)
        else:
            response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = "30"
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
        if match.view_name in LOGGED_WHEN_MEMBERS_SHOWN and not explicit_ids and not download:
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
