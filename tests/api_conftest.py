"""Fixtures of the API tests: clients authenticated with each persona's token.

Imported by the API test modules (``tests/*/test_api_*.py``) (``from tests.api_conftest import *``).
"""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

API = "/api/v1/"

__all__ = ["API", "api_as", "api", "PERSONAS", "_fast_password_hashing"]

#: The four personas of tests/conftest.py, in the order the matrices list them.
PERSONAS = ("secretary_a", "secretary_b", "department", "administrator")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The personas' passwords are hashed with a cheap hasher: PBKDF2 would dominate these tests' time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _client(user, language="en"):
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        token, _created = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api_as(db):
    """``api_as(user)``: a client sending ``user``'s API token (None: anonymous)."""
    return _client


@pytest.fixture
def api(personas):
    """Clients of the four personas by name: ``api.secretary_a.get(...)``."""

    class Clients:
        pass

    clients = Clients()
    for name in PERSONAS:
        setattr(clients, name, _client(getattr(personas, name)))
    return clients
