"""The statutory forms read from the maintained counts (``reports.rollups.statistics``) follow the
writes that change them: a move between units whose organisation moves afterwards, a transfer in
transit across months, a corrected profile and a workplace whose ownership changes. Each report is
compared with the same counted from the periods and members themselves, and must have been
answered by the maintained counts."""

import datetime

import pytest

from branches import services
from branches.choices import OrganizationKind, PeriodEndReason
from enterprises import services as enterprise_services
from enterprises.choices import Ownership
from reports.dated_tree import DatedTree
from reports.statistics import (
    MOVEMENT_COLUMNS,
    _maintained,
    _Units,
    member_movement,
    new_admissions,
    sql_member_movement,
    sql_new_admissions,
)
from tests.factories import EnterpriseFactory, MemberFactory, MembershipPeriodFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

D = datetime.date
RANGES = ((D(2025, 7, 1), D(2025, 12, 31)), (D(2025, 9, 1), D(2025, 9, 30)), (D(2025, 10, 1), D(2026, 3, 31)))


def movement(report):
    rows = (report.total, *report.children)
    return [(row.organization.code, [getattr(row, name) for name in MOVEMENT_COLUMNS]) for row in rows]


def admissions(report):
    rows = (report.total, *report.children)
    return [(row.organization.code, {key: n for key, n in row.counts.items() if n}) for row in rows]


def assert_maintained_equal_counted(tops, ranges):
    for top in tops:
        for start, end in ranges:
            assert _maintained(_Units(top, DatedTree(end)), start, end), (top.code, start, end)
            counted = movement(sql_member_movement(top, start, end))
            assert movement(member_movement(top, start, end)) == counted, (top.code, start, end)
            counted = admissions(sql_new_admissions(top, start, end))
            assert admissions(new_admissions(top, start, end)) == counted, (top.code, start, end)


ADMITTED = D(2020, 1, 6)


def member_moving(first, second, left_on, arrived_on, admitted_on=ADMITTED):
    member = MemberFactory(organization=second, admitted_by=first, admitted_on=admitted_on, periods=False)
    MembershipPeriodFactory(
        member=member, organization=first, started_on=admitted_on, ended_on=left_on, end_reason=PeriodEndReason.TRANSFER
    )
    MembershipPeriodFactory(member=member, organization=second, started_on=arrived_on)
    return member


def flows(top):
    """Members transferred into and out of ``top``'s subtree over the first range."""
    total = member_movement(top, *RANGES[0]).total
    return total.transferred_in, total.transferred_out


@pytest.fixture
def elsewhere(tree):
    """OTHER, a committee beside DIST under the city, and its branch BR-X."""
    other = OrganizationFactory(code="OTHER", parent=tree.city, locality=tree.province)
    x = OrganizationFactory(code="BR-X", kind=OrganizationKind.GRASSROOTS_BRANCH, parent=other, locality=tree.province)
    return other, x


def test_moves_follow_an_organisation_moved_afterwards(tree, administrator, elsewhere):
    other, x = elsewhere
    member_moving(x, tree.branch_a, D(2025, 9, 25), D(2025, 10, 6))  # from OTHER to DIST, in transit
    member_moving(tree.branch_b, x, D(2025, 9, 3), D(2025, 9, 17))  # from DIST to OTHER, in transit
    tops = (tree.city, tree.committee, other)
    assert_maintained_equal_counted(tops, RANGES)
    assert flows(tree.committee) == (1, 1) and flows(other) == (1, 1)

    # BR-A moves under OTHER from before those moves: the transit from BR-X to BR-A is now a move
    # inside OTHER, no longer one into DIST.
    services.move_organization(administrator, tree.branch_a, other, on=D(2025, 7, 1))
    tree.branch_a.refresh_from_db()
    assert_maintained_equal_counted(tops, RANGES)
    assert flows(tree.committee) == (0, 1) and flows(other) == (1, 0)


def test_moves_follow_a_subtree_moved_afterwards(tree, administrator, elsewhere):
    """As above, with the member's units below the organisations that move: a grassroots committee
    moves with its subordinate branches, and a second one with its own beside it."""
    other, x = elsewhere
    units = []
    for code in ("G1", "G2"):
        grassroots = OrganizationFactory(
            code=code, kind=OrganizationKind.GRASSROOTS_COMMITTEE, parent=tree.committee, locality=tree.province
        )
        below = OrganizationFactory(
            code=f"{code}-S", kind=OrganizationKind.SUBORDINATE_BRANCH, parent=grassroots, locality=tree.province
        )
        units.append((grassroots, below))
    member_moving(x, units[0][1], D(2025, 9, 25), D(2025, 10, 6))  # from OTHER to DIST, in transit
    member_moving(units[1][1], x, D(2025, 9, 3), D(2025, 9, 17))  # from DIST to OTHER, in transit
    tops = (tree.city, tree.committee, other)
    assert_maintained_equal_counted(tops, RANGES)
    assert flows(tree.committee) == (1, 1) and flows(other) == (1, 1)
    services.move_organizations(
        administrator, [services.Move(grassroots, other, on=D(2025, 7, 1)) for grassroots, _below in units]
    )
    assert_maintained_equal_counted(tops, RANGES)
    assert flows(tree.committee) == (0, 0) and flows(other) == (0, 0)


def test_a_corrected_profile_and_a_change_of_ownership_reach_the_admissions(tree, administrator):
    workplace = EnterpriseFactory(ownership=Ownership.PRIVATE, managing_committee=tree.committee)
    member = MemberFactory(organization=tree.branch_a, admitted_on=D(2025, 8, 12), enterprise=workplace)
    start, end = RANGES[0]
    counts = new_admissions(tree.city, start, end).total.counts
    assert counts["ownership.private"] == 1 and counts.get("of_whom.ethnic_minorities", 0) == 0

    services.update_member(administrator, member, ethnicity="02", political_theory="intermediate")
    enterprise_services.update_enterprise(administrator, workplace, ownership=Ownership.FOREIGN_INVESTED)
    counts = new_admissions(tree.city, start, end).total.counts
    assert counts["of_whom.ethnic_minorities"] == 1 and counts["political_theory.intermediate"] == 1
    assert counts.get("ownership.private", 0) == 0 and counts["ownership.foreign_invested"] == 1
    assert_maintained_equal_counted((tree.city, tree.committee), RANGES)
