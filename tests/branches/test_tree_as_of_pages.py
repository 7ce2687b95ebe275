"""The tree of a past date reads its order from light rows and its organisations page by page."""

import datetime

from django.core.paginator import Paginator

from branches.models import Organization
from branches.structure import tree_as_of
from tests.factories import OrganizationFactory


def test_a_page_of_the_past_tree_reads_only_its_organisations(tree, django_assert_num_queries):
    for n in range(12):
        OrganizationFactory(
            code=f"EXTRA{n:02}", parent=tree.committee, locality=tree.province, established_on=datetime.date(2020, 1, 1)
        )
    with django_assert_num_queries(2):  # the order, then the page's organisations
        nodes = tree_as_of(Organization.objects.all(), datetime.date(2024, 6, 1))
        page = Paginator(nodes, 5).get_page(2)
        rows = [(node.organization.code, node.depth) for node in page.object_list]
    assert len(nodes) == 16
    assert len(rows) == 5
    everything = [(node.organization.code, node.depth) for node in nodes]
    assert everything[:3] == [("CITY", 1), ("DIST", 2), ("BR-A", 3)]
    assert rows == everything[5:10]
