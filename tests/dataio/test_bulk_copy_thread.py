"""The members import's writing beside its check: COPYs from a thread while the caller goes on."""

import datetime
import sys
import threading
from operator import attrgetter

import pytest
from django.db import IntegrityError, connection, transaction

from branches.models import MembershipPeriod
from dataio.bulk.writers import CopyThread, NewRow, prepare_new, reserve_ids
from tests.factories import MemberFactory

# The periods are written past the services, as the import writes them before it announces them.
pytestmark = [pytest.mark.django_db, pytest.mark.postgresql, pytest.mark.rollups_differ]

PERIOD_FIELDS = MembershipPeriod._meta.concrete_fields
PERIOD_HISTORY_FIELDS = [
    *(MembershipPeriod.history.model._meta.get_field(field.attname) for field in PERIOD_FIELDS),
    *(MembershipPeriod.history.model._meta.get_field(name) for name in ("history_date", "history_type")),
]
NOW = datetime.datetime(2026, 12, 6, 9, 0, tzinfo=datetime.UTC)
TARGETS = [
    (MembershipPeriod._meta.db_table, PERIOD_FIELDS),
    (MembershipPeriod.history.model._meta.db_table, PERIOD_HISTORY_FIELDS),
]


def period_row(pk, member_id, organization_id):
    row = NewRow(member_id=member_id, organization_id=organization_id, started_on=datetime.date(2024, 1, 2))
    prepare_new(MembershipPeriod, row, pk, NOW, connection)
    return attrgetter(*(field.attname for field in PERIOD_FIELDS))(row)


def members_without_periods(organization, count):
    members = MemberFactory.create_batch(count, organization=organization)
    MembershipPeriod.objects.filter(member__in=members).delete()
    return members


def batch(rows):
    """The rows for both targets: each period and its history row."""
    return [rows, [(*row, NOW, "+") for row in rows]]


def test_batches_are_written_in_order_into_each_table(tree):
    members = members_without_periods(tree.branch_a, 5)
    ids = reserve_ids(connection, MembershipPeriod, 5)
    rows = [period_row(pk, members[i].pk, tree.branch_b.pk) for i, pk in enumerate(ids)]
    with CopyThread(connection, TARGETS) as copier:
        copier.add(batch(rows[:2]))
        copier.add([[], []])
        copier.add(batch(rows[2:]))
    expected = [(pk, members[i].pk, tree.branch_b.pk) for i, pk in enumerate(ids)]
    written = MembershipPeriod.objects.filter(pk__in=ids).order_by("pk")
    assert [(p.pk, p.member_id, p.organization_id) for p in written] == expected
    history = MembershipPeriod.history.filter(id__in=ids).order_by("id")
    assert [(h.id, h.member_id, h.organization_id, h.history_type, h.history_date) for h in history] == [
        (*row, "+", NOW) for row in expected
    ]


def test_what_the_server_refuses_is_raised_as_djangos_error_at_the_end_of_the_block(tree):
    first, second = members_without_periods(tree.branch_a, 2)
    ids = reserve_ids(connection, MembershipPeriod, 3)
    with pytest.raises(IntegrityError, match="period_one_open_per_member"), transaction.atomic():
        with CopyThread(connection, TARGETS) as copier:
            copier.add(batch([period_row(ids[0], first.pk, tree.branch_a.pk)]))
            copier.add(batch([period_row(ids[1], first.pk, tree.branch_a.pk)]))  # a second open period
            copier.add(batch([period_row(ids[2], second.pk, tree.branch_a.pk)]))
    assert not MembershipPeriod.objects.filter(pk__in=ids).exists()


def test_python_switches_threads_often_inside_the_block_only(tree):
    before = sys.getswitchinterval()
    with CopyThread(connection, TARGETS):
        assert sys.getswitchinterval() == min(before, CopyThread.SWITCH_INTERVAL)
    assert sys.getswitchinterval() == before


def test_the_thread_ends_with_the_block_whatever_the_block_raises(tree):
    threads = threading.active_count()
    with CopyThread(connection, TARGETS) as copier:
        assert copier.thread.is_alive() and threading.active_count() == threads + 1
    assert not copier.thread.is_alive()
    with pytest.raises(ZeroDivisionError), CopyThread(connection, TARGETS) as failing:
        failing.add([[], []])
        1 / 0  # noqa: B018
    assert not failing.thread.is_alive()
    assert threading.active_count() == threads
