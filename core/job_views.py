"""The page of a background job, its JSON status (polled by ``static/js/jobs.js``) and its result.

Only the user who started a job, or an administrator, sees it: anyone else gets 404.
"""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from core import jobs
from core.models import Job
from core.scoping import scope_for


def _job_of(user, job_id):
    jobs_seen = Job.objects.all() if scope_for(user).everything else Job.objects.filter(owner=user)
    job = jobs_seen.filter(pk=job_id).first()
    if job is None:
        raise Http404
    return jobs.check_alive(job)


def _message(job):
    if job.message:
        return job.message
    if job.status == Job.Status.FAILED:
        return _("The task failed and wrote nothing. Try again; if it fails again, tell an administrator.")
    if job.status == Job.Status.QUEUED:
        return _("Waiting for a worker to start the task.")
    if job.status == Job.Status.RUNNING and not job.total:
        return _("Working…")
    return ""


def status_payload(job):
    result_url = ""
    if job.status == Job.Status.SUCCEEDED:
        result_url = reverse("tasks:download", args=[job.pk]) if job.result_name else job.result_url
    return {
        "id": str(job.pk),
        "status": job.status,
        "label": str(job.get_status_display()),
        "finished": job.is_finished,
        "done": job.done,
        "total": job.total,
        "percent": job.percent,
        "message": _message(job),
        "result_url": result_url,
    }


@login_required
def job_page(request, job_id):
    job = _job_of(request.user, job_id)
    return render(request, "core/job.html", {"job": job, "status": status_payload(job)})


@login_required
def job_status(request, job_id):
    return JsonResponse(status_payload(_job_of(request.user, job_id)))


@login_required
def job_download(request, job_id):
    job = _job_of(request.user, job_id)
    if job.status != Job.Status.SUCCEEDED or not job.result_name:
        raise Http404
    try:
        handle = jobs.files_storage().open(job.result_name, "rb")
    except OSError:
        raise Http404 from None
    return FileResponse(handle, as_attachment=True, filename=job.result_filename or job.result_name.rsplit("/")[-1])
