"""Faults: an interrupted dissolution leaves nothing behind; error pages; the replica router."""

import datetime

import pytest
from django.db import OperationalError
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

from branches import services
from branches.choices import MemberStatus
from branches.models import Member, MembershipPeriod, Organization
from config import routers
from config.middleware import server_error
from tests.factories import MemberFactory

DISSOLVED_ON = datetime.date(2024, 6, 1)


@pytest.fixture(autouse=True)
def english(settings):
    """Messages are asserted in English (the default language is Vietnamese), in every thread."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def snapshot(branch):
    return {
        "organization": list(Organization.objects.filter(pk=branch.pk).values()),
        "members": list(Member.objects.order_by("pk").values()),
        "periods": list(MembershipPeriod.objects.order_by("pk").values()),
        "history": (
            Organization.history.count(),
            Member.history.count(),
            MembershipPeriod.history.count(),
        ),
    }


@pytest.mark.parametrize("fail_after", [1, 3, 5])
def test_a_dissolution_interrupted_midway_leaves_nothing_behind(tree, administrator, monkeypatch, fail_after):
    for _index in range(3):
        MemberFactory(organization=tree.branch_a, is_business_owner=False)
    before = snapshot(tree.branch_a)
    calls = {"n": 0}
    real_save = services.save_with_history

    def failing_save(instance, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > fail_after:
            raise OperationalError("connection lost in the middle of the dissolution")
        return real_save(instance, *args, **kwargs)

    monkeypatch.setattr(services, "save_with_history", failing_save)
    with pytest.raises(OperationalError):
        services.dissolve_organization(administrator, tree.branch_a, on=DISSOLVED_ON, destination=tree.branch_b)
    assert calls["n"] == fail_after + 1  # it really stopped midway, after some writes
    assert snapshot(tree.branch_a) == before

    monkeypatch.setattr(services, "save_with_history", real_save)
    services.dissolve_organization(administrator, tree.branch_a, on=DISSOLVED_ON, destination=tree.branch_b)
    assert Organization.objects.get(pk=tree.branch_a.pk).dissolved_on == DISSOLVED_ON
    assert set(Member.objects.values_list("organization", flat=True)) == {tree.branch_b.pk}
    assert Member.objects.filter(status=MemberStatus.ACTIVE).count() == 3


def test_outsider_sees_the_404_page(client, secretary_b, tree):
    member = MemberFactory(organization=tree.branch_a, is_business_owner=False)
    client.force_login(secretary_b)
    response = client.get(reverse("branches:member_detail", args=[member.pk]))
    assert response.status_code == 404
    assert member.full_name not in response.content.decode()


def test_other_server_errors_are_a_plain_500_page(rf, db):
    request = rf.get("/members/")
    try:
        raise ValueError("bug")
    except ValueError:
        response = server_error(request)
    assert response.status_code == 500


def test_other_server_errors_under_the_api_are_json(rf, db):
    request = rf.get("/api/v1/members/")
    try:
        raise ValueError("bug")
    except ValueError:
        response = server_error(request)
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"


# Read replica -----------------------------------------------------------------------------


def test_router_reads_from_the_replica_only_inside_report_requests(settings):
    settings.DATABASES = {**settings.DATABASES, "replica": settings.DATABASES["default"]}
    router = routers.ReplicaRouter()
    assert router.db_for_read(Member) == "default"
    with routers.reading_from_replica():
        assert router.db_for_read(Member) == "replica"
        assert router.db_for_write(Member) == "default"
        from django.contrib.sessions.models import Session

        assert router.db_for_read(Session) == "default"  # sign-in state: always the primary
    assert router.db_for_read(Member) == "default"
    assert router.allow_migrate("replica", "branches") is False


def test_router_without_a_replica_reads_the_primary():
    with routers.reading_from_replica():
        assert routers.ReplicaRouter().db_for_read(Member) == "default"


def test_report_pages_are_served_inside_the_replica_context():
    seen = {}

    def view(request):
        seen["replica"] = routers._use_replica.get()
        from django.http import HttpResponse

        return HttpResponse()

    middleware = routers.ReplicaForReportsMiddleware(view)
    for path in ("/reports/", "/reports/fulfilment/export/", "/api/v1/reports/gaps/"):
        middleware(RequestFactory().get(path))
        assert seen["replica"] is True, path
    # The targets grid is an editing page: after saving, the user must find what they saved.
    for request in (
        RequestFactory().post("/reports/"),
        RequestFactory().get("/reports/targets/"),
        RequestFactory().post("/reports/targets/"),
        RequestFactory().get("/reports/nowhere/"),
        RequestFactory().get("/api/v1/targets/"),
        RequestFactory().get("/members/"),
    ):
        middleware(request)
        assert seen["replica"] is False, request.path
    assert routers._use_replica.get() is False


def test_role_assignments_are_read_from_the_primary(settings):
    """Who may read which reports counts at once, like the rest of the sign-in state."""
    from branches.models import RoleAssignment

    settings.DATABASES = {**settings.DATABASES, "replica": settings.DATABASES["default"]}
    with routers.reading_from_replica():
        assert routers.ReplicaRouter().db_for_read(RoleAssignment) == "default"


def test_without_a_standby_reads_are_always_current(settings):
    assert routers.replica_is_current()
    with routers.reading_from_replica():
        assert routers.replica_is_current()  # no replica configured


def test_health_needs_no_login(db):
    assert Client().get("/health/").status_code == 200


def test_json_with_lone_surrogates_is_refused_with_400_not_500(client, secretary_a):
    client.force_login(secretary_a)
    body = '{"full_name": "Nguy\\ud800n", "citizen_id": "001090000001"}'
    response = client.post("/api/v1/members/", body, content_type="application/json")
    assert response.status_code == 400
    assert "surrogates" in response.json()["detail"]


def test_malformed_json_is_left_to_the_api_parser(client, secretary_a):
    client.force_login(secretary_a)
    response = client.post("/api/v1/members/", "{not json", content_type="application/json")
    assert response.status_code == 400
