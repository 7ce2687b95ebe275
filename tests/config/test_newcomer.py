"""A newcomer's first run (issue 16, deliverable 12): `make run` shows friendly error pages (no
Django debug page) with the static files still served, a favicon everywhere, and the interface in
Vietnamese unless the user chooses English, remembered per user."""

import re

import pytest
from django.conf import settings
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

from config.middleware import server_error
from core.middleware import LANGUAGE_SESSION_KEY
from core.models import UserPreference
from tests.api_conftest import API

COOKIE = settings.LANGUAGE_COOKIE_NAME


def make_run_recipe():
    text = (settings.BASE_DIR / "Makefile").read_text()
    return re.search(r"^run: .*?\n((?:\t.*\n)+)", text, re.M).group(1)


def test_make_run_serves_without_debug_pages_and_with_static_files():
    recipe = make_run_recipe()
    assert "DEBUG=0" in recipe and "DEBUG=1" not in recipe
    assert "STATIC_FROM_SOURCE=1" in recipe and "HTTPS=0" in recipe


def test_with_debug_off_the_static_files_come_from_the_source_folders(settings, db):
    # What STATIC_FROM_SOURCE=1 sets: WhiteNoise finds the files without collectstatic.
    settings.DEBUG = False
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    client = Client()  # a new client: its middleware reads these settings
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert b"".join(response.streaming_content)


def test_a_mistyped_address_gets_the_friendly_404(client, db):
    response = client.get("/no/such/page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "Không tìm thấy" in html or "Not found" in html
    assert "URLconf" not in html and "Traceback" not in html


def test_the_500_page_is_friendly_and_translated(db):
    request = RequestFactory().get("/members/")
    with translation.override("vi"):
        response = server_error(request)
    html = response.content.decode()
    assert response.status_code == 500
    assert "Đã xảy ra lỗi" in html and "Server Error" not in html


def test_favicon_is_served_at_the_root_and_linked_from_the_pages_and_the_admin(client, administrator, settings):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file
    login_page = client.get(reverse("login")).content.decode()
    assert 'rel="icon"' in login_page
    settings.OTP_REQUIRED_ROLES = ()
    administrator.is_staff = True
    administrator.save()
    client.force_login(administrator)
    admin_page = client.get(reverse("admin:index")).content.decode()
    assert re.search(r'<link rel="icon" href="/static/css/favicon\.svg"', admin_page)


# The interface language ------------------------------------------------------------------------


def test_the_browsers_language_is_not_followed(client, secretary_a, tree):
    client.force_login(secretary_a)
    page = client.get(reverse("branches:member_list"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert 'lang="vi"' in page.content.decode()


def test_the_api_still_follows_accept_language(client, secretary_a, tree):
    client.force_login(secretary_a)

    def refusal(language):
        response = client.post(f"{API}members/", {}, content_type="application/json", HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 400
        return response.json()["full_name"]

    assert refusal("en") == ["This field is required."]
    assert refusal("vi") != refusal("en")


def choose(client, language):
    return client.post(reverse("set_language"), {"language": language, "next": reverse("login")})


def sign_in(client, user, password="secret-Pass-123"):
    user.set_password(password)
    user.save()
    response = client.post(reverse("login"), {"username": user.username, "password": password})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def test_a_choice_made_while_signed_in_follows_the_user_to_another_device(client, secretary_a, tree):
    sign_in(client, secretary_a)
    assert choose(client, "en").status_code == 302
    assert UserPreference.objects.get(user=secretary_a).language == "en"
    other_device = Client()
    sign_in(other_device, secretary_a)
    assert other_device.session[LANGUAGE_SESSION_KEY] == "en"
    page = other_device.get(reverse("branches:member_list")).content.decode()
    assert 'lang="en"' in page
    # and back to Vietnamese, remembered too
    choose(other_device, "vi")
    assert UserPreference.objects.get(user=secretary_a).language == "vi"
    third = sign_in(Client(), secretary_a)
    assert 'lang="vi"' in third.get(reverse("branches:member_list")).content.decode()


def test_a_choice_made_on_the_sign_in_page_is_kept_for_the_user(client, secretary_a, tree):
    choose(client, "en")
    assert client.cookies[COOKIE].value == "en"
    sign_in(client, secretary_a)
    assert UserPreference.objects.get(user=secretary_a).language == "en"
    assert 'lang="en"' in client.get(reverse("branches:member_list")).content.decode()


def test_someone_else_signing_in_on_the_same_browser_gets_their_own_language(client, secretary_a, secretary_b, tree):
    UserPreference.objects.create(user=secretary_b, language="vi")
    choose(client, "en")
    sign_in(client, secretary_a)
    client.post(reverse("logout"))
    sign_in(client, secretary_b)
    assert 'lang="vi"' in client.get(reverse("branches:member_list")).content.decode()


@pytest.mark.parametrize("language", ["xx", "", "en-GB"])
def test_an_unknown_language_choice_is_harmless(client, secretary_a, tree, language):
    sign_in(client, secretary_a)
    response = choose(client, language)
    assert response.status_code in (200, 302)
    assert client.get(reverse("branches:member_list")).status_code == 200
