"""Data exchange: import templates, imports, exports and the change history (mounted at ``data/``)."""

from django.urls import path

from dataio import views as views_io

app_name = "io"

urlpatterns = [
    path("export/", views_io.export, name="export"),
    path("import/", views_io.import_upload, name="import"),
    path("import/template/", views_io.import_template, name="template"),
    path("import/<str:token>/commit/", views_io.import_commit, name="import_commit"),
    path("restructure/", views_io.restructure_upload, name="restructure"),
    path("restructure/template/", views_io.restructure_template, name="restructure_template"),
    path("restructure/<str:token>/commit/", views_io.restructure_commit, name="restructure_commit"),
    path("changes/", views_io.changes, name="changes"),
    path("changes/set/", views_io.changeset, name="changeset"),
    path("history/<str:model_key>/<int:pk>/", views_io.record_history, name="record_history"),
]
