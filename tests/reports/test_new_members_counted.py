"""New members are counted from what their admission announces (``MembersAdmitted`` with their
first periods), not recounted with every member of their organisations: the counts must still
equal a full recount, among them the flag of recent admissions, which the new windows extend."""

import datetime

import pytest

from branches.events import MembersAdmitted, MembershipPeriodsOpened, Period
from core import events
from dataio.imports import import_members
from reports import rollups
from reports.models import StandingCount, StatisticsFact
from reports.rollups import standing
from tests.dataio.test_io_members_import import HEADERS, csv_bytes, member_row
from tests.factories import MemberFactory
from tests.reports.test_standing_counts import admit

D = datetime.date
FLAG = standing.RECENT_ADMISSIONS


def flag_changes(organization):
    return dict(
        StandingCount.objects.filter(organization=organization, metric=FLAG)
        .exclude(day=standing.TOTAL_DAY)
        .order_by("day")
        .values_list("day", "value")
    )


@pytest.fixture
def announced():
    seen = []
    for event_type in (MembersAdmitted, MembershipPeriodsOpened):
        events.subscribe(event_type, seen.append)
    yield seen
    for event_type in (MembersAdmitted, MembershipPeriodsOpened):
        events.unsubscribe(event_type, seen.append)


@pytest.mark.django_db
def test_each_admission_extends_the_flag_of_recent_admissions_as_a_recount_would(tree, administrator):
    branch = tree.branch_a
    # windows of three years: alone, then overlapping, touching, reaching back, apart, 29 February,
    # lengthening a stretch, inside one
    expected = [
        (D(2020, 6, 1), {D(2020, 6, 1): 1, D(2023, 6, 1): -1}),
        (D(2021, 1, 1), {D(2020, 6, 1): 1, D(2024, 1, 1): -1}),
        (D(2024, 1, 1), {D(2020, 6, 1): 1, D(2027, 1, 1): -1}),  # starts the day the stretch ended
        (D(2018, 1, 1), {D(2018, 1, 1): 1, D(2027, 1, 1): -1}),
        (D(2010, 5, 5), {D(2010, 5, 5): 1, D(2013, 5, 5): -1, D(2018, 1, 1): 1, D(2027, 1, 1): -1}),
        (D(2024, 2, 29), {D(2010, 5, 5): 1, D(2013, 5, 5): -1, D(2018, 1, 1): 1, D(2027, 3, 1): -1}),
        (D(2012, 1, 1), {D(2010, 5, 5): 1, D(2015, 1, 1): -1, D(2018, 1, 1): 1, D(2027, 3, 1): -1}),
        (D(2019, 1, 1), {D(2010, 5, 5): 1, D(2015, 1, 1): -1, D(2018, 1, 1): 1, D(2027, 3, 1): -1}),  # inside
    ]
    for admitted_on, changes in expected:
        admit(administrator, branch, admitted_on)
        assert flag_changes(branch) == changes, admitted_on
        assert rollups.differences() == (0, []), admitted_on


@pytest.mark.django_db
def test_an_admission_announces_its_first_period_with_it(tree, administrator, announced):
    member = admit(administrator, tree.branch_a, D(2023, 4, 5))
    assert announced == [
        MembersAdmitted.of([member], [Period(member.pk, tree.branch_a.pk, D(2023, 4, 5))]),
    ]
    facts = StatisticsFact.objects.filter(member_id=member.pk)
    assert set(facts.values_list("organization_id", "month", "metric")) == {
        (tree.branch_a.pk, D(2023, 4, 1), "admission"),
        (tree.branch_a.pk, D(2023, 4, 1), "mv.admitted"),
    }


@pytest.mark.django_db
def test_an_import_counts_its_new_members_as_a_recount_would(tree, secretary_a, department, announced):
    """Owners and workplaces, windows that overlap inside the file and with the stored ones, an
    organisation with members before and one without."""
    enterprise = tree.enterprise_a  # the one the branch sits in
    MemberFactory(organization=tree.branch_a, admitted_on=D(2019, 3, 1), is_business_owner=False)
    announced.clear()
    headers = [*HEADERS, "business owner", "position", "workplace enterprise tax code"]
    dates = ["01/03/2021", "29/02/2024", "05/05/2015", "01/03/2022", "10/10/2010", "01/03/2021"]
    rows = [
        member_row(
            serial,
            **{
                "admitted on*": day,
                "business owner": "có" if serial % 3 == 0 else "",
                "position": "chủ doanh nghiệp" if serial % 3 == 0 else "",
                "workplace enterprise tax code": enterprise.tax_code if serial % 2 else "",
            },
        )
        for serial, day in enumerate(dates, start=1)
    ]
    result = import_members(csv_bytes(rows, headers), organization=tree.branch_a, acting_user=secretary_a)
    assert result.committed and result.counts["create"] == len(dates), result.preview_lines()
    (event,) = announced  # one event for the whole file, the periods in it
    assert len(event.member_ids) == len(event.periods) == len(dates)
    assert flag_changes(tree.branch_a) == {
        D(2010, 10, 10): 1,
        D(2013, 10, 10): -1,
        D(2015, 5, 5): 1,
        D(2018, 5, 5): -1,
        D(2019, 3, 1): 1,  # the member recorded before
        D(2027, 3, 1): -1,
    }
    assert StandingCount.objects.filter(organization=tree.branch_a, metric="business_owners").exists()
    assert rollups.differences() == (0, [])
