from django.urls import path
from rest_framework.routers import SimpleRouter

from branches.api import views

router = SimpleRouter()
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("members", views.MemberViewSet, basename="member")
router.register("prospects", views.ProspectViewSet, basename="prospect")
router.register("transfers", views.TransferViewSet, basename="transfer")
router.register("users", views.UserViewSet, basename="user")
router.register("role-assignments", views.RoleAssignmentViewSet, basename="roleassignment")
router.register("tokens", views.ApiTokenViewSet, basename="apitoken")
router.register("deadlines", views.DeadlineViewSet, basename="deadline")
router.register("badges", views.BadgeViewSet, basename="badge")

#: Addresses outside the router (config/api_urls.py gathers the routers' registries in one).
urlpatterns = [
    path("approvals/", views.ApprovalView.as_view(), name="approvals"),
    *(
        path(f"approvals/{name}/", views.ApprovalView.as_view(step=name), name=f"approval-{name}")
        for name in ("submit", "approve", "return", "reopen")
    ),
]
