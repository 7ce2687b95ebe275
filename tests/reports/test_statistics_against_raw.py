"""The statutory statistics counted in the database equal the same counted in Python from the raw
rows (``raw_member_movement``, ``raw_new_admissions``), on random histories: members admitted or
recorded later, moving on the same day or after days in transit, leaving the Party and restored,
periods of no length, in organisations moved and merged after some reports' end dates."""

import datetime
import random

import pytest

from branches import services
from branches.choices import (
    Ethnicity,
    OrganizationKind,
    PeriodEndReason,
    PoliticalTheory,
    ProfessionalQualification,
    Religion,
)
from enterprises.choices import Ownership
from reports.statistics import (
    MOVEMENT_COLUMNS,
    member_movement,
    new_admissions,
    raw_member_movement,
    raw_new_admissions,
)
from tests.conftest import kept_for_the_module, make_administrator, make_tree
from tests.factories import EnterpriseFactory, MemberFactory, MembershipPeriodFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

D = datetime.date
REFORM = D(2025, 7, 1)
RANGES = (
    (D(2024, 1, 1), D(2024, 12, 31)),
    (D(2025, 1, 1), D(2025, 6, 30)),
    (D(2025, 7, 1), D(2025, 12, 31)),
    (D(2025, 1, 1), D(2025, 12, 31)),
    (D(2023, 3, 15), D(2025, 2, 28)),
    (D(2024, 5, 1), D(2024, 5, 1)),
    (D(2021, 1, 1), D(2027, 1, 1)),
)


def organization(code, parent, kind=OrganizationKind.GRASSROOTS_BRANCH):
    return OrganizationFactory(code=code, kind=kind, parent=parent, locality=parent.locality)


@pytest.fixture(scope="module")
def histories(django_db_setup, django_db_blocker):
    """The organisations to report on, built once for the module's tests (which only read)."""
    with kept_for_the_module(django_db_blocker):
        with django_db_blocker.unblock():
            built = random_histories(make_tree(), make_administrator())
        yield built


def random_histories(tree, administrator):
    """Random members in the organisations of CITY; after the reform date GC (with its subordinate
    branch SB) stands under OTHER instead of DIST and C is merged into BR-A."""
    other = organization("OTHER", tree.city, OrganizationKind.COMMITTEE)
    x = organization("BR-X", other)
    c = organization("BR-C", tree.committee)
    gc = organization("GC", tree.committee, OrganizationKind.GRASSROOTS_COMMITTEE)
    sb = organization("SB", gc, OrganizationKind.SUBORDINATE_BRANCH)
    services.move_organization(administrator, gc, other, on=REFORM)
    services.merge_organizations(administrator, [c], tree.branch_a, on=REFORM)
    places = [tree.city, tree.committee, tree.branch_a, tree.branch_b, other, x, c, gc, sb]
    enterprises = [EnterpriseFactory(ownership=ownership, managing_committee=tree.committee) for ownership in Ownership]
    rng = random.Random(15)
    # the ranges' first and last days and their neighbours: the rules' boundaries
    edges = sorted({day + datetime.timedelta(days=shift) for dates in RANGES for day in dates for shift in (-1, 0, 1)})

    def later(day, *choices):
        """A day after ``day`` (or ``day`` itself): some number of ``choices`` days on, or an edge."""
        beyond = [edge for edge in edges if edge >= day]
        if beyond and rng.random() < 0.3:
            return rng.choice(beyond[:3])
        return day + datetime.timedelta(days=rng.choice(choices))

    def born(admitted):
        """A birthday around a boundary of the age groups at ``admitted``, or on 29 February."""
        if rng.random() < 0.2:
            return rng.choice([D(1960, 2, 29), D(1996, 2, 29)])
        years = rng.choice([18, 30, 31, 40, 41, 50, 51, 60])
        shift = datetime.timedelta(days=rng.choice([-1, 0, 1, rng.randint(-200, 200)]))
        return admitted.replace(year=admitted.year - years, day=min(admitted.day, 28)) + shift

    for _ in range(250):
        admitted = rng.choice(
            [
                rng.choice([*edges, D(2024, 2, 28), D(2024, 2, 29), D(2025, 2, 28), D(2025, 3, 1)]),
                D(2022, 1, 1) + datetime.timedelta(days=rng.randint(0, 4 * 365)),
            ]
        )
        day = admitted if rng.random() < 0.85 else later(admitted, rng.randint(1, 400))
        periods = []
        count = rng.randint(1, 4)
        for index in range(count):
            place = rng.choice(places)
            if index == count - 1 and rng.random() < 0.6:
                periods.append({"organization": place, "started_on": day})
                break
            ended = later(day, 0, rng.randint(1, 30), rng.randint(30, 700))
            reason = rng.choice([*PeriodEndReason.values, PeriodEndReason.TRANSFER, PeriodEndReason.TRANSFER])
            periods.append({"organization": place, "started_on": day, "ended_on": ended, "end_reason": reason})
            day = later(ended, 0, 0, rng.randint(1, 40), rng.randint(40, 900))
        ends = [period["ended_on"] for period in periods if "ended_on" in period and period["ended_on"] >= admitted]
        official = rng.choice([None, admitted + datetime.timedelta(days=rng.randint(300, 500)), *ends[:1]])
        member = MemberFactory(
            organization=rng.choice(places),
            admitted_by=rng.choice(places),
            admitted_on=admitted,
            official_on=official,
            date_of_birth=born(admitted),
            sex=rng.choice(["male", "female"]),
            ethnicity=rng.choice(["", *Ethnicity.values[:3], "foreign"]),
            religion=rng.choice(["", *Religion.values[:3]]),
            youth_union_member_at_admission=rng.choice([None, True, False]),
            is_business_owner=rng.random() < 0.2,
            general_education=rng.choice(["", "5/12", "9/12", "12/12", "7/10", "10/10"]),
            professional_qualification=rng.choice(["", *ProfessionalQualification.values]),
            political_theory=rng.choice(["", *PoliticalTheory.values]),
            enterprise=rng.choice([None, *enterprises]),
            periods=False,
        )
        for period in periods:
            MembershipPeriodFactory(member=member, **period)
    return [tree.city, tree.committee, other, tree.branch_a, gc]


def movement_figures(report):
    rows = [("total", report.total), *((row.organization.code, row) for row in report.children)]
    return [(code, [getattr(row, name) for name in (*MOVEMENT_COLUMNS, "previous_year_end")]) for code, row in rows]


def admission_figures(report):
    rows = [("total", report.total), *((row.organization.code, row) for row in report.children)]
    return [(code, {key: n for key, n in row.counts.items() if n}) for code, row in rows]


def test_member_movement_equals_the_raw_count(histories):
    for organization in histories:
        for start, end in RANGES:
            expected = movement_figures(raw_member_movement(organization, start, end))
            assert movement_figures(member_movement(organization, start, end)) == expected, (organization, start, end)


def test_new_admissions_equal_the_raw_count(histories):
    for organization in histories:
        for start, end in RANGES:
            expected = admission_figures(raw_new_admissions(organization, start, end))
            assert admission_figures(new_admissions(organization, start, end)) == expected, (organization, start, end)


#: Whole months after the restructurings (the maintained counts answer them) and months cut on
#: days where nothing begins or ends (the probes let them through).
MAINTAINED_RANGES = (
    (D(2025, 7, 1), D(2025, 12, 31)),
    (D(2025, 8, 1), D(2026, 1, 31)),
    (D(2025, 7, 1), D(2027, 6, 30)),
    (D(2026, 2, 1), D(2026, 2, 28)),
    (D(2021, 1, 1), D(2027, 1, 1)),
)


def test_the_maintained_counts_equal_the_count_from_the_periods(histories):
    from reports.dated_tree import DatedTree
    from reports.statistics import _maintained, _Units, sql_member_movement, sql_new_admissions

    answered = 0
    for organization in histories:
        for start, end in (*RANGES, *MAINTAINED_RANGES):
            answered += _maintained(_Units(organization, DatedTree(end)), start, end)
            expected = movement_figures(sql_member_movement(organization, start, end))
            assert movement_figures(member_movement(organization, start, end)) == expected, (organization, start, end)
            expected = admission_figures(sql_new_admissions(organization, start, end))
            assert admission_figures(new_admissions(organization, start, end)) == expected, (organization, start, end)
    assert answered >= 3 * len(MAINTAINED_RANGES)  # the maintained counts did answer most of these


def test_the_roll_ups_equal_a_recount_after_the_random_histories(histories):
    """Built once for the module, before any test's end-of-test check: checked here instead."""
    from reports import rollups

    count, details = rollups.differences()
    assert count == 0, details
