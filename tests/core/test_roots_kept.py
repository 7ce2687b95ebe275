"""Whether a user's subtrees cover every root is answered from the roots kept per structure
version (``core.scoping._covers_every_root``), and a new root is seen at once."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from branches.choices import RoleKey
from core.scoping import scope_for
from tests.factories import OrganizationFactory, RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the structure version moves on commit


def fresh_scope(user):
    """The scope of ``user`` as a new request finds it (a user object read afresh)."""
    return scope_for(get_user_model().objects.get(pk=user.pk))


def probes_of_roots(user):
    with CaptureQueriesContext(connection) as captured:
        scope = fresh_scope(user)
    return scope, [q["sql"] for q in captured.captured_queries if '"depth" = 1' in q["sql"]]


def test_the_roots_are_read_once_per_structure_version_and_a_new_root_is_seen_at_once(tree):
    user = UserFactory()
    RoleAssignmentFactory(user=user, role=RoleKey.DEPARTMENT, organization=tree.city)
    scope, probes = probes_of_roots(user)
    assert scope.reads_everything is True and len(probes) == 1
    scope, probes = probes_of_roots(user)
    assert scope.reads_everything is True and probes == []  # kept for this structure version

    other_root = OrganizationFactory(code="QN", name="Tỉnh ủy Quảng Ninh")
    scope, probes = probes_of_roots(user)
    assert scope.reads_everything is False and len(probes) == 1

    RoleAssignmentFactory(user=user, role=RoleKey.DEPARTMENT, organization=other_root)
    assert fresh_scope(user).reads_everything is True
