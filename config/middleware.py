"""Cross-cutting response rules: no caching of personal data, and a 503 when the database is down.

``DatabaseUnavailableMiddleware.process_exception`` turns a database connection failure inside a
view into a 503 (an HTML page, or JSON under ``/api/``); :func:`server_error` (``handler500``)
does the same for failures raised by other middleware (sessions, authentication), so users never
see a traceback.
"""

import json
import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.views.decorators.csrf import requires_csrf_token
from django.views.defaults import server_error as django_server_error

logger = logging.getLogger("django.request")

DATABASE_ERRORS = (OperationalError, InterfaceError)


def is_api_request(request):
    return request.path.startswith("/api/")


def database_unavailable_response(request):
    """503 with ``Retry-After``: JSON for the API, the 503 page (rendered without the database) otherwise."""
    message = _("The database is unavailable at the moment. Please try again in a few minutes.")
    if is_api_request(request):
        response = JsonResponse({"detail": message, "code": "database_unavailable"}, status=503)
    else:
        # Rendered without a RequestContext: context processors would query the database again.
        html = loader.get_template("503.html").render({"message": message})
        response = _html_response(html, status=503)
    response["Retry-After"] = "60"
    response["Cache-Control"] = "no-store"
    return response


def _html_response(html, status):
    return HttpResponse(html, status=status, content_type="text/html; charset=utf-8")


class DatabaseUnavailableMiddleware:
    """Answers 503 instead of a 500 traceback when a view loses the database."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_ERRORS):
            logger.error("Database unavailable while serving %s", request.path, exc_info=exception)
            return database_unavailable_response(request)
        return None


@requires_csrf_token
def server_error(request, template_name="500.html"):
    """``handler500``: a database outage anywhere in the stack is a 503, anything else a plain 500."""
    exception = sys.exc_info()[1]
    if isinstance(exception, DATABASE_ERRORS):
        return database_unavailable_response(request)
    if is_api_request(request):
        return JsonResponse({"detail": _("Server error."), "code": "server_error"}, status=500)
    return django_server_error(request, template_name=template_name)


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every page shown to a signed-in user (they show personal data)
    and on every API response, so neither browsers nor proxies keep a copy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        try:
            user = getattr(request, "user", None)
            signed_in = user is not None and getattr(user, "is_authenticated", False)
        except DATABASE_ERRORS:
            signed_in = True  # cannot tell: be safe
        content_type = response.get("Content-Type", "")
        if is_api_request(request) or (signed_in and not content_type.startswith(("text/css", "image/"))):
            response["Cache-Control"] = "no-store"
            response["Pragma"] = "no-cache"
        return response


class RejectLoneSurrogatesMiddleware:
    """Refuses (400) a JSON body whose strings hold lone UTF-16 surrogates (``"\\ud800"``).

    JSON may escape them, Python decodes them, but no database can store them: without this
    check such a request would end in a 500 deep inside a query.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in ("POST", "PUT", "PATCH") and request.content_type == "application/json":
            try:
                json.dumps(json.loads(request.body or b"null"), ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                return JsonResponse(
                    {"detail": _("The request contains characters that cannot be stored (lone surrogates).")},
                    status=400,
                )
            except ValueError:
                pass  # malformed JSON: the API's parser answers 400 itself
        return self.get_response(request)
