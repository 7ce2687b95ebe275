from django.urls import path

from enterprises import views

app_name = "enterprises"

urlpatterns = [
    path("", views.EnterpriseListView.as_view(), name="enterprise_list"),
    path("add/", views.EnterpriseCreateView.as_view(), name="enterprise_add"),
    path("autocomplete/", views.EnterpriseAutocompleteView.as_view(), name="enterprise_autocomplete"),
    path("localities/", views.LocalityTreeView.as_view(), name="locality_tree"),
    path("localities/<int:pk>/", views.LocalityDetailView.as_view(), name="locality_detail"),
    path("localities/autocomplete/", views.LocalityAutocompleteView.as_view(), name="locality_autocomplete"),
    path("<int:pk>/", views.EnterpriseDetailView.as_view(), name="enterprise_detail"),
    path("<int:pk>/edit/", views.EnterpriseEditView.as_view(), name="enterprise_edit"),
    path("mass-organizations/", views.MassOrganizationListView.as_view(), name="massorganization_list"),
    path("mass-organizations/add/", views.MassOrganizationCreateView.as_view(), name="massorganization_add"),
    path("mass-organizations/<int:pk>/", views.MassOrganizationDetailView.as_view(), name="massorganization_detail"),
    path("mass-organizations/<int:pk>/edit/", views.MassOrganizationEditView.as_view(), name="massorganization_edit"),
    path(
        "mass-organizations/<int:pk>/return/",
        views.MembershipReturnCreateView.as_view(),
        name="massorganization_return",
    ),
    path(
        "mass-organizations/returns/<int:pk>/correct/",
        views.MembershipReturnCorrectView.as_view(),
        name="membershipreturn_correct",
    ),
    path(
        "mass-organizations/<int:pk>/dissolve/",
        views.MassOrganizationDissolveView.as_view(),
        name="massorganization_dissolve",
    ),
]
