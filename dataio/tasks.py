"""The data exchange's background work: the commit of a large import and a large export, as tasks of
the task queue (``core.jobs``: the user follows them on the job's page)."""

import tempfile

from django.core.files import File
from django.http import Http404, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from core import jobs
from core.models import Job
from core.spreadsheets import SpreadsheetError
from dataio import exports, uploads

# Imports ----------------------------------------------------------------------------------


def start_import(user, token, meta):
    """The job committing the upload ``token`` (the running one if the form was sent twice)."""
    running = Job.objects.filter(
        owner=user, kind="import", params__token=token, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]
    ).first()
    if running is not None:
        return running
    return jobs.start(
        commit_import,
        kind="import",
        owner=user,
        title=_("Import of %(filename)s") % {"filename": meta["filename"]},
        total=meta.get("rows", 0),
        params={"token": token, "rows": meta.get("rows", 0)},
    )


@task()
def commit_import(job_id):
    return jobs.run(job_id, _commit_import)


def _commit_import(job, progress):
    from branches.models import Organization
    from dataio.views import IMPORT_KINDS, changeset_url_for_import

    user, token = job.owner, job.params["token"]
    try:
        data_name, meta = uploads.load(user, token)
    except Http404:
        raise jobs.JobFailed(
            _("The uploaded file is no longer kept (it was committed or has expired). Upload it again.")
        ) from None
    kind = IMPORT_KINDS.get(meta["kind"])
    organization = Organization.objects.editable_by(user).filter(pk=meta["organization"]).first()
    if kind is None or organization is None:
        raise jobs.JobFailed(_("You may not change the records of this organisation."))
    try:
        with uploads.open_file(data_name) as source:
            result = kind.run(
                source,
                organization=organization,
                acting_user=user,
                dry_run=False,
                filename=meta["filename"],
                progress=lambda done, total: progress(done, total=total, force=done == total),
            )
    except SpreadsheetError as exc:
        uploads.discard(token)
        raise jobs.JobFailed(exc.message) from None
    if result.has_errors:
        errors = sum(1 for row in result.rows if row.errors)
        raise jobs.JobFailed(
            _(
                "%(errors)s rows no longer pass their checks (the records changed since the preview): nothing was "
                "written. Upload the file again to see them."
            )
            % {"errors": errors}
        )
    uploads.discard(token)
    return {
        "result_url": changeset_url_for_import(user, result),
        "message": _("%(filename)s: %(created)s created, %(updated)s updated, %(unchanged)s unchanged.")
        % {
            "filename": result.filename,
            "created": result.counts.get("create", 0),
            "updated": result.counts.get("update", 0),
            "unchanged": result.counts.get("unchanged", 0),
        },
    }


# Exports ----------------------------------------------------------------------------------


def start_export(request, kind, data, file_format):
    """The job writing the export of ``kind`` with the list's filters ``data`` (a QueryDict)."""
    total = exports.export_queryset(kind, request.user, data=data, request=request).count()
    return jobs.start(
        build_export,
        kind="export",
        owner=request.user,
        title=_("Export: %(list)s") % {"list": exports.KINDS[kind].title},
        total=total,
        params={
            "kind": kind,
            "format": file_format,
            "data": dict(data.lists()),
            "path": request.get_full_path()[:500],
            "ip": request.META.get("REMOTE_ADDR"),
            "real_ip": request.META.get("HTTP_X_REAL_IP"),
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:500],
        },
    )


@task()
def build_export(job_id):
    return jobs.run(job_id, _build_export)


def _build_export(job, progress):
    params = job.params
    kind, file_format = params["kind"], params["format"]
    data = QueryDict(mutable=True)
    for key, values in params.get("data", {}).items():
        data.setlist(key, values)
    collected = [] if kind == "members" else None
    stamp = timezone.localdate().isoformat()
    filename = f"{kind}-{stamp}.{file_format}"
    with tempfile.TemporaryFile() as target:
        written = exports.write_export(
            target,
            kind,
            job.owner,
            data=data,
            request=_RecordedRequest(job),  # the filters' choices are cut from the user's scope
            file_format=file_format,
            collect_ids=collected,
            progress=progress,
        )
        target.seek(0)
        name = jobs.files_storage().save(f"exports/{job.pk}/{filename}", File(target, name=filename))
    progress(written, total=written, force=True)
    if collected is not None:
        _record_export(job, collected, data)
    return {"result_name": name, "result_filename": filename}


class _RecordedRequest:
    """What the filters and the access log read of a request, as the export's was when the task started."""

    def __init__(self, job):
        params = job.params
        self.user = job.owner
        self.META = {
            key: value
            for key, value in (
                ("REMOTE_ADDR", params.get("ip")),
                ("HTTP_X_REAL_IP", params.get("real_ip")),
                ("HTTP_USER_AGENT", params.get("user_agent")),
            )
            if value
        }
        self.path = params.get("path", "")

    def get_full_path(self):
        return self.path


def _record_export(job, member_ids, data):
    from security.access import record_access
    from security.models import AccessAction

    record_access(_RecordedRequest(job), AccessAction.EXPORTED, members=member_ids, filters=data)
