"""Background work a user waits for, on the task queue (django-tasks; ``django.tasks`` from Django 6).

A view calls :func:`start` with a task of its app (a function decorated with ``@task()`` taking the
job's id) and redirects to the job's page, which polls ``tasks:status`` and offers the result when
it is ready. The task's body calls :func:`run` with the work to do; ``run`` keeps the
:class:`~core.models.Job` row up to date (running, progress, done or failed), whichever worker
runs it:

- the work receives the job and a :class:`Progress`, and returns the fields of its result
  (``result_name``, a file in :func:`files_storage`; ``result_filename``; ``result_url``; ``message``);
- :class:`JobFailed` ends the job as failed with a message for the user (nothing is retried);
- any other exception ends it as failed and is raised again, so the task backend records it too;
- a worker that dies leaves no job running for ever: the status endpoint reports a job as failed
  when the backend says its task failed, or when it has shown no progress for
  ``TASKS_LOST_AFTER_SECONDS``.

Tasks have no lock of their own; a lock a task needs is released in its ``finally`` and expires
anyway.
"""

import datetime
import logging
import time

from django.conf import settings
from django.core.files.storage import storages
from django.db import connections, router, transaction
from django.utils import timezone, translation

from core.models import Job

logger = logging.getLogger(__name__)

#: Progress is written at most this often (seconds): a row update per second costs nothing.
PROGRESS_EVERY = 1.0


class JobFailed(Exception):
    """The work cannot be done (e.g. the file's rows no longer pass their checks): ``message`` says why."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def files_storage():
    """Where uploads and task results are kept (``STORAGES["files"]``)."""
    return storages["files"]


def start(task, *, kind, owner, title, total=0, params=None):
    """Create the job of ``owner`` and enqueue ``task`` with its id; returns the :class:`Job`.

    With the immediate backend (tests) the task has run when this returns.
    """
    purge_old()
    params = dict(params or {})
    params.setdefault("language", translation.get_language())
    job = Job.objects.create(kind=kind, owner=owner, title=str(title)[:200], total=total, params=params)
    try:
        result = task.enqueue(str(job.pk))
    except Exception:
        logger.exception("could not enqueue %s", kind)
        Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, finished_at=timezone.now())
        raise
    Job.objects.filter(pk=job.pk).update(task_id=str(result.id)[:64])
    job.refresh_from_db()
    return job


class Progress:
    """``progress(done)`` records how far the work has got (at most once a second, and always at the end).

    Work that runs in one transaction (an import's commit) cannot show its progress through that
    transaction: others would see it only at the commit, and no statement may run while a COPY is
    open. On PostgreSQL, inside a transaction, progress is written through a connection of its
    own in autocommit mode (opened at the first such write, closed by :meth:`close`). SQLite has
    one writer at a time: there it is written in the transaction, and seen at its end.
    """

    def __init__(self, job):
        self.job = job
        self.last = 0.0
        self.aside = None

    def __call__(self, done, total=None, force=False):
        now = time.monotonic()
        if not force and now - self.last < PROGRESS_EVERY:
            return
        self.last = now
        fields = {"done": done, "heartbeat_at": timezone.now()}
        if total is not None:
            fields["total"] = total
        connection = connections[router.db_for_write(Job)]
        if connection.in_atomic_block and connection.vendor == "postgresql":
            self._write_aside(connection.alias, fields)
        else:
            Job.objects.filter(pk=self.job.pk).update(**fields)

    def _write_aside(self, alias, fields):
        if self.aside is None:
            self.aside = connections.create_connection(alias)
        quote = self.aside.ops.quote_name
        columns = ", ".join(f"{quote(Job._meta.get_field(name).column)} = %s" for name in fields)
        with self.aside.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(Job._meta.db_table)} SET {columns} WHERE {quote(Job._meta.pk.column)} = %s",  # noqa: S608
                [*fields.values(), self.job.pk],
            )

    def close(self):
        if self.aside is not None:
            self.aside.close()
            self.aside = None


def run(job_id, work):
    """Run ``work(job, progress)`` for the job ``job_id`` (the body of a job's task)."""
    job = Job.objects.filter(pk=job_id).select_related("owner").first()
    if job is None or job.is_finished:
        return None  # deleted meanwhile, or delivered twice
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, started_at=now, heartbeat_at=now)
    progress = Progress(job)
    try:
        with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
            outcome = work(job, progress) or {}
    except JobFailed as failed:
        _finish(job, Job.Status.FAILED, message=failed.message)
        return None
    except Exception:
        _finish(job, Job.Status.FAILED)
        raise
    finally:
        progress.close()
    job.refresh_from_db(fields=["done", "total"])
    fields = {key: value for key, value in outcome.items() if key in RESULT_FIELDS}
    _finish(job, Job.Status.SUCCEEDED, done=max(job.done, job.total), **fields)
    return str(job.pk)


RESULT_FIELDS = ("result_name", "result_filename", "result_url", "message")


def _finish(job, status, **fields):
    with transaction.atomic():
        Job.objects.filter(pk=job.pk).update(status=status, finished_at=timezone.now(), **fields)


def check_alive(job):
    """Mark ``job`` failed if its task is gone: the backend reports it failed, or no progress came for
    ``TASKS_LOST_AFTER_SECONDS``. Returns the job (refreshed when it changed)."""
    if job.is_finished:
        return job
    lost = False
    if job.status == Job.Status.RUNNING:
        seen = job.heartbeat_at or job.started_at or job.created
        lost = timezone.now() - seen > datetime.timedelta(seconds=settings.TASKS_LOST_AFTER_SECONDS)
    if not lost and job.task_id:
        lost = _backend_says_failed(job.task_id)
    if lost:
        Job.objects.filter(pk=job.pk, status=job.status).update(
            status=Job.Status.FAILED, finished_at=timezone.now(), message=""
        )
        job.refresh_from_db()
    return job


def _backend_says_failed(task_id):
    from django_tasks import TaskResultStatus, default_task_backend

    if not default_task_backend.supports_get_result:
        return False
    try:
        result = default_task_backend.get_result(task_id)
    except Exception:  # an unknown id (expired in Redis, pruned) or the queue unreachable: no verdict
        return False
    return result.status == TaskResultStatus.FAILED


def purge_old():
    """Delete jobs finished (or started) longer ago than ``TASKS_KEEP_SECONDS``, with their files."""
    cutoff = timezone.now() - datetime.timedelta(seconds=settings.TASKS_KEEP_SECONDS)
    old = list(Job.objects.filter(created__lt=cutoff).values_list("pk", "result_name")[:200])
    storage = files_storage()
    for _pk, name in old:
        if name:
            try:
                storage.delete(name)
            except OSError:
                logger.warning("could not delete %s", name)
    Job.objects.filter(pk__in=[pk for pk, _name in old]).delete()
