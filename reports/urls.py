from django.urls import path

from reports import deadline_views, views

app_name = "reports"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("targets/", views.targets, name="targets"),
    path("fulfilment/export/", views.fulfilment_export, name="fulfilment_export"),
    path("movement/", views.movement, name="movement"),
    path("admissions/", views.admissions, name="admissions"),
    path("gaps/<slug:kind>/", views.gap_list, name="gap_list"),
    path("deadlines/", deadline_views.deadlines, name="deadlines"),
    path("deadlines/committees/", deadline_views.deadline_committees, name="deadline_committees"),
    path("approval/", views.approval_action, name="approval_action"),
]
