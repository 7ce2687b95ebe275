"""The database itself refuses what the domain forbids (writes that bypass the services)."""

import datetime

import pytest
from django.db import DataError, IntegrityError, connection, transaction

from branches.choices import PeriodEndReason, ProspectStage, RoleKey
from branches.events import OrganizationDissolved
from branches.models import (
    PERIODS_OF_NEW_MEMBERS,
    Member,
    MembershipPeriod,
    Organization,
    Prospect,
    RoleAssignment,
    periods_of_new_members,
)
from core.events import publish
from enterprises.models import Enterprise, MassOrganization, MembershipReturn
from reports.metrics import Metric
from reports.models import Target
from tests.factories import (
    EnterpriseFactory,
    MassOrganizationFactory,
    MemberFactory,
    MembershipPeriodFactory,
    MembershipReturnFactory,
    OrganizationFactory,
    ProspectFactory,
    RoleAssignmentFactory,
    TargetFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

D = datetime.date


def refused(write, errors=IntegrityError):
    """``write()`` raises IntegrityError, and the transaction survives it."""
    with pytest.raises(errors), transaction.atomic():
        write()


# Organisations ----------------------------------------------------------------------------


def test_organization_dissolved_before_established_is_refused():
    org = OrganizationFactory(established_on=D(2020, 1, 1))
    refused(lambda: Organization.objects.filter(pk=org.pk).update(dissolved_on=D(2019, 12, 31)))
    Organization.objects.filter(pk=org.pk).update(dissolved_on=D(2020, 1, 1))  # same day is allowed
    publish(OrganizationDissolved(org.pk, D(2020, 1, 1)))


def test_organization_code_is_unique():
    OrganizationFactory(code="HN")
    refused(lambda: OrganizationFactory(code="HN"))


def test_organization_unknown_kind_is_refused():
    org = OrganizationFactory()
    refused(lambda: Organization.objects.filter(pk=org.pk).update(kind="cell"))


# Enterprises and mass organisations -------------------------------------------------------


def test_enterprise_tax_code_is_unique():
    EnterpriseFactory(tax_code="0100109106")
    refused(lambda: EnterpriseFactory(tax_code="0100109106"))


def test_enterprise_negative_employees_is_refused():
    enterprise = EnterpriseFactory()
    refused(lambda: Enterprise.objects.filter(pk=enterprise.pk).update(employees=-1))


def test_mass_organization_dissolved_before_established_is_refused():
    mass_org = MassOrganizationFactory(established_on=D(2024, 3, 1))
    refused(lambda: MassOrganization.objects.filter(pk=mass_org.pk).update(dissolved_on=D(2024, 2, 1)))


def test_one_membership_return_per_day():
    founding = MembershipReturnFactory()
    refused(
        lambda: MembershipReturn.objects.create(
            mass_organization=founding.mass_organization, date=founding.date, members_total=5, members_admitted=0
        )
    )


def test_one_founding_return_per_mass_organization():
    founding = MembershipReturnFactory()
    refused(
        lambda: MembershipReturnFactory(
            mass_organization=founding.mass_organization, date=founding.date + datetime.timedelta(days=1)
        )
    )


def test_founding_return_cannot_admit_more_than_its_total():
    refused(lambda: MembershipReturnFactory(members_total=10, members_admitted=11))


def test_membership_return_negative_total_is_refused():
    founding = MembershipReturnFactory()
    refused(lambda: MembershipReturn.objects.filter(pk=founding.pk).update(members_total=-1))


# Targets ----------------------------------------------------------------------------------


def test_target_negative_value_is_refused():
    target = TargetFactory()
    refused(lambda: Target.objects.filter(pk=target.pk).update(value=-1))


def test_target_unknown_metric_is_refused():
    refused(lambda: TargetFactory(metric="members_expelled"))


def test_target_is_unique_per_committee_year_and_metric():
    target = TargetFactory(metric=Metric.MEMBERS_ADMITTED)
    refused(lambda: TargetFactory(committee=target.committee, year=target.year, metric=Metric.MEMBERS_ADMITTED))
    TargetFactory(committee=target.committee, year=target.year + 1, metric=Metric.MEMBERS_ADMITTED)


def test_target_year_out_of_range_is_refused():
    refused(lambda: TargetFactory(year=1900))


# Members ----------------------------------------------------------------------------------


@pytest.mark.parametrize("citizen_id", ["00109001234", "0010900123456", "00109001234A", ""])
def test_citizen_id_must_be_12_digits(citizen_id):
    member = MemberFactory()
    # Too long is refused by the column's length on PostgreSQL (DataError), by the check on SQLite.
    refused(lambda: Member.objects.filter(pk=member.pk).update(citizen_id=citizen_id), (IntegrityError, DataError))


def test_citizen_id_is_unique():
    member = MemberFactory()
    refused(lambda: MemberFactory(citizen_id=member.citizen_id))


def test_party_card_number_is_unique_when_given():
    member = MemberFactory(party_card_number="PC-1")
    refused(lambda: MemberFactory(party_card_number="PC-1"))
    MemberFactory(party_card_number="", organization=member.organization)
    MemberFactory(party_card_number="", organization=member.organization)  # several without a card


def test_official_before_admission_is_refused():
    member = MemberFactory(admitted_on=D(2023, 5, 1))
    refused(lambda: Member.objects.filter(pk=member.pk).update(official_on=D(2023, 4, 30)))


def test_admitted_on_or_before_birth_is_refused():
    refused(lambda: MemberFactory(date_of_birth=D(2000, 1, 1), admitted_on=D(1999, 1, 1)))
    refused(lambda: MemberFactory(date_of_birth=D(2000, 1, 1), admitted_on=D(2000, 1, 1)))


def test_member_unknown_status_is_refused():
    member = MemberFactory()
    refused(lambda: Member.objects.filter(pk=member.pk).update(status="sleeping"))


# Membership periods -----------------------------------------------------------------------


def test_two_open_periods_for_one_member_are_refused():
    member = MemberFactory(admitted_on=D(2020, 1, 1))
    other = OrganizationFactory(kind="grassroots_branch")
    refused(lambda: MembershipPeriodFactory(member=member, organization=other, started_on=D(2022, 1, 1)))


def test_period_ending_before_it_starts_is_refused():
    member = MemberFactory(periods=False)
    refused(
        lambda: MembershipPeriodFactory(
            member=member, started_on=D(2021, 1, 1), ended_on=D(2020, 12, 31), end_reason=PeriodEndReason.TRANSFER
        )
    )


def test_end_reason_without_end_is_refused():
    member = MemberFactory()
    refused(lambda: MembershipPeriod.objects.filter(member=member).update(end_reason=PeriodEndReason.RESIGNED))


def test_end_without_reason_is_refused():
    member = MemberFactory(admitted_on=D(2020, 1, 1))
    refused(lambda: MembershipPeriod.objects.filter(member=member).update(ended_on=D(2021, 1, 1)))


def test_unknown_end_reason_is_refused():
    member = MemberFactory(admitted_on=D(2020, 1, 1))
    refused(lambda: MembershipPeriod.objects.filter(member=member).update(ended_on=D(2021, 1, 1), end_reason="bored"))


def test_overlapping_periods_are_refused_on_postgresql():
    member = MemberFactory(periods=False, admitted_on=D(2020, 1, 1))
    MembershipPeriodFactory(
        member=member, started_on=D(2020, 1, 1), ended_on=D(2022, 1, 1), end_reason=PeriodEndReason.TRANSFER
    )

    def overlapping():
        MembershipPeriodFactory(
            member=member, started_on=D(2021, 6, 1), ended_on=D(2023, 1, 1), end_reason=PeriodEndReason.TRANSFER
        )

    if connection.vendor == "postgresql":
        refused(overlapping)
    else:
        # SQLite has no exclusion constraints: there the services are the only guard.
        with transaction.atomic():
            overlapping()
        assert member.periods.count() == 2
    # Periods that only touch (half-open [from, to)) never overlap.
    MembershipPeriodFactory(member=member, started_on=D(2023, 1, 1))


def overlap_refused(write):
    """``write()`` is refused as the exclusion constraint refused it (the same SQLSTATE and name)."""
    with pytest.raises(IntegrityError) as refusal, transaction.atomic():
        write()
    assert refusal.value.__cause__.sqlstate == "23P01"
    assert refusal.value.__cause__.diag.constraint_name == "period_no_overlap"


@pytest.mark.postgresql
@pytest.mark.rollups_differ  # rows written past the services, as a careless script would
def test_periods_overlapping_within_one_statement_are_refused():
    member, other = MemberFactory(periods=False), MemberFactory(periods=False)

    def period(who, started_on, ended_on=None):
        reason = PeriodEndReason.TRANSFER if ended_on else ""
        return MembershipPeriod(
            member=who, organization=who.organization, started_on=started_on, ended_on=ended_on, end_reason=reason
        )

    overlap_refused(
        lambda: MembershipPeriod.objects.bulk_create(
            [period(other, D(2019, 1, 1)), period(member, D(2020, 1, 1), D(2022, 1, 1)), period(member, D(2021, 1, 1))]
        )
    )
    assert not MembershipPeriod.objects.exists()
    # The same rows for two members, or touching, are written in one statement.
    MembershipPeriod.objects.bulk_create(
        [period(other, D(2021, 1, 1)), period(member, D(2020, 1, 1), D(2021, 1, 1)), period(member, D(2021, 1, 1))]
    )
    assert member.periods.count() == 2


@pytest.mark.postgresql
@pytest.mark.rollups_differ  # rows written past the services, as a careless script would
def test_a_period_stretched_or_moved_over_another_is_refused():
    member = MemberFactory(periods=False)
    first = MembershipPeriodFactory(
        member=member, started_on=D(2020, 1, 1), ended_on=D(2021, 1, 1), end_reason=PeriodEndReason.TRANSFER
    )
    MembershipPeriodFactory(member=member, started_on=D(2021, 1, 1))
    overlap_refused(lambda: MembershipPeriod.objects.filter(pk=first.pk).update(ended_on=D(2021, 6, 1)))
    # Moved to another member whose open period it overlaps.
    other = MemberFactory(periods=False)
    MembershipPeriodFactory(member=other, started_on=D(2020, 6, 1))
    overlap_refused(lambda: MembershipPeriod.objects.filter(pk=first.pk).update(member=other))
    first.refresh_from_db()
    assert (first.member_id, first.ended_on) == (member.pk, D(2021, 1, 1))
    MembershipPeriod.objects.filter(pk=first.pk).update(started_on=D(2019, 1, 1))  # no overlap: allowed


def locked_by_this_transaction(member):
    """Whether this transaction has locked or updated ``member``'s row (its ``xmax`` is set)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT xmax::text FROM branches_member WHERE id = %s", [member.pk])
        return cursor.fetchone()[0] != "0"


def periods_setting():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true)", [PERIODS_OF_NEW_MEMBERS])
        return cursor.fetchone()[0]


@pytest.mark.postgresql
@pytest.mark.rollups_differ  # rows written past the services, as a careless script would
def test_the_periods_of_new_members_are_checked_without_locking_the_members():
    """The overlap trigger locks the member of each period written, except where the writer says the
    members are new to this transaction (no other can write their periods): it still refuses an overlap."""
    locked, spared = MemberFactory(periods=False), MemberFactory(periods=False)
    assert not locked_by_this_transaction(locked) and not locked_by_this_transaction(spared)
    MembershipPeriodFactory(member=locked, started_on=D(2020, 1, 1))
    with transaction.atomic(), periods_of_new_members(connection):
        assert periods_setting() == "on"
        MembershipPeriodFactory(member=spared, started_on=D(2020, 1, 1))
        overlap_refused(
            lambda: MembershipPeriodFactory(
                member=spared, started_on=D(2019, 6, 1), ended_on=D(2021, 1, 1), end_reason=PeriodEndReason.TRANSFER
            )
        )
    assert locked_by_this_transaction(locked)
    assert not locked_by_this_transaction(spared)
    assert periods_setting() == ""  # the next period written locks its member again
    MembershipPeriod.objects.filter(member=spared).update(started_on=D(2019, 1, 1))
    assert locked_by_this_transaction(spared)


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_the_setting_of_new_members_periods_goes_with_a_block_that_raises():
    with pytest.raises(RuntimeError, match="atomic"), periods_of_new_members(connection):
        pass
    with pytest.raises(ZeroDivisionError), transaction.atomic(), periods_of_new_members(connection):
        assert periods_setting() == "on"
        raise ZeroDivisionError
    assert periods_setting() in ("", None)


# Prospects and role assignments -----------------------------------------------------------


def test_admitted_prospect_needs_a_member():
    prospect = ProspectFactory()
    refused(lambda: Prospect.objects.filter(pk=prospect.pk).update(stage=ProspectStage.ADMITTED))


def test_prospect_unknown_stage_is_refused():
    refused(lambda: ProspectFactory(stage="rejected"))


def test_role_assignment_needs_an_organization_except_for_administrators():
    user = UserFactory()
    refused(lambda: RoleAssignmentFactory(user=user, role=RoleKey.SECRETARY, organization=None))
    refused(lambda: RoleAssignmentFactory(user=user, role=RoleKey.DEPARTMENT, organization=None))
    RoleAssignmentFactory(user=user, role=RoleKey.ADMINISTRATOR, organization=None)


def test_role_assignment_is_unique_and_its_role_known():
    assignment = RoleAssignmentFactory()
    refused(
        lambda: RoleAssignmentFactory(user=assignment.user, role=assignment.role, organization=assignment.organization)
    )
    refused(lambda: RoleAssignment.objects.filter(pk=assignment.pk).update(role="chairman"))
