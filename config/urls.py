from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from branches.views import PasswordChangeView, SignInView, SignOutView, home
from config.health import health
from core.views import set_interface_language

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    path("i18n/setlang/", set_interface_language, name="set_language"),  # remembered per user
    path("i18n/", include("django.conf.urls.i18n")),
    path("health/", health, name="health"),
    path("security/", include("security.views")),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/logout/", SignOutView.as_view(), name="logout"),
    path("accounts/password/", PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("", home, name="home"),
    path("", include("branches.urls")),
    path("", include("reports.home_urls")),
    path("enterprises/", include("enterprises.urls")),
    path("reports/", include("reports.urls")),
    path("data/", include("dataio.urls", namespace="io")),
    path("tasks/", include("core.urls", namespace="tasks")),
]

handler403 = "security.views.permission_denied"
handler500 = "config.middleware.server_error"
