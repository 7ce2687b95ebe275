"""Lockout per address and per username as well as per pair, on the sign-in page and the token endpoint."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def sign_in(username, password, ip):
    return Client().post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def ask_token(username, password, ip):
    return APIClient().post(
        reverse("api:token"), {"username": username, "password": password}, format="json", REMOTE_ADDR=ip
    )


def test_one_address_trying_many_usernames_is_locked_out(secretary_a, settings):
    for number in range(settings.LOCKOUT_LIMIT_PER_ADDRESS - 1):
        assert sign_in(f"guess{number}", "wrong password", "10.9.9.9").status_code == 200
    assert sign_in("last-guess", "wrong password", "10.9.9.9").status_code == 429
    assert sign_in("secretary_a", PASSWORD, "10.9.9.9").status_code == 429
    assert sign_in("secretary_a", PASSWORD, "10.0.0.2").status_code == 302  # others are not


def test_one_username_tried_from_many_addresses_is_locked_out(secretary_a, settings):
    for number in range(settings.LOCKOUT_LIMIT_PER_USERNAME):
        sign_in("secretary_a", "wrong password", f"10.8.0.{number}")
    assert sign_in("secretary_a", PASSWORD, "10.8.1.1").status_code == 429


def test_spellings_of_a_username_count_as_one(secretary_a, settings):
    spellings = [" secretary_a", "secretary_a ", "\tsecretary_a", "secretary_a\n"]
    for number in range(settings.LOCKOUT_LIMIT_PER_USERNAME):
        sign_in(spellings[number % len(spellings)], "wrong password", f"10.7.0.{number}")
    assert sign_in("secretary_a", PASSWORD, "10.7.1.1").status_code == 429


def test_signing_in_to_ones_own_account_does_not_clear_the_address(secretary_a, secretary_b, settings):
    for number in range(settings.LOCKOUT_LIMIT_PER_ADDRESS - 1):
        sign_in(f"guess{number}", "wrong password", "10.6.6.6")
    assert sign_in("secretary_b", PASSWORD, "10.6.6.6").status_code == 302
    sign_in("another-guess", "wrong password", "10.6.6.6")
    assert sign_in("secretary_a", PASSWORD, "10.6.6.6").status_code == 429


def test_the_token_endpoint_shares_the_lockout(secretary_a, settings):
    for number in range(settings.LOCKOUT_LIMIT_PER_ADDRESS - 1):
        assert ask_token(f"guess{number}", "wrong password", "10.5.5.5").status_code == 400
    ask_token("last-guess", "wrong password", "10.5.5.5")
    locked = ask_token("secretary_a", PASSWORD, "10.5.5.5")
    assert locked.status_code == 429
    assert "token" not in locked.json() and "blocked" in locked.json()["detail"]
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        ask_token("secretary_a", "wrong password", "10.4.4.4")
    assert sign_in("secretary_a", PASSWORD, "10.4.4.4").status_code == 429


def test_the_deploy_guides_nginx_rate_limits_the_sign_in_page_and_the_token_endpoint():
    import re
    from pathlib import Path

    conf = (Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf").read_text()
    for path in ("/accounts/login/", "/api/v1/auth/token/"):
        block = re.search(r"location = " + re.escape(path) + r" \{(.*?)\}", conf, re.S)
        assert block is not None, path
        assert "limit_req zone=party_login" in block.group(1), path
