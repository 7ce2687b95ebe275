"""The foreign keys of the rows a bulk import COPYs, checked once for all of them at the end of the
block (``dataio.bulk.writers.KeyCheck``) with what the database's own per-row check guarantees."""

import datetime
from operator import attrgetter

import psycopg
import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from branches.choices import PeriodEndReason
from branches.models import MembershipPeriod, Organization
from dataio.bulk import writers
from dataio.bulk.writers import CopyThread, NewRow, prepare_new, reserve_ids
from security.models import AccessAction, AccessLog
from tests.conftest import make_tree
from tests.factories import MemberFactory

pytestmark = [pytest.mark.postgresql, pytest.mark.rollups_differ]

PERIOD_FIELDS = MembershipPeriod._meta.concrete_fields
PERIOD_HISTORY = MembershipPeriod.history.model
PERIOD_HISTORY_FIELDS = [
    *(PERIOD_HISTORY._meta.get_field(field.attname) for field in PERIOD_FIELDS),
    *(PERIOD_HISTORY._meta.get_field(name) for name in ("history_date", "history_type", "history_user")),
]
NOW = datetime.datetime(2026, 12, 6, 9, 0, tzinfo=datetime.UTC)
TARGETS = [
    (MembershipPeriod._meta.db_table, PERIOD_FIELDS),
    (PERIOD_HISTORY._meta.db_table, PERIOD_HISTORY_FIELDS),
]


def period_row(pk, member_id, organization_id, started_on=datetime.date(2024, 1, 2), ended_on=None):
    row = NewRow(member_id=member_id, organization_id=organization_id, started_on=started_on)
    if ended_on is not None:
        row.ended_on, row.end_reason = ended_on, PeriodEndReason.TRANSFER
    prepare_new(MembershipPeriod, row, pk, NOW, connection)
    return attrgetter(*(field.attname for field in PERIOD_FIELDS))(row)


def batch(rows, user_id=None):
    """The rows for both targets: each period and its history row."""
    return [rows, [(*row, NOW, "+", user_id) for row in rows]]


def member_without_periods(organization):
    member = MemberFactory(organization=organization)
    MembershipPeriod.objects.filter(member=member).delete()
    return member


def replication_role():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('session_replication_role')")
        return cursor.fetchone()[0]


def missing_organization_id():
    return (Organization.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000


@pytest.mark.django_db
def test_a_reference_to_no_row_is_refused_at_the_end_of_the_block_and_nothing_stays(tree):
    member = member_without_periods(tree.branch_a)
    ids = reserve_ids(connection, MembershipPeriod, 2)
    with pytest.raises(IntegrityError, match="organization_id|id = "), transaction.atomic():
        with CopyThread(connection, TARGETS) as copier:
            assert copier.keys is not None  # the tests' role is a superuser: the checks are deferred
            copier.add(batch([period_row(ids[0], member.pk, tree.branch_a.pk, ended_on=datetime.date(2024, 5, 1))]))
            copier.add(batch([period_row(ids[1], member.pk, missing_organization_id(), datetime.date(2024, 6, 1))]))
    assert not MembershipPeriod.objects.filter(pk__in=ids).exists()
    assert replication_role() == "origin"


@pytest.mark.django_db
def test_a_reference_to_a_user_who_is_not_there_is_refused(tree):
    member = member_without_periods(tree.branch_a)
    [pk] = reserve_ids(connection, MembershipPeriod, 1)
    with pytest.raises(IntegrityError, match="auth_user"), transaction.atomic():
        with CopyThread(connection, TARGETS) as copier:
            copier.add(batch([period_row(pk, member.pk, tree.branch_a.pk)], user_id=987654321))


@pytest.mark.django_db
def test_without_the_right_to_turn_them_off_the_database_checks_each_row_as_always(tree, monkeypatch):
    monkeypatch.setattr(writers, "may_defer_keys", lambda connection: False)
    member = member_without_periods(tree.branch_a)
    [pk] = reserve_ids(connection, MembershipPeriod, 1)
    with pytest.raises(IntegrityError, match="foreign key"), transaction.atomic():
        with CopyThread(connection, TARGETS) as copier:
            assert copier.keys is None
            copier.add(batch([period_row(pk, member.pk, missing_organization_id())]))
        assert replication_role() == "origin"  # nothing was turned off: the row waits for its check
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.django_db
def test_the_setting_is_given_back_when_the_block_raises(tree):
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = local")
    try:
        with pytest.raises(RuntimeError), transaction.atomic(), CopyThread(connection, TARGETS):
            raise RuntimeError
        assert replication_role() == "local"
        with transaction.atomic(), CopyThread(connection, TARGETS):
            pass
        assert replication_role() == "local"
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = origin")


@pytest.mark.django_db
def test_the_overlap_trigger_fires_while_the_per_row_checks_are_off(tree):
    member = member_without_periods(tree.branch_a)
    ids = reserve_ids(connection, MembershipPeriod, 2)
    rows = [
        period_row(ids[0], member.pk, tree.branch_a.pk, datetime.date(2020, 1, 1), datetime.date(2023, 1, 1)),
        period_row(ids[1], member.pk, tree.branch_a.pk, datetime.date(2022, 1, 1), datetime.date(2024, 1, 1)),
    ]
    with pytest.raises(IntegrityError, match="period_no_overlap"), transaction.atomic():
        with CopyThread(connection, TARGETS) as copier:
            copier.add(batch(rows))


@pytest.mark.django_db
def test_the_access_log_stays_append_only_in_a_session_that_turned_the_checks_off(tree):
    entry = AccessLog.objects.create(path="/members/", action=AccessAction.VIEWED)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("DELETE FROM branches_accesslog WHERE id = %s", [entry.pk])


@pytest.mark.django_db(transaction=True)
def test_each_referenced_row_is_locked_until_the_import_commits():
    """Another transaction cannot delete an organisation the new rows refer to, nor change its key,
    before the import has committed: it would wait (here: NOWAIT, so it fails at once)."""
    tree = make_tree()
    member = member_without_periods(tree.branch_a)
    other = psycopg.connect(dbname=connection.settings_dict["NAME"], **_address(), autocommit=True)
    try:
        [pk] = reserve_ids(connection, MembershipPeriod, 1)
        with transaction.atomic():
            with CopyThread(connection, TARGETS) as copier:
                copier.add(batch([period_row(pk, member.pk, tree.branch_b.pk)]))
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("SELECT 1 FROM branches_organization WHERE id = %s FOR UPDATE NOWAIT", [tree.branch_b.pk])
            # An organisation no new row refers to is free.
            other.execute("SELECT 1 FROM branches_organization WHERE id = %s FOR UPDATE NOWAIT", [tree.branch_a.pk])
        other.execute("SELECT 1 FROM branches_organization WHERE id = %s FOR UPDATE NOWAIT", [tree.branch_b.pk])
    finally:
        other.close()
    assert MembershipPeriod.objects.filter(pk=pk, organization=tree.branch_b).exists()


def _address():
    settings = connection.settings_dict
    return {
        key: value
        for key, value in (("user", settings["USER"]), ("host", settings["HOST"]), ("port", settings["PORT"]))
        if value
    }


@pytest.mark.django_db
@pytest.mark.parametrize("granted", [True, False])
def test_a_role_may_turn_the_checks_off_once_granted_set_on_the_setting(granted):
    """The deploy guide's grant (PostgreSQL 15): the application's role, no superuser, gets the
    checks at the end of the block with it and the database's own checks without it."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE ROLE bulk_key_check_probe NOLOGIN")  # rolled back with the test
        if granted:
            cursor.execute("GRANT SET ON PARAMETER session_replication_role TO bulk_key_check_probe")
        cursor.execute("SET LOCAL ROLE bulk_key_check_probe")
    assert writers.may_defer_keys(connection) is granted
