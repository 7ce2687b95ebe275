"""The REST API, mounted at ``/api/v1/``: one router over the apps' viewsets, the schema and its docs.

Each app's ``api/urls.py`` registers its viewsets on a router; this module gathers them in one
``DefaultRouter`` (so the API root lists every endpoint) and adds the OpenAPI schema
(``schema/``), the Swagger UI served from drf-spectacular-sidecar (``docs/``, no CDN), and
``auth/token/`` (username, password and, for two-factor accounts, the TOTP code → a new token).
Unknown addresses get a JSON 404.
"""

from django.http import JsonResponse
from django.urls import include, path, re_path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from branches.api.urls import router as branches_router
from branches.api.views import ObtainTokenView
from enterprises.api.urls import router as enterprises_router
from reports.api.urls import router as reports_router

app_name = "api"

router = DefaultRouter()
for app_router in (enterprises_router, branches_router, reports_router):
    router.registry.extend(app_router.registry)


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Any other address under the API: a JSON 404 like the API's own, never the HTML page."""
    return JsonResponse({"detail": _("Not found.")}, status=404)


urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: no inline script, so the CSP holds.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("auth/token/", ObtainTokenView.as_view(), name="token"),
    path("", include("reports.api.urls")),
    path("", include("branches.api.urls")),
    path("", include(router.urls)),
    re_path(r"^.*$", not_found),
]
