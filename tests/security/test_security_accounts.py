"""Sign-in protection: lockout, two-factor authentication, and the security log."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

PASSWORD = "correct-horse-battery"
BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def english(settings):
    """Messages are asserted in English (the default language is Vietnamese), in every thread."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def security_log(caplog):
    """The ``security`` logger does not propagate: hook pytest's handler onto it."""
    logger = logging.getLogger("security")
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="security")
    yield caplog
    logger.removeHandler(caplog.handler)


def sign_in(client, username, password, ip="10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip, HTTP_USER_AGENT="pytest"
    )


def code_for(device, offset=0):
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + offset):06d}"


# Lockout ----------------------------------------------------------------------------------


def test_correct_password_signs_in(client, secretary_a):
    response = sign_in(client, "secretary_a", PASSWORD)
    assert response.status_code == 302
    assert client.session.get("_auth_user_id") == str(secretary_a.pk)


def test_five_failed_sign_ins_lock_out_that_username_from_that_address(client, secretary_a):
    for _attempt in range(4):
        assert sign_in(client, "secretary_a", "wrong password").status_code == 200
    locked = sign_in(client, "secretary_a", "wrong password")
    assert locked.status_code == 429
    assert "Signing in is blocked" in locked.content.decode()
    # Even the right password is refused now, from that address.
    again = sign_in(client, "secretary_a", PASSWORD)
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_username_and_address(secretary_a, secretary_b):
    attacker = Client()
    for _attempt in range(5):
        sign_in(attacker, "secretary_a", "wrong password", ip="10.6.6.6")
    assert sign_in(Client(), "secretary_a", PASSWORD, ip="10.0.0.2").status_code == 302
    assert sign_in(Client(), "secretary_b", PASSWORD, ip="10.6.6.6").status_code == 302


def test_a_successful_sign_in_resets_the_failure_count(client, secretary_a):
    for _attempt in range(4):
        sign_in(client, "secretary_a", "wrong password")
    assert sign_in(client, "secretary_a", PASSWORD).status_code == 302
    client.logout()
    for _attempt in range(4):
        sign_in(client, "secretary_a", "wrong password")
    assert sign_in(client, "secretary_a", PASSWORD).status_code == 302


def test_the_address_comes_from_nginx_x_real_ip_when_configured(settings, secretary_a):
    settings.USE_X_REAL_IP = True
    attacker = Client()
    for _attempt in range(5):
        attacker.post(
            reverse("login"),
            {"username": "secretary_a", "password": "nope"},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_REAL_IP="203.0.113.9",
        )
    # Another client behind the same proxy is not locked out.
    other = Client().post(
        reverse("login"),
        {"username": "secretary_a", "password": PASSWORD},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_REAL_IP="198.51.100.7",
    )
    assert other.status_code == 302


# Security log -----------------------------------------------------------------------------


def test_sign_in_and_failed_sign_in_are_logged(client, secretary_a, security_log):
    sign_in(client, "secretary_a", "wrong password", ip="10.1.2.3")
    sign_in(client, "secretary_a", PASSWORD, ip="10.1.2.3")
    messages = [record.getMessage() for record in security_log.records if record.name == "security"]
    assert "login failed user=secretary_a ip=10.1.2.3" in messages
    assert "login user=secretary_a ip=10.1.2.3" in messages


def test_permission_refusal_is_logged_and_shown_as_403(client, secretary_a, security_log):
    client.force_login(secretary_a)
    response = client.get(reverse("security:access_log"))
    assert response.status_code == 403
    assert any(
        record.getMessage().startswith("permission denied user=secretary_a")
        and "/security/access-log/" in record.getMessage()
        for record in security_log.records
    )


# Two-factor authentication ----------------------------------------------------------------


def test_without_the_requirement_department_staff_reach_pages_directly(client, department):
    client.force_login(department)
    assert client.get("/members/").status_code == 200


def test_department_staff_without_a_device_are_sent_to_set_one_up(client, department, two_factor_required):
    client.force_login(department)
    response = client.get("/members/")
    assert response.status_code == 302
    assert response["Location"] == reverse("security:otp_setup") + "?next=%2Fmembers%2F"


def test_setup_page_shows_a_server_drawn_qr_code_and_confirms_with_a_code(client, department, two_factor_required):
    client.force_login(department)
    page = client.get(reverse("security:otp_setup"), {"next": "/members/"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html
    assert "<script>" not in html
    device = TOTPDevice.objects.get(user=department)
    assert not device.confirmed

    wrong = client.post(
        reverse("security:otp_setup"), {"token": "000000" if code_for(device) != "000000" else "111111"}
    )
    assert wrong.status_code == 200
    assert "not valid" in wrong.content.decode()
    too_soon = client.post(reverse("security:otp_setup"), {"token": code_for(device)})
    assert "Too many wrong codes" in too_soon.content.decode()  # django-otp's growing delay after a failure
    device.refresh_from_db()
    device.throttle_reset()  # ... which has passed now

    done = client.post(reverse("security:otp_setup"), {"token": code_for(device), "next": "/members/"})
    assert done.status_code == 302
    assert done["Location"] == "/members/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/members/").status_code == 200


def test_administrator_with_a_device_must_enter_a_code_after_signing_in(client, administrator, two_factor_required):
    device = TOTPDevice.objects.create(user=administrator, name="phone", confirmed=True)
    assert sign_in(client, "administrator", PASSWORD).status_code == 302
    response = client.get("/members/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("security:otp_verify"))

    refused = client.post(reverse("security:otp_verify"), {"token": code_for(device, offset=5)})
    assert refused.status_code == 200
    assert client.get("/members/").status_code == 302
    device.refresh_from_db()
    device.throttle_reset()  # the delay after a wrong code has passed

    accepted = client.post(reverse("security:otp_verify"), {"token": code_for(device), "next": "/"})
    assert accepted.status_code == 302
    assert client.get("/members/").status_code == 200


def test_a_new_sign_in_needs_a_new_code(client, administrator, two_factor_required):
    device = TOTPDevice.objects.create(user=administrator, name="phone", confirmed=True)
    sign_in(client, "administrator", PASSWORD)
    client.post(reverse("security:otp_verify"), {"token": code_for(device)})
    assert client.get("/members/").status_code == 200
    client.logout()
    sign_in(client, "administrator", PASSWORD)
    assert client.get("/members/").status_code == 302


def test_superusers_need_two_factor_authentication_too(client, db, two_factor_required):
    from tests.factories import UserFactory

    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(root)
    assert client.get("/members/").status_code == 302


def test_two_factor_is_optional_for_secretaries(client, secretary_a, two_factor_required):
    client.force_login(secretary_a)
    assert client.get("/members/").status_code == 200
    assert client.get(reverse("security:otp_setup")).status_code == 200


def test_a_secretary_who_set_up_a_device_must_use_it(client, secretary_a, two_factor_required):
    TOTPDevice.objects.create(user=secretary_a, name="phone", confirmed=True)
    sign_in(client, "secretary_a", PASSWORD)
    response = client.get("/members/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("security:otp_verify"))


def test_a_device_confirmed_in_another_session_is_asked_for_on_the_next_request(client, secretary_a):
    """The user of each request is read with their profile and whether they confirmed a device,
    in one query (security.access.SessionUserBackend): nothing of it is kept between requests."""
    sign_in(client, "secretary_a", PASSWORD)
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/no-such-page/").status_code == 404
    read = [q["sql"].split(".", 1)[0] for q in captured.captured_queries if q["sql"].startswith("SELECT")]
    read = [statement for statement in read if statement != 'SELECT "django_session"']  # the tests' sessions
    assert read == ['SELECT "auth_user"', 'SELECT "branches_roleassignment"']  # profile and device come with the user
    device = TOTPDevice.objects.create(user=secretary_a, name="phone", confirmed=False)
    assert client.get("/members/").status_code == 200  # an unconfirmed device asks nothing
    device.confirmed = True
    device.save()
    response = client.get("/members/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("security:otp_verify"))


def test_unverified_session_gets_json_403_from_the_api(client, department, two_factor_required):
    client.force_login(department)
    response = client.get("/api/v1/members/")
    assert response.status_code == 403
    assert "Two-factor" in response.json()["detail"]


def test_pages_needed_to_finish_signing_in_stay_reachable(client, department, two_factor_required):
    client.force_login(department)
    assert client.get(reverse("security:otp_setup")).status_code == 200
    assert client.get(reverse("security:data_protection")).status_code == 200
    assert client.get("/health/").status_code == 200
    assert client.post(reverse("logout")).status_code == 302


def test_next_cannot_send_the_user_to_another_site(client, department, two_factor_required):
    client.force_login(department)
    client.get(reverse("security:otp_setup"))
    device = TOTPDevice.objects.get(user=department)
    response = client.post(reverse("security:otp_setup"), {"token": code_for(device), "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_otp_required_env_switch_turns_the_requirement_off_for_the_demo():
    code = "from django.conf import settings; print(settings.OTP_REQUIRED_ROLES)"
    env = {**os.environ, "OTP_REQUIRED": "0", "DEBUG": "1"}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "()"


def test_password_alone_gets_no_api_token_for_a_two_factor_account(client, department, two_factor_required):
    response = client.post(reverse("api:token"), {"username": "department", "password": PASSWORD})
    assert response.status_code == 403
    assert "two-factor" in response.json()["detail"]


def test_password_still_gets_an_api_token_where_two_factor_is_optional(client, secretary_a, two_factor_required):
    response = client.post(reverse("api:token"), {"username": "secretary_a", "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["token"]


def test_api_refusals_are_logged_too(client, department, tree, security_log):
    client.force_login(department)
    response = client.post("/api/v1/members/", {}, content_type="application/json")
    assert response.status_code == 403
    assert any(
        record.getMessage().startswith("permission denied user=department ip=127.0.0.1 POST /api/v1/members/")
        for record in security_log.records
    )
