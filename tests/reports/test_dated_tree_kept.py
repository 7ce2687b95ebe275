"""The tree of a past date is kept per structure version (reports.dated_tree.dated_tree)."""

import datetime

import pytest
from django.db import transaction

from branches import services as branch_services
from reports.dated_tree import dated_tree
from tests.factories import MemberFactory, OrganizationFactory

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = datetime.date(2024, 12, 31)


@pytest.fixture
def other(tree):
    return OrganizationFactory(
        code="OTHER", parent=tree.city, locality=tree.province, established_on=datetime.date(2020, 1, 1)
    )


def test_the_tree_is_kept_until_the_structure_changes(tree, administrator, other):
    kept = dated_tree(BEFORE)
    assert dated_tree(BEFORE) is kept and not kept.moved
    MemberFactory(organization=tree.branch_a, admitted_on=datetime.date(2024, 5, 2))
    assert dated_tree(BEFORE) is kept  # an admission changes no parent
    branch_services.move_organization(administrator, tree.branch_a, other, on=datetime.date(2025, 7, 1))
    tree.branch_a.refresh_from_db()
    moved = dated_tree(BEFORE)
    assert moved is not kept
    assert moved.parent(tree.branch_a.path) == tree.committee.path
    assert moved.row_of(tree.branch_a.path, tree.city.path) == tree.committee.path


def test_a_transaction_that_wrote_builds_its_own_tree_and_keeps_none(tree, administrator, other):
    assert not dated_tree(BEFORE).moved
    with pytest.raises(RuntimeError), transaction.atomic():
        branch_services.move_organization(administrator, tree.branch_a, other, on=datetime.date(2025, 7, 1))
        assert dated_tree(BEFORE).moved  # its own write, under the version it bumped
        raise RuntimeError("rolled back")
    assert not dated_tree(BEFORE).moved  # that version's tree was not kept
