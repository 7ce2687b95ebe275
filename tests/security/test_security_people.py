"""People: full names shown everywhere, the profile page, a password an administrator set, the
access log with names and readable devices."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

from core.models import UserPreference, display_name
from security.access import record_access
from security.devices import describe_device
from security.services import require_password_change, update_profile
from tests.factories import MemberFactory, UserFactory

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)


def _named(user, full_name, email=""):
    update_profile(None, user, full_name=full_name, email=email, email_digest=bool(email))
    return user


# Names -------------------------------------------------------------------------------------


def test_display_name_prefers_the_full_name_then_djangos_then_the_username(db):
    user = UserFactory(username="bithu")
    assert display_name(user) == "bithu"
    user.first_name, user.last_name = "Hằng", "Nguyễn"
    assert display_name(user) == "Hằng Nguyễn"
    _named(user, "  Nguyễn   Thị Hằng ")
    user.refresh_from_db()
    assert display_name(user) == "Nguyễn Thị Hằng"


def test_header_greets_the_user_by_full_name(client, secretary_a):
    _named(secretary_a, "Nguyễn Thị Hằng")
    client.force_login(secretary_a)
    client.cookies.load({"django_language": "vi"})
    html = client.get(reverse("security:profile")).content.decode()
    assert "Xin chào Nguyễn Thị Hằng" in html


def test_history_names_the_user(client, tree, secretary_a, department):
    from branches.services import update_member

    _named(secretary_a, "Nguyễn Thị Hằng")
    member = MemberFactory(organization=tree.branch_a)
    update_member(secretary_a, member, full_name="Trần Văn Mới")
    client.force_login(department)
    html = client.get(reverse("io:record_history", args=["member", member.pk])).content.decode()
    assert "Nguyễn Thị Hằng" in html


# Profile -----------------------------------------------------------------------------------


def test_user_sets_name_email_and_switches_the_digest_off(client, secretary_a):
    client.force_login(secretary_a)
    response = client.post(
        reverse("security:profile"),
        {"full_name": "Nguyễn Thị Hằng", "email": "hang@example.vn", "email_digest": ""},
    )
    assert response.status_code == 302
    profile = UserPreference.objects.get(user=secretary_a)
    secretary_a.refresh_from_db()
    assert (profile.full_name, secretary_a.email, profile.email_digest) == ("Nguyễn Thị Hằng", "hang@example.vn", False)


def test_profile_refuses_a_digest_without_an_address_at_the_field(client, secretary_a):
    client.force_login(secretary_a)
    response = client.post(
        reverse("security:profile"), {"full_name": "Nguyễn Thị Hằng", "email": "", "email_digest": "on"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["email"]


def test_profile_service_collects_every_error(db):
    user = UserFactory()
    with pytest.raises(ValidationError) as caught:
        update_profile(None, user, full_name=" ", email="not-an-address", email_digest=True)
    assert set(caught.value.message_dict) == {"full_name", "email"}


# A password an administrator set -------------------------------------------------------------


@pytest.fixture
def staff_administrator(administrator):
    administrator.is_staff = True
    administrator.save()
    return administrator


def test_password_set_by_an_administrator_must_be_changed_at_sign_in(client, tree, secretary_a, staff_administrator):
    client.force_login(staff_administrator)
    response = client.post(
        reverse("admin:auth_user_password_change", args=[secretary_a.pk]),
        {"password1": "Mật-khẩu-tạm-2026", "password2": "Mật-khẩu-tạm-2026", "usable_password": "true"},
    )
    assert response.status_code == 302, response.content
    assert UserPreference.objects.get(user=secretary_a).password_change_required
    client.logout()

    assert client.login(username="secretary_a", password="Mật-khẩu-tạm-2026")
    home = client.get(reverse("home"))
    assert home.status_code == 302 and home["Location"] == reverse("password_change")
    assert client.get(reverse("branches:member_list"))["Location"] == reverse("password_change")
    assert client.get(reverse("password_change")).status_code == 200
    assert client.get("/api/v1/members/").status_code == 403
    token = client.post("/api/v1/auth/token/", {"username": "secretary_a", "password": "Mật-khẩu-tạm-2026"})
    assert token.status_code == 403

    changed = client.post(
        reverse("password_change"),
        {
            "old_password": "Mật-khẩu-tạm-2026",
            "new_password1": "Riêng-của-tôi-2026!",
            "new_password2": "Riêng-của-tôi-2026!",
        },
    )
    assert changed.status_code == 302
    assert not UserPreference.objects.get(user=secretary_a).password_change_required
    assert client.get(reverse("branches:member_list")).status_code == 200


def test_user_created_by_an_administrator_must_change_the_password(client, staff_administrator):
    client.force_login(staff_administrator)
    response = client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "bithu.moi",
            "password1": "Tạm-thời-2026!",
            "password2": "Tạm-thời-2026!",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content
    user = get_user_model().objects.get(username="bithu.moi")
    assert UserPreference.objects.get(user=user).password_change_required


def test_a_user_without_the_flag_goes_anywhere(client, secretary_a):
    client.force_login(secretary_a)
    assert client.get(reverse("branches:member_list")).status_code == 200


def test_flag_set_after_sign_in_applies_from_the_next_sign_in(client, secretary_a):
    require_password_change(secretary_a)
    client.force_login(secretary_a)
    assert client.get(reverse("branches:member_list")).status_code == 302


# The access log ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (CHROME_WINDOWS, "Chrome 131 on Windows 10"),
        (SAFARI_IPHONE, "Mobile Safari 17 on iOS 17.4 (iPhone)"),
        ("curl/8.5.0", "curl 8"),
        ("", ""),
        ("x" * 80, "x" * 59 + "…"),
    ],
)
def test_devices_are_described_readably(user_agent, expected):
    with translation.override("en"):
        assert describe_device(user_agent) == expected


def test_access_log_shows_names_of_users_and_members_and_the_device(client, tree, administrator, secretary_a):
    _named(secretary_a, "Nguyễn Thị Hằng")
    member = MemberFactory(organization=tree.branch_a, full_name="Lê Văn Bình")
    request = RequestFactory().get("/x/", HTTP_USER_AGENT=SAFARI_IPHONE)
    request.user = secretary_a
    record_access(request, "viewed", members=[member.pk])
    client.force_login(administrator)
    html = client.get(reverse("security:access_log")).content.decode()
    assert "Nguyễn Thị Hằng (secretary_a)" in html
    assert f"Lê Văn Bình (#{member.pk})" in html
    assert "Mobile Safari 17 trên iOS 17.4 (iPhone)" in html  # the interface is Vietnamese
    by_name = client.get(reverse("security:access_log"), {"username": "thị hằng"}).content.decode()
    assert "Lê Văn Bình" in by_name


def test_the_sign_in_welcome_names_the_user_by_full_name(client, secretary_a):
    _named(secretary_a, "Nguyễn Thị Hằng")
    secretary_a.set_password("Mật-khẩu-dài-2026")
    secretary_a.save()
    client.cookies.load({"django_language": "vi"})
    response = client.post(
        reverse("login"), {"username": secretary_a.username, "password": "Mật-khẩu-dài-2026"}, follow=True
    )
    assert "Xin chào Nguyễn Thị Hằng." in response.content.decode()
