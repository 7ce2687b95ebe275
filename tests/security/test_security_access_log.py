"""The access log of sensitive data: written for member views, edits and exports; append-only; admin-only."""

import datetime

import pytest
from django.db import DatabaseError, connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

from security.access import AccessLogMiddleware, record_access
from security.models import AccessAction, AccessLog
from tests.factories import MemberFactory


@pytest.fixture(autouse=True)
def english(settings):
    """Messages are asserted in English (the default language is Vietnamese), in every thread."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def member(tree):
    return MemberFactory(organization=tree.branch_a, citizen_id="001190012345", is_business_owner=False)


@pytest.fixture
def entry(member, secretary_a):
    request = RequestFactory().get("/members/1/", REMOTE_ADDR="10.0.0.5", HTTP_USER_AGENT="pytest-agent")
    request.user = secretary_a
    return record_access(request, AccessAction.VIEWED, members=[member])


# Append-only ------------------------------------------------------------------------------


def test_entry_records_who_what_when_and_where(entry, member, secretary_a):
    entry.refresh_from_db()
    assert entry.user == secretary_a
    assert entry.username == "secretary_a"
    assert entry.action == AccessAction.VIEWED
    assert entry.member_ids == [member.pk]
    assert entry.ip_address == "10.0.0.5"
    assert entry.user_agent == "pytest-agent"
    assert entry.at is not None


def test_entries_cannot_be_changed(entry):
    entry.action = AccessAction.EDITED
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        AccessLog.objects.filter(pk=entry.pk).update(action=AccessAction.EDITED)
    assert AccessLog.objects.get(pk=entry.pk).action == AccessAction.VIEWED


def test_entries_cannot_be_deleted(entry):
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AccessLog.objects.all().delete()
    assert AccessLog.objects.filter(pk=entry.pk).exists()


def test_database_refuses_changes_behind_the_orm_on_postgresql(entry):
    table = AccessLog._meta.db_table
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET action = 'edited' WHERE id = %s", [entry.pk])
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [entry.pk])
    else:
        # SQLite has no such trigger (test databases are flushed with DELETE); the ORM guards it.
        with pytest.raises(PermissionError):
            AccessLog.objects.filter(pk=entry.pk).delete()
    assert AccessLog.objects.get(pk=entry.pk).action == AccessAction.VIEWED


def test_a_user_with_log_entries_cannot_be_deleted(entry, secretary_a):
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        secretary_a.delete()


def test_admin_cannot_add_change_or_delete_entries(client, administrator, entry):
    administrator.is_staff = True  # the admin site's own gate
    administrator.save()
    client.force_login(administrator)
    assert client.get(reverse("admin:security_accesslog_changelist")).status_code == 200
    assert client.get(reverse("admin:security_accesslog_add")).status_code == 403
    assert client.post(reverse("admin:security_accesslog_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    response = client.post(reverse("admin:security_accesslog_change", args=[entry.pk]), {"action": "edited"})
    assert response.status_code == 403
    assert AccessLog.objects.get(pk=entry.pk).action == AccessAction.VIEWED


# What gets logged -------------------------------------------------------------------------


def test_opening_a_member_page_is_logged(client, secretary_a, member):
    client.force_login(secretary_a)
    response = client.get(
        reverse("branches:member_detail", args=[member.pk]), REMOTE_ADDR="10.9.8.7", HTTP_USER_AGENT="Firefox"
    )
    assert response.status_code == 200
    entry = AccessLog.objects.get()
    assert (entry.username, entry.action, entry.member_ids) == ("secretary_a", "viewed", [member.pk])
    assert (entry.ip_address, entry.user_agent) == ("10.9.8.7", "Firefox")
    assert entry.path == f"/members/{member.pk}/"


def test_an_outsider_refused_a_member_page_leaves_no_viewed_entry(client, secretary_b, member):
    client.force_login(secretary_b)
    assert client.get(reverse("branches:member_detail", args=[member.pk])).status_code == 404
    assert not AccessLog.objects.exists()


def test_browsing_lists_is_not_logged(client, secretary_a, member):
    client.force_login(secretary_a)
    assert client.get(reverse("branches:member_list")).status_code == 200
    assert not AccessLog.objects.exists()


def test_api_member_detail_and_list_are_logged(client, department, member):
    client.force_login(department)
    assert client.get(f"/api/v1/members/{member.pk}/").status_code == 200
    assert client.get("/api/v1/members/", {"status": "active"}).status_code == 200
    viewed, exported = AccessLog.objects.order_by("id")
    assert (viewed.action, viewed.member_ids) == ("viewed", [member.pk])
    assert exported.action == "exported"
    assert exported.member_ids == [member.pk]
    assert exported.filters == {"status": "active"}


def test_every_file_download_is_logged_as_an_export_with_its_filters(rf, secretary_a, member):
    request = rf.get("/members/export/", {"organization": "3", "status": "active"})
    request.user = secretary_a
    request.access_log_member_ids = [member.pk]

    def export_view(request):
        response = HttpResponse(b"xlsx", content_type="application/octet-stream")
        response["Content-Disposition"] = 'attachment; filename="members.xlsx"'
        request.resolver_match = type("Match", (), {"view_name": "branches:member_export", "kwargs": {}})()
        return response

    AccessLogMiddleware(export_view)(request)
    entry = AccessLog.objects.get()
    assert entry.action == "exported"
    assert entry.member_ids == [member.pk]
    assert entry.filters == {"organization": "3", "status": "active"}


def test_a_member_edit_through_the_api_is_logged(client, secretary_a, member):
    client.force_login(secretary_a)
    response = client.patch(
        f"/api/v1/members/{member.pk}/",
        {"full_name": "Nguyễn Văn Mới", "version": member.version},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert AccessLog.objects.filter(action="edited", member_ids=[member.pk]).exists()


# The administrators' page -----------------------------------------------------------------


def test_administrator_reads_and_filters_the_access_log(client, administrator, secretary_a, department, member):
    for user, action in ((secretary_a, "viewed"), (department, "exported")):
        request = RequestFactory().get("/x/")
        request.user = user
        record_access(request, action, members=[member.pk] if action == "viewed" else [], filters={"q": "An"})
    client.force_login(administrator)
    page = client.get(reverse("security:access_log"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "secretary_a" in html and "department" in html

    only_exports = client.get(reverse("security:access_log"), {"action": "exported"}).content.decode()
    assert "department" in only_exports and "secretary_a" not in only_exports

    by_member = client.get(reverse("security:access_log"), {"member": member.pk}).content.decode()
    assert "secretary_a" in by_member and ">department<" not in by_member

    today = datetime.date.today().isoformat()
    assert "secretary_a" in client.get(reverse("security:access_log"), {"since": today}).content.decode()


@pytest.mark.parametrize("persona", ["secretary_a", "department"])
def test_only_administrators_read_the_access_log(client, persona, request):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("security:access_log")).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get(reverse("security:access_log"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_access_log_page_query_count_does_not_grow_with_entries(
    client, administrator, secretary_a, django_assert_max_num_queries
):
    request = RequestFactory().get("/x/")
    request.user = secretary_a
    for pk in range(60):
        record_access(request, "viewed", members=[pk])
    client.force_login(administrator)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("security:access_log")).status_code == 200


# Citizen ID -------------------------------------------------------------------------------


def test_citizen_id_in_full_only_for_those_who_may_edit(member, secretary_a, department, administrator):
    assert member.citizen_id_for(secretary_a) == "001190012345"
    assert member.citizen_id_for(administrator) == "001190012345"
    assert member.citizen_id_for(department) == "••••••••2345"


def test_member_page_masks_the_citizen_id_for_read_only_roles(client, member, secretary_a, department):
    client.force_login(department)
    html = client.get(reverse("branches:member_detail", args=[member.pk])).content.decode()
    assert "001190012345" not in html
    assert "2345" in html
    client.force_login(secretary_a)
    assert "001190012345" in client.get(reverse("branches:member_detail", args=[member.pk])).content.decode()


def test_member_list_never_shows_the_full_citizen_id(client, member, secretary_a):
    client.force_login(secretary_a)
    assert "001190012345" not in client.get(reverse("branches:member_list")).content.decode()


def test_template_filter_masks_for_read_only_roles(member, department, secretary_a):
    from django.template import Context, Template

    template = Template("{% load party_security %}{{ member|citizen_id_for:user }}")
    assert template.render(Context({"member": member, "user": department})) == "••••••••2345"
    assert template.render(Context({"member": member, "user": secretary_a})) == "001190012345"


def test_data_protection_page_is_public_and_linked_from_the_footer(client, secretary_a):
    page = client.get(reverse("security:data_protection"))
    assert page.status_code == 200
    assert "sensitive personal data" in page.content.decode()
    client.force_login(secretary_a)
    html = client.get(reverse("branches:member_list")).content.decode()
    assert reverse("security:data_protection") in html


def test_exporting_the_member_list_is_logged_once_with_its_filters(client, secretary_a, member):
    client.force_login(secretary_a)
    response = client.get("/data/export/", {"kind": "members", "format": "csv", "status": "active"})
    assert response.status_code == 200
    entry = AccessLog.objects.get()
    assert entry.action == "exported"
    assert entry.member_ids == [member.pk]
    assert entry.filters == {"status": "active"}
