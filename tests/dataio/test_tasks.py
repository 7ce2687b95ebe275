"""Background work on the task queue: a large import's commit and a large export run as tasks, their
page polls a JSON status only their owner (or an administrator) reads, the result is offered when
ready, a task that dies is reported as failed, and a real database worker runs them.

The suite runs tasks with the immediate backend (they have run when ``enqueue`` returns); the
tests of the queue itself switch to the dummy backend (queued, not run) or the database backend
with its worker.
"""

import datetime
import io
import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation
from django_tasks import TaskResultStatus, default_task_backend
from openpyxl import load_workbook

from branches.models import Member
from core.models import Job
from core.spreadsheets import OutColumn, write_csv, write_csv_to, write_xlsx, write_xlsx_to
from dataio import exports
from security.models import AccessLog
from tests.dataio.test_io_members_import import csv_bytes, member_row
from tests.dataio.test_io_views import login, upload
from tests.factories import MemberFactory


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def queued(settings):
    """Tasks are queued, not run (django-tasks' dummy backend): the list of their results."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    return default_task_backend.results


def run_queued(results):
    for result in results:
        result.task.call(*result.args, **result.kwargs)


def job_of(response):
    assert response.status_code == 302, response.status_code
    match = re.fullmatch(r"/tasks/([0-9a-f-]{36})/", response["Location"])
    assert match, response["Location"]
    return Job.objects.get(pk=match.group(1))


def status(client, job):
    response = client.get(reverse("tasks:status", args=[job.pk]))
    assert response.status_code == 200
    return response.json()


# The commit of a large import ---------------------------------------------------------------


def test_an_import_over_the_threshold_commits_in_a_task_and_offers_its_change_set(
    client, tree, secretary_a, settings, files_dir
):
    settings.IMPORT_TASK_ROWS = 2
    login(client, secretary_a)
    preview = upload(client, csv_bytes([member_row(serial) for serial in range(1, 4)]))
    token = preview.context["token"]

    job = job_of(client.post(reverse("io:import_commit", args=[token])))
    assert job.kind == "import" and job.owner == secretary_a
    assert Member.objects.count() == 3
    assert not (files_dir / "imports" / f"{token}.bin").exists()
    state = status(client, job)
    assert state["status"] == "succeeded" and state["finished"] is True and state["percent"] == 100
    assert state["result_url"].startswith(reverse("io:changes"))
    assert "3 created" in state["message"]


def test_an_import_under_the_threshold_commits_in_the_request(client, tree, secretary_a, settings):
    settings.IMPORT_TASK_ROWS = 3
    login(client, secretary_a)
    token = upload(client, csv_bytes([member_row(serial) for serial in range(1, 4)])).context["token"]
    response = client.post(reverse("io:import_commit", args=[token]))
    assert response.status_code == 200
    assert Member.objects.count() == 3
    assert not Job.objects.exists()


def test_the_page_of_a_queued_import_polls_its_status_from_a_script_file(client, tree, secretary_a, settings, queued):
    settings.IMPORT_TASK_ROWS = 1
    login(client, secretary_a)
    token = upload(client, csv_bytes([member_row(1), member_row(2)])).context["token"]
    job = job_of(client.post(reverse("io:import_commit", args=[token])))
    assert len(queued) == 1
    again = job_of(client.post(reverse("io:import_commit", args=[token])))
    assert again == job and len(queued) == 1  # the form sent twice: one task

    page = client.get(reverse("tasks:job", args=[job.pk]))
    content = page.content.decode()
    assert page.status_code == 200
    assert f'data-status-url="{reverse("tasks:status", args=[job.pk])}"' in content
    assert '<script src="/static/js/jobs.js"></script>' in content
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", content), "an inline script: the CSP blocks it"
    assert status(client, job)["status"] == "queued"
    assert not Member.objects.exists()

    run_queued(queued)
    state = status(client, job)
    assert state["status"] == "succeeded" and state["result_url"]
    assert Member.objects.count() == 2


def test_an_import_whose_upload_is_gone_when_its_task_runs_fails_with_a_reason(
    client, tree, secretary_a, settings, queued
):
    settings.IMPORT_TASK_ROWS = 1
    login(client, secretary_a)
    token = upload(client, csv_bytes([member_row(1), member_row(2)])).context["token"]
    job = job_of(client.post(reverse("io:import_commit", args=[token])))
    from dataio import uploads

    uploads.discard(token)
    run_queued(queued)
    state = status(client, job)
    assert state["status"] == "failed" and state["finished"] is True
    assert "no longer kept" in state["message"]
    assert state["result_url"] == ""
    assert not Member.objects.exists()


def test_an_import_whose_rows_fail_at_commit_writes_nothing_and_says_why(client, tree, secretary_a, settings, queued):
    settings.IMPORT_TASK_ROWS = 1
    login(client, secretary_a)
    token = upload(client, csv_bytes([member_row(1), member_row(2)])).context["token"]
    job = job_of(client.post(reverse("io:import_commit", args=[token])))
    # Between the preview and the task, the organisation stops being the secretary's to write.
    secretary_a.role_assignments.all().delete()
    run_queued(queued)
    state = status(client, job)
    assert state["status"] == "failed"
    assert "may not change" in state["message"]
    assert not Member.objects.exists()


# Large exports ------------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_an_export_over_the_threshold_is_built_by_a_task_and_downloaded(
    client, tree, secretary_a, settings, file_format
):
    settings.EXPORT_TASK_ROWS = 2
    for serial in range(3):
        MemberFactory(organization=tree.branch_a, full_name=f"Lê Thị Mai {serial}", is_business_owner=True)
    MemberFactory(organization=tree.branch_a, full_name="Phạm Văn Nam", is_business_owner=False)
    MemberFactory(organization=tree.branch_b, full_name="Hidden Person", is_business_owner=True)
    login(client, secretary_a)

    job = job_of(
        client.get(reverse("io:export"), {"kind": "members", "format": file_format, "is_business_owner": "true"})
    )
    assert job.kind == "export" and job.total == 3
    state = status(client, job)
    assert state["status"] == "succeeded"
    assert state["done"] == state["total"] == 3
    assert state["result_url"] == reverse("tasks:download", args=[job.pk])

    download = client.get(state["result_url"])
    assert download.status_code == 200
    content = b"".join(download.streaming_content)
    stamp = timezone.localdate().isoformat()
    assert f'filename="members-{stamp}.{file_format}"' in download["Content-Disposition"]
    if file_format == "csv":
        lines = content.decode("utf-8-sig").splitlines()
        assert lines[0].startswith("citizen ID,full name")
        names = sorted(line.split(",")[1] for line in lines[1:])
    else:
        rows = list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
        names = sorted(row[1] for row in rows[1:])
    assert names == ["Lê Thị Mai 0", "Lê Thị Mai 1", "Lê Thị Mai 2"]  # the filter and the scope held

    # The task logs what it exported; the download is logged as every file download is.
    log, downloaded = AccessLog.objects.order_by("pk")
    assert downloaded.action == "exported" and downloaded.path == state["result_url"]
    assert log.action == "exported" and log.user == secretary_a
    assert sorted(log.member_ids) == sorted(
        Member.objects.filter(full_name__startswith="Lê").values_list("pk", flat=True)
    )
    assert log.filters == {"is_business_owner": "true"}


def test_an_export_under_the_threshold_is_built_in_the_request(client, tree, secretary_a, settings):
    settings.EXPORT_TASK_ROWS = 5
    MemberFactory.create_batch(2, organization=tree.branch_a)
    response = login(client, secretary_a).get(reverse("io:export"), {"kind": "members", "format": "csv"})
    assert response.status_code == 200
    assert not Job.objects.exists()


def test_streamed_files_are_the_files_built_in_memory(tmp_path):
    columns = [OutColumn("code", text=True), OutColumn("date"), OutColumn("count")]
    rows = [["007", datetime.date(2024, 1, 2), 3], ["Bắc", None, True]]
    with (tmp_path / "out.csv").open("w+b") as target:
        write_csv_to(target, columns, iter(rows))
        target.seek(0)
        assert target.read() == write_csv(columns, rows)
    write_xlsx_to(tmp_path / "out.xlsx", columns, iter(rows))
    expected = load_workbook(io.BytesIO(write_xlsx(columns, rows))).active
    written = load_workbook(tmp_path / "out.xlsx").active
    assert list(written.iter_rows(values_only=True)) == list(expected.iter_rows(values_only=True))


# Who sees a task ----------------------------------------------------------------------------


def test_only_the_owner_and_an_administrator_see_a_task_and_its_result(
    client, tree, secretary_a, secretary_b, department, administrator, settings
):
    settings.EXPORT_TASK_ROWS = 0
    MemberFactory(organization=tree.branch_a)
    login(client, secretary_a)
    job = job_of(client.get(reverse("io:export"), {"kind": "members", "format": "csv"}))
    urls = [reverse(name, args=[job.pk]) for name in ("tasks:job", "tasks:status", "tasks:download")]
    for url in urls:
        assert client.get(url).status_code == 200
    for other in (secretary_b, department):
        client.force_login(other)
        for url in urls:
            assert client.get(url).status_code == 404, (other, url)
    client.force_login(administrator)
    for url in urls:
        assert client.get(url).status_code == 200
    client.logout()
    assert client.get(urls[1]).status_code == 302  # to the sign-in page
    client.force_login(secretary_a)
    missing = reverse("tasks:status", args=["00000000-0000-0000-0000-000000000000"])
    assert client.get(missing).status_code == 404
    assert client.get("/tasks/not-a-uuid/status/").status_code == 404


def test_no_download_before_the_result_is_ready(client, tree, secretary_a, settings, queued):
    settings.EXPORT_TASK_ROWS = 0
    MemberFactory(organization=tree.branch_a)
    login(client, secretary_a)
    job = job_of(client.get(reverse("io:export"), {"kind": "members", "format": "csv"}))
    assert status(client, job)["result_url"] == ""
    assert client.get(reverse("tasks:download", args=[job.pk])).status_code == 404


# Tasks that die -----------------------------------------------------------------------------


def test_a_task_that_raises_is_reported_as_failed(client, tree, secretary_a, settings, monkeypatch):
    settings.EXPORT_TASK_ROWS = 0
    MemberFactory(organization=tree.branch_a)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(exports, "write_export", broken)
    login(client, secretary_a)
    job = job_of(client.get(reverse("io:export"), {"kind": "members", "format": "csv"}))
    state = status(client, job)
    assert state["status"] == "failed" and state["finished"] is True
    assert "failed" in state["message"] and "disk full" not in state["message"]
    assert state["result_url"] == ""
    # The backend recorded the failure too (the immediate backend keeps the result on the task).
    assert client.get(reverse("tasks:job", args=[job.pk])).status_code == 200


def test_a_task_whose_worker_died_is_reported_as_failed(client, tree, secretary_a, settings, queued):
    settings.EXPORT_TASK_ROWS = 0
    settings.TASKS_LOST_AFTER_SECONDS = 60
    MemberFactory(organization=tree.branch_a)
    login(client, secretary_a)
    job = job_of(client.get(reverse("io:export"), {"kind": "members", "format": "csv"}))
    # A worker took it and was killed (no progress since).
    long_ago = timezone.now() - datetime.timedelta(seconds=61)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, started_at=long_ago, heartbeat_at=long_ago)
    state = status(client, job)
    assert state["status"] == "failed" and state["finished"] is True
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, heartbeat_at=timezone.now())
    assert status(client, job)["status"] == "running"  # progress a moment ago: alive


def test_a_task_the_backend_reports_failed_is_reported_as_failed(client, tree, secretary_a, settings):
    """The database backend marks a task failed (e.g. it could not be imported by the worker)."""
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.EXPORT_TASK_ROWS = 0
    MemberFactory(organization=tree.branch_a)
    login(client, secretary_a)
    job = job_of(client.get(reverse("io:export"), {"kind": "members", "format": "csv"}))
    assert status(client, job)["status"] == "queued"
    DBTaskResult.objects.filter(pk=job.task_id).update(status=TaskResultStatus.FAILED)
    assert status(client, job)["status"] == "failed"


# A real worker --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_database_worker_builds_a_queued_export(client, tree, secretary_a, settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.EXPORT_TASK_ROWS = 0
    MemberFactory.create_batch(2, organization=tree.branch_a)
    login(client, secretary_a)
    job = job_of(client.get(reverse("io:export"), {"kind": "members", "format": "xlsx"}))
    assert status(client, job)["status"] == "queued"

    call_command("db_worker", batch=True, interval=0, verbosity=0)
    assert DBTaskResult.objects.get(pk=job.task_id).status == TaskResultStatus.SUCCESSFUL
    state = status(client, job)
    assert state["status"] == "succeeded"
    download = client.get(state["result_url"])
    rows = list(load_workbook(io.BytesIO(b"".join(download.streaming_content))).active.iter_rows(values_only=True))
    assert len(rows) == 3


def test_old_jobs_and_their_files_are_deleted(client, tree, secretary_a, settings, files_dir):
    settings.EXPORT_TASK_ROWS = 0
    MemberFactory(organization=tree.branch_a)
    login(client, secretary_a)
    old = job_of(client.get(reverse("io:export"), {"kind": "members", "format": "csv"}))
    path = files_dir / old.result_name
    assert path.exists()
    Job.objects.filter(pk=old.pk).update(created=timezone.now() - datetime.timedelta(days=30))
    job_of(client.get(reverse("io:export"), {"kind": "members", "format": "csv"}))
    assert not Job.objects.filter(pk=old.pk).exists()
    assert not path.exists()


def test_an_rq_worker_builds_a_queued_export(client, tree, secretary_a, settings):
    """Production's backend: the task goes to Redis (the machine's server, a database of its own) and
    an RQ worker with django-tasks-rq's job class runs it (in this process, so on the test database)."""
    import django_rq
    from django_tasks_rq import Job as RQJob
    from rq import SimpleWorker

    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:6379/14", "DEFAULT_TIMEOUT": 60}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    settings.EXPORT_TASK_ROWS = 0
    queue = django_rq.get_queue("default", job_class=RQJob)
    queue.empty()
    try:
        MemberFactory.create_batch(2, organization=tree.branch_a)
        login(client, secretary_a)
        job = job_of(client.get(reverse("io:export"), {"kind": "members", "format": "csv"}))
        assert status(client, job)["status"] == "queued"
        assert queue.count == 1

        worker = django_rq.get_worker("default", job_class=RQJob, worker_class=SimpleWorker)
        assert worker.work(burst=True)
        assert default_task_backend.get_result(job.task_id).status == TaskResultStatus.SUCCESSFUL
        state = status(client, job)
        assert state["status"] == "succeeded"
        lines = b"".join(client.get(state["result_url"]).streaming_content).decode("utf-8-sig").splitlines()
        assert len(lines) == 3
    finally:
        queue.empty()


def test_the_job_page_and_status_speak_vietnamese(client, tree, secretary_a, settings):
    settings.EXPORT_TASK_ROWS = 0
    MemberFactory(organization=tree.branch_a)
    login(client, secretary_a, language="vi")
    with translation.override("vi"):
        job = job_of(client.get(reverse("io:export"), {"kind": "members", "format": "csv"}))
        page = client.get(reverse("tasks:job", args=[job.pk])).content.decode()
    assert "Xuất dữ liệu" in page and "Tải xuống" in page and "hoàn tất" in page
    assert status(client, job)["label"] == "hoàn tất"
