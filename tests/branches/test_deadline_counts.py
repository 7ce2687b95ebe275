"""The deadlines counted in SQL (branches.deadlines.count_deadlines) equal the items of
deadlines_for counted one by one, day after day across Tết, 30 April, 2 September, weekends,
29 February and the administrator's calendar exceptions, for every kind of item."""

import datetime
from collections import Counter

import pytest

from branches import services
from branches.choices import OrganizationKind, ProspectStage, TransferKind
from branches.deadlines import Kind, count_deadlines, deadlines_for
from branches.models import BadgeAward, Member, Organization, Prospect, Transfer
from core.dates import fixed_today
from core.models import CalendarDay, CalendarDayKind
from core.workdays import forget_calendar
from reports.deadlines import counts_below, visible_deadlines
from tests.factories import MemberFactory, OrganizationFactory, ProspectFactory

D = datetime.date
OLD = D(1940, 1, 1)


@pytest.fixture(autouse=True)
def _fresh_calendar():
    forget_calendar()
    yield
    forget_calendar()


@pytest.fixture
def records(tree, administrator):
    """Items of every kind below the city, falling due around the holidays of 2025 and 2026."""
    other = OrganizationFactory(code="OTHER", name="Đảng ủy Khác", locality=tree.province, parent=tree.city)
    far = OrganizationFactory(
        code="BR-FAR",
        name="Chi bộ Xa",
        kind=OrganizationKind.GRASSROOTS_BRANCH,
        locality=tree.commune,
        parent=other,
    )
    a, b = tree.branch_a, tree.branch_b

    def member(organization, admitted_on, **fields):
        return MemberFactory(organization=organization, admitted_on=admitted_on, date_of_birth=OLD, **fields)

    # Probationary members without a ceremony: the ceremony, then the review from the decision.
    for day in (
        D(2024, 2, 29),
        D(2024, 11, 29),
        D(2024, 12, 31),
        D(2025, 1, 17),
        D(2025, 1, 24),  # the Friday before Tết
        D(2025, 3, 15),  # a Saturday
        D(2025, 4, 4),
        D(2025, 4, 29),
        D(2025, 8, 29),
        D(2025, 12, 31),
    ):
        member(a if day.month % 2 else b, day)
    # With a ceremony: the review counts from it (31 January and 29 February + 12 months).
    member(a, D(2024, 1, 10), ceremony_on=D(2024, 1, 31))
    member(b, D(2024, 2, 20), ceremony_on=D(2024, 2, 29))
    member(b, D(2024, 8, 30), ceremony_on=D(2024, 9, 7))  # a Saturday
    member(a, D(2024, 3, 1), ceremony_on=D(2024, 3, 9), official_on=D(2025, 3, 10))  # recognised later
    member(a, D(2023, 3, 1), ceremony_on=D(2023, 3, 10), official_on=D(2024, 3, 1))  # official: nothing
    member(b, D(2023, 9, 5))  # never recognised: overdue for a year and more
    member(tree.committee, D(2025, 1, 20))  # the committee's own records
    member(far, D(2025, 2, 3))
    # Badges: anniversaries before, on and after a presentation date, one recorded already.
    for day in (D(1995, 1, 20), D(1995, 2, 3), D(1995, 2, 4), D(1985, 5, 19), D(1996, 2, 29), D(1976, 2, 29)):
        member(a, day, official_on=day.replace(year=day.year + 2, day=1))
    awarded = member(b, D(1995, 5, 1), official_on=D(1996, 5, 1))
    BadgeAward.objects.create(member=awarded, years=30, presented_on=D(2025, 5, 19))
    other_badge = member(b, D(1980, 8, 30), official_on=D(1981, 8, 30))  # 45 years; its 40 recorded
    BadgeAward.objects.create(member=other_badge, years=40, presented_on=D(2020, 9, 2))
    # Awareness-course certificates expiring (29 February + 5 years is 28 February).
    for day, stage in (
        (D(2020, 2, 29), ProspectStage.COURSE_DONE),
        (D(2020, 3, 1), ProspectStage.DOSSIER_COMPLETE),
        (D(2020, 4, 30), ProspectStage.IDENTIFIED),
        (D(2020, 12, 31), ProspectStage.COURSE_DONE),
        (D(2020, 6, 1), ProspectStage.WITHDRAWN),
    ):
        ProspectFactory(organization=b, identified_on=D(2019, 1, 1), course_completed_on=day, stage=stage)
    # Transfers inside the committee, out of it, into it, and temporary ones (one received).
    with fixed_today(D(2025, 6, 1)):
        for sender, receiver, letter_date in (
            (a, b, D(2025, 1, 20)),
            (a, far, D(2024, 12, 30)),
            (far, b, D(2025, 4, 25)),
        ):
            services.issue_transfer(
                administrator,
                member(sender, D(2010, 5, 5), official_on=D(2011, 5, 5)),
                to_organization=receiver,
                letter_date=letter_date,
                letter_number="12-GGT",
            )
        work = services.issue_transfer(
            administrator,
            member(b, D(2011, 5, 5), official_on=D(2012, 5, 5)),
            to_organization=far,
            letter_date=D(2024, 12, 2),
            letter_number="13-GGT",
            kind=TransferKind.TEMPORARY_WORK,
            ends_on=D(2025, 9, 2),
        )
        services.confirm_transfer(administrator, work, presented_on=D(2024, 12, 9))
        services.issue_transfer(
            administrator,
            member(far, D(2012, 5, 5), official_on=D(2013, 5, 5)),
            to_organization=a,
            letter_date=D(2025, 2, 28),
            letter_number="14-GGT",
            kind=TransferKind.TEMPORARY_STUDY,
            ends_on=D(2026, 2, 28),
        )
    # The administrator's exceptions: a Friday off, a Saturday worked.
    CalendarDay.objects.create(date=D(2025, 3, 14), kind=CalendarDayKind.DAY_OFF)
    CalendarDay.objects.create(date=D(2025, 3, 22), kind=CalendarDayKind.WORKING_DAY)
    forget_calendar()
    return tree


def _counted(organization, on, width, **rows):
    due, overdue = count_deadlines(organization, on, width=width, **rows)
    return +Counter({(prefix, False): n for prefix, n in due.items()} | {(p, True): n for p, n in overdue.items()})


def _items_counted(items, width):
    paths = dict(Organization.objects.values_list("code", "path"))
    return Counter((paths[item.organization][:width], item.overdue) for item in items)


def _days(first, last, step):
    day = first
    while day <= last:
        yield day
        day += datetime.timedelta(days=step)


def test_counts_equal_the_items_counted_day_after_day(records):
    kinds = set()
    for organization in (records.city, records.committee):
        width = len(organization.path) + Organization.steplen
        for on in _days(D(2024, 11, 1), D(2026, 3, 31), 5):
            items = deadlines_for(organization, on)
            kinds |= {item.kind for item in items}
            assert _counted(organization, on, width) == _items_counted(items, width), on
    assert kinds == {
        Kind.CEREMONY,
        Kind.PROBATION_REVIEW,
        Kind.COURSE_CERTIFICATE,
        Kind.BADGE,
        Kind.TRANSFER_IN_TRANSIT,
        Kind.TEMPORARY_TRANSFER_ENDING,
    }


def test_counts_equal_the_items_on_the_days_around_each_boundary(records):
    width = len(records.committee.path) + Organization.steplen
    transfers_due = {day for row in Transfer.objects.values_list("due_on", "ends_on") for day in row if day}
    for on in sorted(transfers_due) + [
        D(2024, 2, 29),
        D(2025, 1, 24),
        D(2025, 1, 28),  # Tết
        D(2025, 2, 3),  # a presentation date
        D(2025, 2, 28),
        D(2025, 3, 1),
        D(2025, 3, 14),  # the day off
        D(2025, 3, 22),  # the Saturday worked
        D(2025, 4, 30),
        D(2025, 9, 2),
        D(2026, 2, 28),
        D(2028, 2, 29),
    ]:
        for day in (on - datetime.timedelta(days=1), on, on + datetime.timedelta(days=1)):
            items = deadlines_for(records.committee, day)
            assert _counted(records.committee, day, width) == _items_counted(items, width), day


def test_counts_read_only_the_rows_given(records, secretary_a):
    width = len(records.committee.path) + Organization.steplen
    members = Member.objects.visible_to(secretary_a)
    prospects = Prospect.objects.visible_to(secretary_a)
    for on in _days(D(2025, 1, 1), D(2025, 12, 31), 29):
        items = deadlines_for(records.committee, on, members=members, prospects=prospects)
        assert _counted(records.committee, on, width, members=members, prospects=prospects) == _items_counted(
            items, width
        )


def test_counts_below_are_the_visible_items_per_committee(records, department, secretary_a):
    on = D(2025, 3, 1)
    for user in (department, secretary_a):
        for organization in (records.city, records.committee):
            width = len(organization.path) + Organization.steplen
            expected = _items_counted(visible_deadlines(organization, on, user), width)
            rows = counts_below(organization, on, user)
            assert {row.organization.path: (row.due, row.overdue) for row in rows if row.total} == {
                prefix: (expected[(prefix, False)], expected[(prefix, True)]) for prefix, _overdue in expected
            }


def test_counts_below_take_a_constant_number_of_queries(records, department, django_assert_max_num_queries):
    on = D(2025, 1, 20)
    counts_below(records.city, on, department)  # the working calendar, cached from now on
    with django_assert_max_num_queries(5):
        counts_below(records.city, on, department)
