"""An import says how far it has got and how long each phase took: the progress callback (rows
checked of the file's rows), the job page of an import's task ("n of N rows" instead of
"Working…"), progress seen by others while the import's transaction is still open, and the
phases' times the benchmark prints."""

import re

import pytest
from django.db import connection, connections, transaction
from django.urls import reverse
from django.utils import translation
from django_tasks import default_task_backend

from branches.models import Member
from core import jobs
from core.models import Job
from core.timing import PhaseTimer
from dataio.bulk import common
from dataio.enterprise_imports import import_enterprises
from dataio.imports import import_members
from tests.dataio.test_io_enterprises_import import ENTERPRISE_HEADERS, enterprise_row
from tests.dataio.test_io_members_import import csv_bytes, member_row
from tests.dataio.test_io_views import login, upload
from tests.dataio.test_tasks import job_of, run_queued, status


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def queued(settings):
    """Tasks are queued, not run: the list of their results (as in test_tasks.py)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    return default_task_backend.results


@pytest.fixture
def every_two_rows(monkeypatch):
    monkeypatch.setattr(common, "PROGRESS_ROWS", 2)


@pytest.mark.parametrize("dry_run", [False, True])
def test_the_members_import_reports_the_rows_checked_of_the_files_rows(tree, secretary_a, every_two_rows, dry_run):
    calls = []
    result = import_members(
        csv_bytes([member_row(serial) for serial in range(1, 6)]),
        organization=tree.branch_a,
        acting_user=secretary_a,
        dry_run=dry_run,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert not result.has_errors, result.preview_lines()
    assert calls == [(2, 5), (4, 5), (5, 5)]
    assert Member.objects.count() == (0 if dry_run else 5)


def test_rows_with_errors_are_counted_too(tree, secretary_a, every_two_rows):
    calls = []
    result = import_members(
        csv_bytes([member_row(1), member_row(2, **{"date of birth*": "31/02/1990"}), member_row(3)]),
        organization=tree.branch_a,
        acting_user=secretary_a,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert result.has_errors
    assert calls == [(2, 3), (3, 3)]


def test_the_enterprises_import_reports_its_progress_too(tree, secretary_a, every_two_rows):
    calls = []
    result = import_enterprises(
        csv_bytes([enterprise_row(serial) for serial in range(1, 4)], ENTERPRISE_HEADERS),
        organization=tree.branch_a,
        acting_user=secretary_a,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert result.counts["create"] == 3, result.preview_lines()
    assert calls == [(2, 3), (3, 3)]


def test_the_import_times_each_phase(tree, secretary_a):
    timer = PhaseTimer()
    result = import_members(
        csv_bytes([member_row(1), member_row(2)]), organization=tree.branch_a, acting_user=secretary_a, timer=timer
    )
    assert result.committed and result.timer is timer
    assert list(timer.ms) == ["read", "check", "write", "rollups", "preview"]
    assert all(ms >= 0 for ms in timer.ms.values()) and set(timer.cpu_ms) == set(timer.ms)


def test_nested_phases_count_once():
    timer = PhaseTimer()
    with timer.phase("outer"):
        with timer.phase("inner"):
            sum(range(10_000))
        with timer.phase("inner"):
            pass
    assert list(timer.ms) == ["outer", "inner"]
    assert timer.total_ms == pytest.approx(timer.ms["outer"] + timer.ms["inner"])
    assert "inner" in str(timer) and "outer" in str(timer)


def job_row_as_others_see_it(job):
    """``(done, total)`` of the job's row, read as the status endpoint would while the import runs.

    PostgreSQL: from a connection of its own (the import's may be in a COPY). SQLite: the one
    connection (progress is written in the import's transaction there)."""
    if connection.vendor != "postgresql":
        return Job.objects.values_list("done", "total").get(pk=job.pk)
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT done, total FROM core_job WHERE id = %s", [job.pk])
            return cursor.fetchone()
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
def test_the_page_of_an_import_task_shows_n_of_n_rows(client, tree, secretary_a, settings, queued, monkeypatch):
    settings.IMPORT_TASK_ROWS = 1
    login(client, secretary_a)
    token = upload(client, csv_bytes([member_row(serial) for serial in range(1, 4)])).context["token"]
    job = job_of(client.post(reverse("io:import_commit", args=[token])))
    assert job.total == 3
    state = status(client, job)
    assert (state["done"], state["total"]) == (0, 3)
    content = client.get(reverse("tasks:job", args=[job.pk])).content.decode()
    assert re.search(r'<span id="job-done">0</span> of <span id="job-total">3</span> rows', content)

    seen = []
    original = jobs.Progress.__call__

    def recorded(progress, done, total=None, force=False):
        original(progress, done, total=total, force=force)
        seen.append((done, total, job_row_as_others_see_it(job)))

    monkeypatch.setattr(jobs, "PROGRESS_EVERY", 0)
    monkeypatch.setattr(common, "PROGRESS_ROWS", 1)
    monkeypatch.setattr(jobs.Progress, "__call__", recorded)
    run_queued(queued)
    # Each row checked is written to the job (what the status endpoint reads) as it goes.
    assert [(done, total) for done, total, _row in seen] == [(1, 3), (2, 3), (3, 3)]
    assert [row for _done, _total, row in seen] == [(1, 3), (2, 3), (3, 3)]
    state = status(client, job)
    assert state["status"] == "succeeded" and (state["done"], state["total"]) == (3, 3)
    assert Member.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_progress_written_inside_the_imports_transaction(secretary_a):
    """PostgreSQL: seen by others before the commit (a connection of its own), and possible while a
    COPY is open. SQLite (one writer): written in the transaction."""
    job = Job.objects.create(kind="import", owner=secretary_a, title="Import", total=10)
    progress = jobs.Progress(job)
    try:
        with transaction.atomic():
            progress(4, total=10, force=True)
            assert job_row_as_others_see_it(job) == (4, 10)
            transaction.set_rollback(True)
    finally:
        progress.close()
    assert progress.aside is None
    assert Job.objects.values_list("done", flat=True).get(pk=job.pk) == (4 if connection.vendor == "postgresql" else 0)


def test_meters_count_each_phase_apart_from_those_nested_in_it():
    readings = iter([0, 5, 12, 20, 50, 51])  # outer begins, inner begins, inner ends, …
    timer = PhaseTimer(meters={"ticks": lambda: next(readings)})
    with timer.phase("outer"):
        with timer.phase("inner"):
            pass
        with timer.phase("inner"):
            pass
    assert timer.metered["ticks"] == {"outer": 51 - 0 - (12 - 5) - (50 - 20), "inner": (12 - 5) + (50 - 20)}
    assert set(timer.ms) == {"outer", "inner"}
