"""Two users at the same moment: no lost update, no duplicate citizen ID or Party card.

On PostgreSQL these run two real threads, each with its own database connection, released
together by a barrier. SQLite serialises writers, so there the same rules are checked in sequence.
"""

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections, transaction
from django.utils import translation

from branches import services
from branches.choices import OrganizationKind, PeriodEndReason, RoleKey
from branches.models import Member, MembershipPeriod
from tests.factories import (
    EnterpriseFactory,
    LocalityFactory,
    MemberFactory,
    OrganizationFactory,
    RoleAssignmentFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)

DAY = datetime.date


@pytest.fixture(autouse=True)
def english(settings):
    """Messages are asserted in English (the default language is Vietnamese), in every thread."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def setting():
    locality = LocalityFactory()
    committee = OrganizationFactory(code="C", locality=locality)
    enterprise = EnterpriseFactory(locality=locality, managing_committee=committee)
    branch = OrganizationFactory(
        code="B", kind=OrganizationKind.GRASSROOTS_BRANCH, locality=locality, enterprise=enterprise, parent=committee
    )
    users = []
    for name in ("secretary_one", "secretary_two"):
        user = UserFactory(username=name)
        RoleAssignmentFactory(user=user, role=RoleKey.SECRETARY, organization=branch)
        users.append(user)
    return branch, users


def run_together(*jobs):
    """Run each job in its own thread (own connection), started at once; return their results or exceptions."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait(timeout=10)
            results[index] = job()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test inspects
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index, job)) for index, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def admission(user, branch, *, citizen_id, party_card_number, name):
    def job():
        return services.admit_member(
            user,
            organization=branch,
            admitted_on=datetime.date(2024, 3, 1),
            full_name=name,
            sex="male",
            date_of_birth=datetime.date(1990, 1, 1),
            citizen_id=citizen_id,
            party_card_number=party_card_number,
        )

    return job


def edit(user, member_pk, **changes):
    def job():
        return services.update_member(user, Member.objects.get(pk=member_pk), expected_version=1, **changes)

    return job


def outcomes(results):
    saved = [result for result in results if isinstance(result, Member)]
    refused = [result for result in results if isinstance(result, ValidationError)]
    others = [result for result in results if not isinstance(result, Member | ValidationError)]
    assert not others, f"neither saved nor refused cleanly: {others!r}"
    return saved, refused


def test_two_saves_from_the_same_version_one_is_refused(setting):
    branch, (one, two) = setting
    member = MemberFactory(organization=branch, full_name="Vũ Văn Gốc", is_business_owner=False)
    jobs = (edit(one, member.pk, full_name="Vũ Văn Một"), edit(two, member.pk, full_name="Vũ Văn Hai"))
    if connection.vendor == "postgresql":
        results = run_together(*jobs)
    else:
        results = []
        for job in jobs:
            try:
                results.append(job())
            except ValidationError as exc:
                results.append(exc)
    saved, refused = outcomes(results)
    assert len(saved) == 1 and len(refused) == 1
    assert "full name" in " ".join(refused[0].messages)
    member.refresh_from_db()
    assert member.full_name == saved[0].full_name
    assert member.version == 2
    assert member.history.count() == 2  # created, then the one accepted change


@pytest.mark.parametrize(
    ("first", "second", "field"),
    [
        (("001090000001", "PC1"), ("001090000001", "PC2"), "citizen_id"),
        (("001090000001", "PC1"), ("001090000002", "PC1"), "party_card_number"),
    ],
)
def test_two_admissions_with_the_same_number_exactly_one_succeeds(setting, first, second, field):
    branch, (one, two) = setting
    jobs = (
        admission(one, branch, citizen_id=first[0], party_card_number=first[1], name="Đỗ Văn Một"),
        admission(two, branch, citizen_id=second[0], party_card_number=second[1], name="Đỗ Văn Hai"),
    )
    if connection.vendor == "postgresql":
        results = run_together(*jobs)
    else:
        results = []
        for job in jobs:
            try:
                results.append(job())
            except ValidationError as exc:
                results.append(exc)
    saved, refused = outcomes(results)
    assert len(saved) == 1 and len(refused) == 1
    assert field in refused[0].message_dict
    assert Member.objects.count() == 1
    assert Member.objects.get().periods.count() == 1  # the refused admission left nothing behind


def test_the_database_itself_refuses_a_duplicate_citizen_id(setting):
    """The last line of defence behind the service's check (what the threads race against)."""
    branch, _users = setting
    MemberFactory(organization=branch, citizen_id="001090000009", is_business_owner=False)
    with pytest.raises(IntegrityError):
        MemberFactory(organization=branch, citizen_id="001090000009", is_business_owner=False, periods=False)


def test_a_duplicate_reaching_the_database_becomes_a_validation_error(setting, monkeypatch):
    """If the service's own duplicate check is passed (the race), the refusal is still a clean ValidationError."""
    branch, (one, _two) = setting
    MemberFactory(organization=branch, citizen_id="001090000007", party_card_number="", is_business_owner=False)
    monkeypatch.setattr(services, "check_person", lambda errors, **kwargs: None)
    with pytest.raises(ValidationError) as exc:
        admission(one, branch, citizen_id="001090000007", party_card_number="", name="Lý Văn Ba")()
    assert "citizen_id" in exc.value.message_dict
    assert Member.objects.count() == 1


@pytest.mark.postgresql
@pytest.mark.rollups_differ  # periods written past the services: the guard under test is the database's
def test_two_writers_of_one_members_periods_the_second_sees_the_first(setting):
    """Two transactions give one member overlapping periods at the same moment. The overlap
    trigger makes the second wait for the first (on the member's row) and then refuses it: without
    that wait each would check before the other's period is committed, and both would stay."""
    branch, _users = setting
    member = Member.objects.get(pk=MemberFactory(organization=branch, periods=False).pk)
    first_written, first_may_commit = threading.Event(), threading.Event()
    # Closed periods: two open ones would meet the unique index of the open period instead.
    closed = {"organization": branch, "end_reason": PeriodEndReason.TRANSFER}

    def first():
        with transaction.atomic():
            period = MembershipPeriod.objects.create(
                member=member, started_on=DAY(2020, 1, 1), ended_on=DAY(2022, 1, 1), **closed
            )
            first_written.set()
            first_may_commit.wait(timeout=10)
        return period

    def second():
        assert first_written.wait(timeout=10)
        with transaction.atomic():
            # The first is still open: this statement waits for it, then checks.
            threading.Timer(0.5, first_may_commit.set).start()
            return MembershipPeriod.objects.create(
                member=member, started_on=DAY(2021, 1, 1), ended_on=DAY(2023, 1, 1), **closed
            )

    kept, refused = run_together(first, second)
    assert isinstance(kept, MembershipPeriod)
    assert isinstance(refused, IntegrityError) and "period_no_overlap" in str(refused)
    assert list(MembershipPeriod.objects.filter(member=member).values_list("started_on", flat=True)) == [
        DAY(2020, 1, 1)
    ]
