"""Bulk writes announce what they wrote (one event per batch), so the reports' data version
follows them as it follows the single-record services."""

import pytest

from branches.events import MembersChanged
from core import events
from dataio.imports import import_members
from reports import rollups
from tests.dataio.test_io_members_import import HEADERS, csv_bytes, member_row
from tests.factories import MemberFactory


@pytest.fixture
def announced():
    seen = []
    events.subscribe(MembersChanged, seen.append)
    yield seen
    events.unsubscribe(MembersChanged, seen.append)


def update_row(member, **overrides):
    return member_row(
        1,
        **{
            "citizen ID*": member.citizen_id,
            "full name*": member.full_name,
            "date of birth*": member.date_of_birth.strftime("%d/%m/%Y"),
            "sex*": "nam",
            "admitted on*": "",
            "Party card number": member.party_card_number,
            **overrides,
        },
    )


def test_a_bulk_update_of_a_field_the_reports_read_invalidates_the_cached_figures(tree, secretary_a, announced):
    member = MemberFactory(organization=tree.branch_a, is_business_owner=False)
    before = rollups.data_version()
    headers = [*HEADERS, "business owner"]
    result = import_members(
        csv_bytes([update_row(member, **{"business owner": "có"})], headers),
        organization=tree.branch_a,
        acting_user=secretary_a,
    )
    assert result.counts["update"] == 1 and result.committed, result.preview_lines()
    assert rollups.data_version() != before
    assert [(event.member_ids, "is_business_owner" in event.fields) for event in announced] == [((member.pk,), True)]


def test_a_bulk_update_of_names_only_keeps_the_cached_figures(tree, secretary_a, announced):
    member = MemberFactory(organization=tree.branch_a)
    before = rollups.data_version()
    result = import_members(
        csv_bytes([update_row(member, **{"full name*": "Nguyễn Thị Cập Nhật"})]),
        organization=tree.branch_a,
        acting_user=secretary_a,
    )
    assert result.counts["update"] == 1 and result.committed, result.preview_lines()
    assert [event.fields for event in announced] == [frozenset({"full_name"})]
    assert rollups.data_version() == before
