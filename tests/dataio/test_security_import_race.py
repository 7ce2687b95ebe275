"""An import commit racing a concurrent admission of the same citizen ID reports the row and writes
nothing (issue 17, finding 8)."""

import pytest
from django.utils import translation

from branches.models import Member, MembershipPeriod
from dataio import bulk
from dataio.imports import import_members
from tests.dataio.test_io_members_import import csv_bytes, member_row
from tests.factories import MemberFactory


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def admitted_meanwhile(tree, monkeypatch):
    """A member admitted elsewhere with row 2's citizen ID after the import checked its rows: the
    planning does not see them (as if their transaction committed a moment later)."""
    member = MemberFactory(organization=tree.branch_b, citizen_id=member_row(2)["citizen ID*"])
    original = bulk.filter_in

    def filter_in_before_the_admission(queryset, lookup, values):
        if queryset.model is Member:
            queryset = queryset.exclude(pk=member.pk)
        return original(queryset, lookup, values)

    monkeypatch.setattr(bulk.members, "filter_in", filter_in_before_the_admission)
    return member


def test_the_commit_reports_the_conflicting_row_and_writes_nothing(tree, secretary_a, admitted_meanwhile):
    members_before, periods_before = Member.objects.count(), MembershipPeriod.objects.count()
    result = import_members(
        csv_bytes([member_row(1), member_row(2), member_row(3)]),
        organization=tree.branch_a,
        acting_user=secretary_a,
    )
    assert result.has_errors and not result.committed
    errors = {row.number: [error.message for error in row.errors] for row in result.rows if row.errors}
    assert list(errors) == [3]  # the file's second data row (the header is line 1)
    assert "Another change recorded this number" in errors[3][0]
    assert (Member.objects.count(), MembershipPeriod.objects.count()) == (members_before, periods_before)
