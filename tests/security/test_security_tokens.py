"""API tokens: the second factor cannot be skipped, tokens expire, are listed, revoked and their uses recorded."""

import datetime

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from security.access import issue_token
from security.models import ApiToken, ApiTokenUse

PASSWORD = "correct-horse-battery"
API = "/api/v1/"

#: Every spelling of a username that sign-in accepts besides the exact one (the serializer trims
#: leading and trailing white space before ``authenticate()``).
SPELLINGS = [" {}", "{} ", "\t{}", "{}\t", "\n{}", "{}\n", " \t{}\r\n", "{}\u00a0"]


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def code_for(device):
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def ask_token(username, password=PASSWORD, ip="10.0.0.9", **extra):
    return APIClient().post(
        reverse("api:token"), {"username": username, "password": password, **extra}, format="json", REMOTE_ADDR=ip
    )


def with_token(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_no_spelling_of_a_two_factor_username_gets_a_token_with_the_password_alone(
    spelling, administrator, two_factor_required
):
    TOTPDevice.objects.create(user=administrator, name="phone", confirmed=True)
    response = ask_token(spelling.format("administrator"))
    assert response.status_code in (400, 403)
    assert "token" not in response.json()
    assert not ApiToken.objects.exists()


def test_two_factor_account_without_a_device_gets_no_token(administrator, two_factor_required):
    response = ask_token("administrator ")
    assert response.status_code == 403
    assert "set it up" in response.json()["detail"]


def test_two_factor_account_gets_a_working_token_with_its_code(administrator, two_factor_required):
    device = TOTPDevice.objects.create(user=administrator, name="phone", confirmed=True)
    assert ask_token("administrator", otp_token="000000").status_code == 403
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    response = ask_token(" administrator", otp_token=code_for(device))
    assert response.status_code == 200, response.content
    assert ApiToken.objects.get().second_factor
    assert with_token(response.json()["token"]).get(f"{API}users/").status_code == 200


def test_a_token_issued_without_the_second_factor_stops_working_when_two_factor_is_required(
    secretary_a, administrator, settings
):
    _token, key = issue_token(administrator, second_factor=False)
    assert with_token(key).get(f"{API}users/").status_code == 200
    settings.OTP_REQUIRED_ROLES = ("administrator", "department")
    refused = with_token(key).get(f"{API}users/")
    assert refused.status_code == 403
    assert "two-factor" in refused.json()["detail"]


def test_administrators_cannot_issue_a_token_to_a_two_factor_account(administrator, department, two_factor_required):
    _token, key = issue_token(administrator, second_factor=True)
    response = with_token(key).post(f"{API}users/{department.pk}/token/")
    assert response.status_code == 400
    assert not ApiToken.objects.filter(user=department).exists()


def test_tokens_expire_after_the_configured_lifetime(secretary_a, settings):
    settings.API_TOKEN_LIFETIME = datetime.timedelta(days=2)
    token, key = issue_token(secretary_a, second_factor=False)
    assert abs(token.expires_at - (timezone.now() + datetime.timedelta(days=2))) < datetime.timedelta(minutes=1)
    assert with_token(key).get(f"{API}organizations/").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert with_token(key).get(f"{API}organizations/").status_code == 403


def test_each_use_is_recorded_with_time_and_address(secretary_a, tree):
    token, key = issue_token(secretary_a, second_factor=False)
    client = with_token(key)
    client.get(f"{API}organizations/?q=%00", REMOTE_ADDR="192.0.2.7")
    client.get(f"{API}members/", REMOTE_ADDR="192.0.2.8")
    uses = list(ApiTokenUse.objects.filter(token=token).order_by("id"))
    assert [(use.ip_address, use.method, use.path.split("?")[0]) for use in uses] == [
        ("192.0.2.7", "GET", f"{API}organizations/"),
        ("192.0.2.8", "GET", f"{API}members/"),
    ]
    assert all(use.at is not None for use in uses)
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_owners_list_and_revoke_their_tokens_and_administrators_anyones(secretary_a, secretary_b, administrator):
    own, own_key = issue_token(secretary_a, second_factor=False)
    other, other_key = issue_token(secretary_b, second_factor=False)
    admin_key = issue_token(administrator, second_factor=True)[1]
    listed = with_token(own_key).get(f"{API}tokens/").json()["results"]
    assert [row["id"] for row in listed] == [own.pk]
    assert "digest" not in listed[0] and "key" not in listed[0]
    assert with_token(own_key).delete(f"{API}tokens/{other.pk}/").status_code == 404
    assert len(with_token(admin_key).get(f"{API}tokens/").json()["results"]) == 3
    assert with_token(admin_key).delete(f"{API}tokens/{other.pk}/").status_code == 204
    assert with_token(other_key).get(f"{API}organizations/").status_code == 403
    assert with_token(own_key).delete(f"{API}tokens/{own.pk}/").status_code == 204
    assert with_token(own_key).get(f"{API}organizations/").status_code == 403
    own.refresh_from_db()
    assert own.revoked_at is not None  # kept, for the record


def test_grant_role_prints_no_token_for_a_two_factor_account(tree, two_factor_required):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="two-factor"):
        call_command("grant_role", "admin3", "administrator", "-", "--token")
