"""Background jobs: their page, status and result (mounted at ``tasks/``)."""

from django.urls import path

from core import job_views

app_name = "tasks"

urlpatterns = [
    path("<uuid:job_id>/", job_views.job_page, name="job"),
    path("<uuid:job_id>/status/", job_views.job_status, name="status"),
    path("<uuid:job_id>/download/", job_views.job_download, name="download"),
]
