"""The OpenAPI schema: valid, served with its docs without any CDN, and true to the API.

``test_api_conforms_to_its_schema`` is a bounded schemathesis run over every operation (positive
and negative examples, a few per operation): no response is a server error, and every response
has a documented status code, content type and body shape.
"""

import json

import pytest
import schemathesis
from django.core.management import call_command
from django.core.serializers.json import DjangoJSONEncoder
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from security.access import issue_token
from tests.api_conftest import *  # noqa: F403
from tests.api_conftest import API
from tests.factories import MassOrganizationFactory, MemberFactory, ProspectFactory, TargetFactory

EXAMPLES_PER_OPERATION = 10
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_schema_is_valid_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_schema_and_docs_need_a_signed_in_user(client, db):
    assert client.get(f"{API}schema/").status_code == 403
    assert client.get(f"{API}docs/").status_code == 403


def test_schema_and_docs_are_served_without_a_cdn(client, secretary_a):
    client.force_login(secretary_a)
    schema = client.get(f"{API}schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/members/{id}/transfer/" in schema.json()["paths"]
    docs = client.get(f"{API}docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower().replace("sidecar", "")
    assert "<script>" not in html  # every script is a file of the project: the CSP forbids inline ones
    script = client.get(f"{API}docs/", {"script": ""})
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "/api/v1/schema/" in script.content.decode()


def _load_schema():
    """The schema the API serves (built by drf-spectacular's generator, as ``schema/`` does)."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return schemathesis.openapi.from_dict(json.loads(json.dumps(document, cls=DjangoJSONEncoder)))


SCHEMA = _load_schema()
OPERATIONS = {operation.label: operation for operation in (result.ok() for result in SCHEMA.get_all_operations())}
APP = get_wsgi_application()


@pytest.fixture
def wsgi_requests_keep_the_test_connection():
    """Calls into the WSGI app start and end with ``close_old_connections``, which would close the
    test's connection inside its transaction (PostgreSQL); Django's test client disconnects it too."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def fuzz_records(tree, wsgi_requests_keep_the_test_connection):
    """A few records in the tree, so that some generated ids and codes hit real rows."""
    MemberFactory(organization=tree.branch_a, enterprise=tree.enterprise_a)
    ProspectFactory(organization=tree.branch_a)
    MassOrganizationFactory(enterprise=tree.enterprise_a)
    TargetFactory(committee=tree.committee)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_api_conforms_to_its_schema(label, mode, personas, fuzz_records):
    token = issue_token(personas.administrator, second_factor=True)[1]
    operation = OPERATIONS[label]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        response = case.call(app=APP, headers={"Authorization": f"Token {token}"})
        case.validate_response(response, checks=CHECKS)

    try:
        check()
    except Unsatisfiable:
        # No invalid request can be built for this operation (every value of its parameters is valid).
        assert mode == GenerationMode.NEGATIVE
