from django.urls import path

from reports import home

app_name = "home"

urlpatterns = [
    path("organizations/<int:pk>/home/", home.OrganizationHomeView.as_view(), name="organization"),
]
