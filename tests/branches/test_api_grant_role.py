"""``manage.py grant_role``: accounts and API tokens from the command line."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from branches.models import RoleAssignment
from security.access import token_digest
from security.models import ApiToken
from tests.api_conftest import *  # noqa: F403
from tests.api_conftest import API


def grant(*args):
    out, err = StringIO(), StringIO()
    call_command("grant_role", *args, stdout=out, stderr=err)
    return out.getvalue().strip().splitlines()


def test_creates_the_user_grants_the_role_and_prints_the_token_last(tree, api_as):
    lines = grant("hong", "secretary", "BR-A", "--password", "a-long-enough-passphrase", "--token")
    user = get_user_model().objects.get(username="hong")
    assert user.check_password("a-long-enough-passphrase")
    assert RoleAssignment.objects.get(user=user).organization == tree.branch_a
    assert ApiToken.objects.get(user=user).digest == token_digest(lines[-1])
    client = api_as(None)
    client.credentials(HTTP_AUTHORIZATION=f"Token {lines[-1]}")
    assert [o["code"] for o in client.get(f"{API}organizations/").json()["results"]] == ["BR-A"]


def test_administrator_role_takes_a_dash_and_running_twice_is_harmless(tree):
    first = grant("admin2", "administrator", "-", "--token")
    second = grant("admin2", "administrator", "-", "--token")
    assert first[-1] != second[-1]  # a new token each time; both work until they expire or are revoked
    assert ApiToken.objects.filter(user__username="admin2").count() == 2
    assignment = RoleAssignment.objects.get(user__username="admin2")
    assert assignment.organization is None
    assert not get_user_model().objects.get(username="admin2").has_usable_password()


def test_an_existing_user_gets_another_role(tree, secretary_a):
    grant("secretary_a", "department", "DIST")
    assert set(RoleAssignment.objects.filter(user=secretary_a).values_list("role", flat=True)) == {
        "secretary",
        "department",
    }


@pytest.mark.parametrize(
    "args",
    [
        ("x", "secretary", "NO-SUCH"),
        ("x", "secretary", "-"),
        ("x", "secretary", "BR-A", "--password", "123"),
        ("bad name!", "secretary", "BR-A"),
    ],
)
def test_refusals_are_command_errors_and_create_nothing(tree, args):
    with pytest.raises(CommandError):
        grant(*args)
    assert not get_user_model().objects.filter(username__in=["x", "bad name!"]).exists()


def test_unknown_role_is_refused(tree):
    with pytest.raises(CommandError):
        grant("x", "king", "BR-A")
