"""``core.prepared.PreparedQuery`` returns what the ordinary queryset returns, compiling its SQL once
per connection, and falls back to the ordinary path where values cannot be bound by position."""

from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Q
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext
from django_otp.plugins.otp_totp.models import TOTPDevice

from branches.choices import RoleKey
from branches.models import RoleAssignment
from core.models import UserPreference
from core.prepared import PreparedQuery
from core.scoping import role_assignments
from security.access import SessionUserBackend
from tests.factories import MemberFactory, OrganizationFactory, ProspectFactory, RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def assignments(user_id):
    return (
        RoleAssignment.objects.filter(user_id=user_id)
        .select_related("organization")
        .annotate(others=Count("user__role_assignments"))
        .order_by("id")
    )


def as_rows(assignments):
    return [(a.pk, a.role, a.organization.code, a.organization.path, a.others) for a in assignments]


@pytest.fixture
def people():
    first, second, third = UserFactory(), UserFactory(), UserFactory()
    city = OrganizationFactory(code="HN", name="Thành ủy Hà Nội")
    branch = OrganizationFactory(parent=city, code="HN-01", name="Chi bộ 1")
    RoleAssignmentFactory(user=first, role=RoleKey.DEPARTMENT, organization=city)
    RoleAssignmentFactory(user=first, role=RoleKey.SECRETARY, organization=branch)
    RoleAssignmentFactory(user=second, role=RoleKey.SECRETARY, organization=branch)
    return first, second, third


def test_each_call_returns_the_rows_of_its_own_keys_with_relations_and_annotations(people):
    prepared = PreparedQuery(assignments)
    for user in (*people, people[0], people[2], people[1]):
        with CaptureQueriesContext(connection) as captured:
            rows = prepared(user.pk)
        assert as_rows(rows) == as_rows(assignments(user.pk))
        assert len(captured.captured_queries) == 1  # the organisation came with each row
    assert len(prepared(people[0].pk)) == 2 and prepared(people[2].pk) == []


def test_the_sql_is_compiled_on_the_first_call_of_a_connection_only(people):
    prepared = PreparedQuery(assignments)
    prepared(people[0].pk)
    with mock.patch.object(SQLCompiler, "as_sql", autospec=True, side_effect=SQLCompiler.as_sql) as compiled:
        assert as_rows(prepared(people[1].pk)) == as_rows(assignments(people[1].pk))
        compiled.reset_mock()
        prepared(people[0].pk)
        prepared(people[1].pk)
    assert compiled.call_count == 0


def test_values_that_are_not_whole_numbers_take_the_ordinary_path(people):
    prepared = PreparedQuery(assignments)
    prepared(people[0].pk)
    assert as_rows(prepared(str(people[1].pk))) == as_rows(assignments(people[1].pk))
    assert as_rows(prepared(people[0].pk)) == as_rows(assignments(people[0].pk))


def test_a_key_used_twice_in_the_sql_takes_the_ordinary_path(people):
    prepared = PreparedQuery(lambda user_id: RoleAssignment.objects.filter(Q(user_id=user_id) & Q(user__pk=user_id)))
    for user in (*people, *people):
        assert {a.pk for a in prepared(user.pk)} == {a.pk for a in RoleAssignment.objects.filter(user_id=user.pk)}


def test_several_keys_go_to_their_own_places(people):
    prepared = PreparedQuery(
        lambda user_id, organization_id: RoleAssignment.objects.filter(user_id=user_id, organization_id=organization_id)
    )
    first, second, _third = people
    for assignment in RoleAssignment.objects.all():
        assert [a.pk for a in prepared(assignment.user_id, assignment.organization_id)] == [assignment.pk]
    branch = RoleAssignment.objects.get(user=second).organization_id
    city = RoleAssignment.objects.get(user=first, role=RoleKey.DEPARTMENT).organization_id
    assert prepared(second.pk, city) == [] and len(prepared(first.pk, branch)) == 1


def test_the_session_user_arrives_with_profile_and_second_factor_in_one_query(people):
    user = people[0]
    UserPreference.objects.create(user=user, full_name="Nguyễn Văn An", language="en")
    backend = SessionUserBackend()
    for _ in range(2):
        with CaptureQueriesContext(connection) as captured:
            found = backend.get_user(user.pk)
            assert found == user and found.preference.full_name == "Nguyễn Văn An"
            assert found.otp_device_confirmed is False
        assert len(captured.captured_queries) == 1
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    assert backend.get_user(user.pk).otp_device_confirmed is True
    assert backend.get_user(people[1].pk).otp_device_confirmed is False
    get_user_model().objects.filter(pk=people[1].pk).update(is_active=False)
    assert backend.get_user(people[1].pk) is None
    assert backend.get_user(10**6) is None


def test_role_assignments_are_each_users_own(people):
    first, second, third = (get_user_model().objects.get(pk=user.pk) for user in people)
    assert [a.role for a in role_assignments(first)] == [RoleKey.DEPARTMENT, RoleKey.SECRETARY]
    assert [a.organization.code for a in role_assignments(second)] == ["HN-01"]
    assert role_assignments(third) == []


def test_a_query_that_matches_nothing_whatever_the_keys_runs_no_query(people):
    prepared = PreparedQuery(lambda user_id: RoleAssignment.objects.filter(user_id=user_id, pk__in=[]))
    for user in (*people, *people):
        with CaptureQueriesContext(connection) as captured:
            assert prepared(user.pk) == []
        assert captured.captured_queries == []


def test_member_pages_answer_each_viewer_by_their_own_scope_turn_after_turn(client, personas, tree):
    """The row a page shows and whether it may be changed are compiled once per view and scope:
    viewers of other scopes, taking turns on the same pages, each get their own answer."""
    member_a = MemberFactory(organization=tree.branch_a)
    member_b = MemberFactory(organization=tree.branch_b)
    expected = {
        # viewer: (detail of A, edit form of A, detail of B, edit form of B)
        personas.secretary_a: (200, 200, 404, 404),
        personas.secretary_b: (404, 404, 200, 200),
        personas.department: (200, 403, 200, 403),
        personas.administrator: (200, 200, 200, 200),
    }
    for _turn in range(2):
        for viewer, statuses in expected.items():
            client.force_login(viewer)
            answered = tuple(
                client.get(f"/members/{member.pk}/{page}").status_code
                for member in (member_a, member_b)
                for page in ("", "edit/")
            )
            assert answered == statuses, viewer.username
            page = client.get(f"/members/{member_a.pk}/")
            if statuses[0] == 200:
                assert page.context["object"] == member_a
                assert page.context["can_edit"] is (statuses[1] == 200)


def test_the_member_page_shows_each_viewer_the_prospect_of_their_own_scope_turn_after_turn(client, personas, tree):
    """The prospect a member came from is read through the viewer's scope, compiled once per
    scope: a secretary who sees the member but not the prospect's branch is not shown it, however
    often the department, who sees both, opened the page before."""
    member = MemberFactory(organization=tree.branch_b)
    prospect = ProspectFactory(organization=tree.branch_a, member=member)
    for _turn in range(2):
        for viewer, shown in ((personas.department, prospect), (personas.secretary_b, None)):
            client.force_login(viewer)
            page = client.get(f"/members/{member.pk}/")
            assert page.status_code == 200
            assert page.context["prospect"] == shown, viewer.username
