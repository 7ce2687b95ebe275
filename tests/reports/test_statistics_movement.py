"""Member movement (form 1-BTCTW): additions and removals per organisation below a committee and in
total; moves inside the subtree are not movements of the subtree; start + additions − removals = end
on every row."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from branches import services
from branches.choices import OrganizationKind, PeriodEndReason
from branches.models import MembershipPeriod
from reports.statistics import MOVEMENT_COLUMNS, half_year, member_movement
from tests.factories import MemberFactory, MembershipPeriodFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

D = datetime.date
YEAR = (D(2024, 1, 1), D(2024, 12, 31))


def branch(code, parent, **kwargs):
    return OrganizationFactory(
        code=code, kind=OrganizationKind.GRASSROOTS_BRANCH, parent=parent, locality=parent.locality, **kwargs
    )


@pytest.fixture
def moves(tree, administrator):
    """Members of DIST's branches A, B and C and of X (under another committee of the city)."""
    other = OrganizationFactory(code="OTHER", parent=tree.city, locality=tree.province)
    x = branch("BR-X", other)
    c = branch("BR-C", tree.committee)
    a, b, admin = tree.branch_a, tree.branch_b, administrator
    services.admit_member(
        admin, organization=a, admitted_on=D(2024, 3, 1), full_name="m1", sex="male",
        date_of_birth=D(1990, 1, 1), citizen_id="001190000001",
    )  # fmt: skip
    m2 = MemberFactory(organization=a)
    services.transfer_member(admin, m2, on=D(2024, 5, 1), to_organization=b, presented_on=D(2024, 5, 1))  # inside DIST
    m3 = MemberFactory(organization=x)
    services.transfer_member(admin, m3, on=D(2024, 6, 1), to_organization=a, presented_on=D(2024, 6, 1))  # into DIST
    m4 = MemberFactory(organization=b)
    services.transfer_member(admin, m4, on=D(2024, 7, 1), to_organization=x, presented_on=D(2024, 7, 1))  # out of DIST
    services.record_leaving(admin, MemberFactory(organization=a), on=D(2024, 8, 1), reason=PeriodEndReason.DIED)
    m6 = MemberFactory(organization=b, admitted_on=D(2023, 10, 1), official_on=None)
    services.record_leaving(admin, m6, on=D(2024, 11, 1), reason=PeriodEndReason.STRUCK_OFF)  # not recognised
    services.transfer_member(admin, MemberFactory(organization=a), on=D(2024, 2, 1))  # to the place of residence
    m8 = MemberFactory(organization=a, admitted_on=D(2019, 1, 1), periods=False)
    MembershipPeriodFactory(
        member=m8, organization=a, started_on=D(2019, 1, 1), ended_on=D(2022, 1, 1), end_reason="resigned"
    )
    MembershipPeriodFactory(member=m8, organization=b, started_on=D(2024, 4, 1))  # restored
    services.record_leaving(admin, MemberFactory(organization=b), on=D(2024, 9, 1), reason=PeriodEndReason.EXPELLED)
    MemberFactory(organization=a)  # stays
    services.record_leaving(admin, MemberFactory(organization=a), on=D(2023, 6, 1), reason=PeriodEndReason.RESIGNED)
    MemberFactory(organization=c)
    services.dissolve_organization(admin, c, on=D(2024, 9, 1), destination=a)  # a merger inside DIST
    return tree


def figures(row):
    return {name: getattr(row, name) for name in MOVEMENT_COLUMNS}


def test_committee_total_counts_only_movements_across_its_boundary(moves):
    report = member_movement(moves.committee, *YEAR)
    total = report.total
    assert figures(total) == {
        "at_start": 8,
        "admitted": 1,
        "transferred_in": 1,
        "restored": 1,
        "died": 1,
        "expelled": 1,
        "struck_off": 1,
        "struck_off_probationary": 1,
        "resigned": 0,
        "transferred_out": 2,
        "at_end": 6,
    }
    assert (total.additions, total.removals) == (3, 5)
    assert total.previous_year_end == 8 and total.change_percent == pytest.approx(-25.0)


def test_each_branch_counts_the_moves_between_branches(moves):
    rows = {row.organization.code: row for row in member_movement(moves.committee, *YEAR).children}
    assert set(rows) == {"BR-A", "BR-B", "BR-C"}
    a, b, c = rows["BR-A"], rows["BR-B"], rows["BR-C"]
    assert (a.at_start, a.admitted, a.transferred_in, a.transferred_out, a.died, a.at_end) == (4, 1, 2, 2, 1, 4)
    assert (b.at_start, b.transferred_in, b.restored, b.transferred_out, b.expelled, b.struck_off, b.at_end) == (
        3, 1, 1, 1, 1, 1, 2,
    )  # fmt: skip
    assert (c.at_start, c.transferred_out, c.at_end) == (1, 1, 0)


def test_the_city_sees_the_transfers_with_its_other_committee_as_inside(moves):
    total = member_movement(moves.city, *YEAR).total
    assert (total.transferred_in, total.transferred_out) == (0, 1)  # only the move to the place of residence
    assert total.balanced


def test_identity_holds_on_every_row_and_every_period(moves):
    for start, end in (YEAR, half_year(2024, 1), half_year(2024, 2), (D(2024, 5, 1), D(2024, 5, 1)),
                       (D(2020, 1, 1), D(2026, 1, 1))):  # fmt: skip
        for organization in (moves.city, moves.committee, moves.branch_a):
            report = member_movement(organization, start, end)
            for row in (report.total, *report.children):
                assert row.balanced, (organization.code, start, end, row)


def test_end_count_is_the_periods_in_force(moves):
    report = member_movement(moves.committee, *YEAR)
    assert (
        report.total.at_end
        == MembershipPeriod.objects.on(YEAR[1]).filter(organization__path__startswith=moves.committee.path).count()
    )


def test_queries_do_not_grow_with_the_data(moves):
    with CaptureQueriesContext(connection) as before:
        member_movement(moves.committee, *YEAR)
    for serial in range(5):
        member = MemberFactory(organization=moves.branch_b, admitted_on=D(2024, 2, 1 + serial))
        services.transfer_member(
            _admin(),
            member,
            on=D(2024, 3, 1 + serial),
            to_organization=moves.branch_a,
            presented_on=D(2024, 3, 1 + serial),
        )
    with CaptureQueriesContext(connection) as after:
        member_movement(moves.committee, *YEAR)
    # the tree of the end date (two), its children, the members on the three dates and the movements,
    # in a savepoint (two) where PostgreSQL gives the aggregates room (one)
    assert len(after) == len(before) <= 8


def _admin():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="administrator")


def test_a_start_after_the_end_is_refused(tree):
    with pytest.raises(ValueError):
        member_movement(tree.committee, D(2024, 2, 1), D(2024, 1, 1))
