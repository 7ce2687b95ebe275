from rest_framework.routers import SimpleRouter

from enterprises.api import views

router = SimpleRouter()
router.register("localities", views.LocalityViewSet, basename="locality")
router.register("enterprises", views.EnterpriseViewSet, basename="enterprise")
router.register("mass-organizations", views.MassOrganizationViewSet, basename="massorganization")

#: Addresses outside the router (config/api_urls.py gathers the routers' registries in one).
urlpatterns = []
