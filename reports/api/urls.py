from django.urls import path
from rest_framework.routers import SimpleRouter

from reports.api import views

router = SimpleRouter()
router.register("targets", views.TargetViewSet, basename="target")

#: Addresses outside the router (config/api_urls.py gathers the routers' registries in one).
urlpatterns = [
    path("reports/fulfilment/", views.FulfilmentReportView.as_view(), name="report-fulfilment"),
    path("reports/structure/", views.StructureReportView.as_view(), name="report-structure"),
    path("reports/gaps/", views.GapsReportView.as_view(), name="report-gaps"),
    path("reports/movement/", views.MovementReportView.as_view(), name="report-movement"),
    path("reports/admissions/", views.AdmissionsReportView.as_view(), name="report-admissions"),
]
