"""The order of a past date's tree is kept per structure version and per scope (the tree page)."""

import datetime

import pytest
from django.db import transaction

from branches import services as branch_services
from branches.models import Organization
from branches.structure import tree_as_of
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db(transaction=True)

ON = datetime.date(2025, 8, 1)


def parents(nodes):
    nodes = list(nodes)
    by_id = {node.organization.pk: node.organization.code for node in nodes}
    return {node.organization.code: by_id.get(node.parent_id) for node in nodes}


@pytest.fixture
def other(tree):
    return OrganizationFactory(
        code="OTHER", parent=tree.city, locality=tree.province, established_on=datetime.date(2020, 1, 1)
    )


def test_the_order_is_read_once_until_the_structure_changes(tree, administrator, other, django_assert_num_queries):
    everything = Organization.objects.all()
    first = parents(tree_as_of(everything, ON))
    assert first["BR-A"] == "DIST"
    with django_assert_num_queries(1):  # the page's organisations only: the order is kept
        assert parents(tree_as_of(everything, ON)) == first
    branch_services.move_organization(administrator, tree.branch_a, other, on=datetime.date(2025, 7, 1))
    assert parents(tree_as_of(everything, ON))["BR-A"] == "OTHER"
    assert parents(tree_as_of(everything, datetime.date(2025, 6, 30)))["BR-A"] == "DIST"


def test_each_scope_keeps_its_own_order(tree, other):
    everything = parents(tree_as_of(Organization.objects.all(), ON))
    below_district = parents(tree_as_of(Organization.objects.filter(path__startswith=tree.committee.path), ON))
    assert set(below_district) < set(everything)
    assert below_district["DIST"] is None  # its parent is outside the scope
    assert parents(tree_as_of(Organization.objects.all(), ON)) == everything


def test_a_transaction_that_wrote_keeps_no_order(tree, administrator, other):
    everything = Organization.objects.all()
    with pytest.raises(RuntimeError), transaction.atomic():
        branch_services.move_organization(administrator, tree.branch_a, other, on=datetime.date(2025, 7, 1))
        assert parents(tree_as_of(everything, ON))["BR-A"] == "OTHER"  # its own write
        raise RuntimeError("rolled back")
    assert parents(tree_as_of(everything, ON))["BR-A"] == "DIST"
