"""Fixtures of the API tests: clients authenticated with each persona's token.

Imported by the API test modules (``tests/*/test_api_*.py``) (``from tests.api_conftest import *``).
"""

import re

import pytest
from rest_framework.test import APIClient

from security.access import issue_token

API = "/api/v1/"

__all__ = ["API", "api_as", "api", "PERSONAS", "_fast_password_hashing", "with_version"]

#: The four personas of tests/conftest.py, in the order the matrices list them.
PERSONAS = ("secretary_a", "secretary_b", "department", "administrator")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The personas' passwords are hashed with a cheap hasher: PBKDF2 would dominate these tests' time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class VersionReadingClient(APIClient):
    """An API client that, like a careful script, sends back the ``version`` it reads: a PATCH of a
    record or a POST of a record's action without one gets the record's current version (changes
    of a record require it; tests of that requirement use a plain ``APIClient``)."""

    _record = re.compile(r"^(?P<detail>.*/\d+/)(?P<action>[\w-]+/)?$")

    def _versioned(self, path, data, action):
        match = self._record.match(path.split("?")[0])
        if not isinstance(data, dict) or "version" in data or match is None or bool(match["action"]) != action:
            return data
        return with_version(super(), match["detail"], data)

    def patch(self, path, data=None, *args, **kwargs):
        return super().patch(path, self._versioned(path, data, action=False), *args, **kwargs)

    def post(self, path, data=None, *args, **kwargs):
        return super().post(path, self._versioned(path, data, action=True), *args, **kwargs)


def _client(user, language="en"):
    client = VersionReadingClient(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        _token, key = issue_token(user, second_factor=True)
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
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


def with_version(client, url, payload):
    """``payload`` plus the ``version`` of the record at ``url`` (a detail address, or an action's,
    whose record is the address without its last part) as ``client`` reads it; unchanged when the
    client may not read it or the record has no version. Changes of a record require its version."""
    detail = url if url.rstrip("/").split("/")[-1].isdigit() else url.rstrip("/").rsplit("/", 1)[0] + "/"
    response = client.get(detail)
    if response.status_code == 200 and isinstance(response.json(), dict) and "version" in response.json():
        return {**payload, "version": response.json()["version"]}
    return payload
