"""The access log cannot be skipped: NUL-safe entries, fail closed, history pages and change sets logged."""

import re

import pytest
from django.db import DatabaseError
from django.urls import reverse
from django.utils import translation

from branches import services
from security.access import log_safe
from security.models import AccessLog
from tests.factories import MemberFactory


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def member(tree):
    return MemberFactory(organization=tree.branch_a, citizen_id="001190012345")


@pytest.fixture
def broken_log(monkeypatch):
    def refuse(**kwargs):
        raise DatabaseError("the access log table is unavailable")

    monkeypatch.setattr(AccessLog.objects, "create", refuse)


def test_a_nul_in_any_filter_is_logged_with_the_read(client, department, member):
    client.force_login(department)
    response = client.get("/api/v1/members/", {"page_size": "500", "x": "a\x00b", "y\x00": ["1", "2"]})
    assert response.status_code == 200
    entry = AccessLog.objects.get()
    assert entry.member_ids == [member.pk]
    assert entry.filters == {"page_size": "500", "x": "a\\u0000b", "y\\u0000": ["1", "2"]}
    assert "\x00" not in entry.path


def test_log_safe_text_can_be_read_back():
    def read_back(stored):
        return re.sub(r"\\\\|\\u0000", lambda match: "\\" if match.group() == "\\\\" else "\x00", stored)

    for text in ["plain", "a\x00b", "a\\u0000b", "\\\x00\\", "Nguyễn"]:
        assert "\x00" not in log_safe(text)
        assert read_back(log_safe(text)) == text


def test_the_api_refuses_the_data_when_the_entry_cannot_be_written(client, department, member, broken_log):
    client.force_login(department)
    response = client.get("/api/v1/members/")
    assert response.status_code == 503
    assert member.full_name not in response.content.decode()


def test_a_page_refuses_the_data_when_the_entry_cannot_be_written(client, department, member, broken_log):
    client.force_login(department)
    detail = client.get(member.get_absolute_url())
    assert detail.status_code == 503
    assert member.full_name not in detail.content.decode()
    export = client.get(reverse("io:export"), {"kind": "members", "format": "csv"})
    assert export.status_code == 503
    assert member.full_name not in export.content.decode("utf-8", "replace")


def test_a_member_history_page_is_logged(client, department, member):
    client.force_login(department)
    response = client.get(reverse("io:record_history", args=["member", member.pk]))
    assert response.status_code == 200
    entry = AccessLog.objects.get()
    assert (entry.action, entry.member_ids) == ("viewed", [member.pk])


def test_the_history_of_an_enterprise_is_not_a_member_read(client, department, tree):
    client.force_login(department)
    assert client.get(reverse("io:record_history", args=["enterprise", tree.enterprise_a.pk])).status_code == 200
    assert not AccessLog.objects.exists()


def test_a_change_set_showing_members_is_logged(client, department, secretary_a, member):
    services.update_member(secretary_a, member, full_name="Nguyễn Văn Đổi")
    record = member.history.order_by("-history_id").first()
    client.force_login(department)
    response = client.get(
        reverse("io:changeset"), {"user": secretary_a.pk, "date": record.history_date.isoformat(), "reason": ""}
    )
    assert response.status_code == 200
    entry = AccessLog.objects.get()
    assert (entry.action, entry.member_ids) == ("viewed", [member.pk])
