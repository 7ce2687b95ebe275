"""The page of a background task in a real browser: static/js/jobs.js polls the JSON status (no
inline script, no console error under the CSP), moves the bar and shows the download when done."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from core.jobs import files_storage
from core.models import Job
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_task_page_follows_the_task_until_its_download(live_server, new_page, screenshot, tree, secretary_a):
    job = Job.objects.create(kind="export", title="Xuất dữ liệu: Đảng viên", owner=secretary_a, total=200)
    page = new_page()
    sign_in(page, live_server, "secretary_a")
    page.goto(f"{live_server.url}{reverse('tasks:job', args=[job.pk])}")
    assert page.locator("#job-result").is_hidden()

    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, done=100, heartbeat_at=timezone.now())
    page.locator("#job-progress[aria-valuenow='50']").wait_for(timeout=10_000)
    assert page.locator("#job-done").inner_text() == "100"
    screenshot(page, "task-running")

    name = files_storage().save(f"exports/{job.pk}/members.csv", ContentFile(b"a,b\r\n"))
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.SUCCEEDED, done=200, result_name=name, result_filename="members.csv"
    )
    page.locator("#job-result").wait_for(state="visible", timeout=10_000)
    assert page.get_attribute("#job-result", "href") == reverse("tasks:download", args=[job.pk])
    assert page.locator("#job-reload").is_hidden()
    screenshot(page, "task-done")
    with page.expect_download() as download:
        page.click("#job-result")
    assert download.value.suggested_filename == "members.csv"
    assert page.errors == []
