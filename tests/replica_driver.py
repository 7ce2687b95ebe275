"""The app in a process of its own, driven by tests/config/test_replica.py over stdin and stdout.

Started with ``DATABASE_URL`` (the primary) and ``DATABASE_REPLICA_URL`` (the standby) in its
environment, exactly as a deployed server, so the settings, the router and the middleware are the
production ones; pytest's own test database plays no part. Each line of stdin is a JSON command,
each line of stdout the JSON answer:

- ``{"op": "servers"}``: for each database alias, the port of the server its connection reached
  (``inet_server_port()``) and whether that server is a standby (``pg_is_in_recovery()``);
- ``{"op": "seed"}``: a committee ``DIST`` with ``SUB`` below it, a member in a branch of ``SUB``,
  and the department user ``department`` of ``DIST`` (a session for the pages, a token for the API);
- ``{"op": "member", "organization": code}``: one more member, written by a service-less factory;
- ``{"op": "request", "method", "path", "data", "api"}``: a request through the whole middleware
  stack, signed in as ``department`` (its session, or its token when ``api`` is true).
"""

import json
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connections  # noqa: E402
from django.test import Client  # noqa: E402

from branches.choices import OrganizationKind, RoleKey  # noqa: E402
from branches.models import Organization  # noqa: E402
from tests.factories import (  # noqa: E402
    LocalityFactory,
    MemberFactory,
    OrganizationFactory,
    RoleAssignmentFactory,
    UserFactory,
)

state = {}


def servers(command):
    answer = {}
    for alias in connections:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT inet_server_port(), pg_is_in_recovery()")
            port, standby = cursor.fetchone()
        answer[alias] = {"port": port, "standby": standby}
    return answer


def seed(command):
    from security.access import issue_token

    province = LocalityFactory(code="01", name="Hà Nội")
    commune = LocalityFactory(code="00001", name="Phường Cầu Giấy", kind="ward", parent=province)
    committee = OrganizationFactory(code="DIST", name="Đảng ủy Khối doanh nghiệp", locality=province)
    sub = OrganizationFactory(code="SUB", name="Đảng ủy cụm", locality=province, parent=committee)
    branch = OrganizationFactory(
        code="BR-A", name="Chi bộ An Phát", kind=OrganizationKind.GRASSROOTS_BRANCH, locality=commune, parent=sub
    )
    MemberFactory(organization=branch)
    user = UserFactory(username="department")
    RoleAssignmentFactory(user=user, role=RoleKey.DEPARTMENT, organization=committee)
    pages = Client()
    pages.cookies["django_language"] = "en"  # the pages ignore Accept-Language (issue 16)
    pages.force_login(user)
    api = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_AUTHORIZATION=f"Token {issue_token(user, second_factor=True)[1]}")
    state.update(pages=pages, api=api)
    return {"user": user.pk}


def member(command):
    organization = Organization.objects.get(code=command["organization"])
    return {"member": MemberFactory(organization=organization).pk}


def request(command):
    client = state["api" if command.get("api") else "pages"]
    method = command.get("method", "GET").lower()
    kwargs = {}
    if command.get("data") is not None:
        if method == "get":
            kwargs["data"] = command["data"]
        else:
            kwargs.update(data=json.dumps(command["data"]), content_type="application/json")
    response = getattr(client, method)(command["path"], **kwargs)
    body = response.content.decode("utf-8", "replace") if not response.streaming else ""
    answer = {"status": response.status_code, "body": body, "location": response.get("Location")}
    if response.get("Content-Type", "").startswith("application/json"):
        answer["json"] = json.loads(body)
    return answer


OPERATIONS = {"servers": servers, "seed": seed, "member": member, "request": request}


def main():
    answers = sys.stdout
    sys.stdout = sys.stderr  # anything the app prints must not garble the answers
    for line in sys.stdin:
        command = json.loads(line)
        try:
            answer = {"ok": True, **OPERATIONS[command["op"]](command)}
        except Exception:  # noqa: BLE001 - reported to the test, which fails with it
            answer = {"ok": False, "error": traceback.format_exc()}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
