"""Statements sent ahead (``core.models.sent_ahead``): PostgreSQL runs each as soon as it is sent,
while Python goes on; reads still see every write before them; errors come out as Django's."""

import time

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction

from core.models import sent_ahead
from reports.models import Rollup
from tests.conftest import make_tree

LOCK_KEY = 74_062_026


def other_connection():
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
        autocommit=True,
    )


def state_of(observer, pid):
    """``(state, wait event type)`` of the server process ``pid``, as another connection sees it."""
    return observer.execute("SELECT state, wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_long_statement_is_running_on_the_server_while_python_goes_on():
    """A statement longer than the socket takes at once (sixteen megabytes) is sent whole: the server
    is already running it (waiting here for a lock another session holds) before the block ends."""
    padding = "x" * 16_000_000
    with other_connection() as holder, other_connection() as observer:
        holder.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
            with sent_ahead(connection):
                cursor.execute("SELECT pg_advisory_lock(%s), length(%s)", [LOCK_KEY, padding])
                # back in Python at once; the server reads no more from us until the block ends
                seen = state_of(observer, pid)
                for _ in range(200):
                    if seen == ("active", "Lock"):
                        break
                    time.sleep(0.05)
                    seen = state_of(observer, pid)
                holder.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
    assert seen == ("active", "Lock")


@pytest.mark.postgresql
@pytest.mark.django_db
def test_reads_within_see_the_writes_sent_before_them():
    organization = make_tree().branch_a
    with sent_ahead(connection), connection.cursor() as cursor:
        for month in ("2025-01-01", "2025-02-01"):
            cursor.execute(
                "INSERT INTO reports_rollup (organization_id, month, metric, value) VALUES (%s, %s, 'x.sent', 2)",
                [organization.pk, month],
            )
        cursor.execute("SELECT SUM(value) FROM reports_rollup WHERE metric = 'x.sent'")
        assert cursor.fetchone()[0] == 4
        assert Rollup.objects.filter(metric="x.sent").count() == 2
    Rollup.objects.filter(metric="x.sent").delete()


@pytest.mark.postgresql
@pytest.mark.django_db
def test_an_error_comes_out_as_djangos_and_nothing_of_the_block_stays():
    organization = make_tree().branch_a
    insert = (
        "INSERT INTO reports_rollup (organization_id, month, metric, value) VALUES (%s, '2025-01-01', 'x.twice', 1)"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        with sent_ahead(connection), connection.cursor() as cursor:
            cursor.execute(insert, [organization.pk])
            cursor.execute(insert, [organization.pk])  # the unique roll-up key, a second time
    assert not Rollup.objects.filter(metric="x.twice").exists()


@pytest.mark.django_db
def test_the_orm_works_within_as_without():
    organization = make_tree().branch_a
    with sent_ahead(connection):
        Rollup.objects.create(organization=organization, month="2025-03-01", metric="x.plain", value=5)
        assert Rollup.objects.get(metric="x.plain").value == 5
    Rollup.objects.filter(metric="x.plain").delete()
