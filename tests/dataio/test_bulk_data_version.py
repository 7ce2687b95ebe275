"""Bulk writes send no signals, so they bump the reports' data version themselves."""

from django.utils import timezone

from branches.models import Member
from dataio import bulk
from reports import rollups
from tests.factories import MemberFactory


def test_a_bulk_update_of_members_invalidates_the_cached_report_figures(tree, secretary_a):
    member = MemberFactory(organization=tree.branch_a, is_business_owner=False)
    before = rollups.data_version()
    member.full_name = "Nguyễn Thị Cập Nhật"
    bulk.update_with_history(
        Member, [member], ["full_name"], user=secretary_a, reason="import test.xlsx", date=timezone.now()
    )
    assert rollups.data_version() != before
    assert Member.objects.get(pk=member.pk).full_name == "Nguyễn Thị Cập Nhật"
