from django.urls import path

from branches import badge_views, views

app_name = "branches"

urlpatterns = [
    path("role/switch/", views.switch_role, name="role_switch"),
    path("organizations/", views.OrganizationListView.as_view(), name="organization_list"),
    path("organizations/autocomplete/", views.OrganizationAutocompleteView.as_view(), name="organization_autocomplete"),
    path("organizations/tree/", views.OrganizationTreeView.as_view(), name="organization_tree"),
    path("organizations/<int:pk>/", views.OrganizationDetailView.as_view(), name="organization_detail"),
    path("organizations/<int:pk>/incoming/", views.IncomingTransfersView.as_view(), name="organization_incoming"),
    path("organizations/<int:pk>/former-members/", views.FormerMembersView.as_view(), name="organization_former"),
    path("transfers/<int:pk>/confirm/", views.TransferConfirmView.as_view(), name="transfer_confirm"),
    path("transfers/<int:pk>/cancel/", views.TransferCancelView.as_view(), name="transfer_cancel"),
    path("transfers/<int:pk>/redirect/", views.TransferRedirectView.as_view(), name="transfer_redirect"),
    path("transfers/<int:pk>/end/", views.TransferEndView.as_view(), name="transfer_end"),
    path("members/", views.MemberListView.as_view(), name="member_list"),
    path("members/admit/", views.MemberAdmitView.as_view(), name="member_admit"),
    path("members/<int:pk>/", views.MemberDetailView.as_view(), name="member_detail"),
    path("members/<int:pk>/edit/", views.MemberEditView.as_view(), name="member_edit"),
    path("members/<int:pk>/recognize/", views.MemberRecognizeView.as_view(), name="member_recognize"),
    path("members/<int:pk>/ceremony/", views.MemberCeremonyView.as_view(), name="member_ceremony"),
    path("members/<int:pk>/transfer/", views.MemberTransferView.as_view(), name="member_transfer"),
    path("members/<int:pk>/leave/", views.MemberLeaveView.as_view(), name="member_leave"),
    path("members/<int:pk>/badge/", badge_views.MemberBadgeView.as_view(), name="member_badge"),
    path("badges/", badge_views.badge_list, name="badge_list"),
    path(
        "members/<int:pk>/correct-admission/",
        views.MemberCorrectAdmissionView.as_view(),
        name="member_correct_admission",
    ),
    path("members/<int:pk>/undo-leaving/", views.MemberUndoLeavingView.as_view(), name="member_undo_leaving"),
    path("prospects/", views.ProspectListView.as_view(), name="prospect_list"),
    path("prospects/add/", views.ProspectCreateView.as_view(), name="prospect_add"),
    path("prospects/<int:pk>/", views.ProspectDetailView.as_view(), name="prospect_detail"),
    path("prospects/<int:pk>/edit/", views.ProspectEditView.as_view(), name="prospect_edit"),
    path("prospects/<int:pk>/withdraw/", views.ProspectWithdrawView.as_view(), name="prospect_withdraw"),
    path("prospects/<int:pk>/admit/", views.ProspectAdmitView.as_view(), name="prospect_admit"),
]
