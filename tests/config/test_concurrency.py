"""Two users at the same moment: no lost update, no duplicate citizen ID or Party card.

On PostgreSQL these run two real threads, each with its own database connection, released
together by a barrier. SQLite serialises writers, so there the same rules are checked in sequence.
"""

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections
from django.utils import translation

from branches import services
from branches.choices import OrganizationKind, RoleKey
from branches.models import Member
from tests.factories import (
    EnterpriseFactory,
    LocalityFactory,
    MemberFactory,
    OrganizationFactory,
    RoleAssignmentFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)


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
