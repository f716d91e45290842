"""Every background job has a time limit (#14 item 5): past it the job is failed with the reason, whether its
work is still running (it stops at its next progress report) or its worker is gone (it would show "running"
forever)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from huitouke.core.models import Job
from huitouke.core.services import (
    JobTimeLimitExceeded,
    job_create,
    job_finish,
    job_progress,
    job_start,
    jobs_expire,
    time_limit_reason,
)
from huitouke.customers.models import Customer
from huitouke.jobs import jobs_expire_periodic, orders_import_task
from huitouke.orders.importing import IMPORT_JOB_KIND
from huitouke.orders.models import Order
from huitouke.orders.tests.test_importing import row, taobao

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def test_a_started_job_gets_its_deadline(settings):
    settings.HUITOUKE_JOB_TIME_LIMIT = 600
    job = job_start(job_id=job_create(kind="import").pk)
    assert job.status == "running"
    assert job.deadline is not None
    assert job.started_at is not None
    assert job.deadline - job.started_at == timedelta(seconds=600)


def test_a_job_left_running_by_a_dead_worker_fails_with_the_reason_once_past_its_deadline(settings, client_as):
    # given a job whose worker died mid-way (started, never finished), one still in time, one done
    settings.HUITOUKE_JOB_TIME_LIMIT = 600
    orphan = job_start(job_id=job_create(kind="import", params={"title": "Orders import"}).pk)
    fresh = job_start(job_id=job_create(kind="import").pk)
    done = job_start(job_id=job_create(kind="import").pk)
    job_finish(job_id=done.pk, result={})
    Job.objects.filter(pk__in=[orphan.pk, done.pk]).update(deadline=timezone.now() - timedelta(seconds=1))
    # when someone looks at its progress page (no worker needed)
    page = client_as("manager").get(f"/jobs/{orphan.pk}/")
    # then it is failed with the reason, and only it
    assert page.status_code == 200
    assert "任务超过了时间上限" in page.content.decode()  # the stored reason, in the reader's language
    statuses = dict(Job.objects.values_list("pk", "status"))
    assert (statuses[orphan.pk], statuses[fresh.pk], statuses[done.pk]) == ("failed", "running", "done")
    orphan.refresh_from_db()
    assert orphan.error == time_limit_reason()
    assert orphan.finished_at is not None
    # and the periodic sweep and the next job start find nothing more to do
    assert jobs_expire_periodic.call_local() == 0
    assert jobs_expire() == 0


def test_progress_past_the_deadline_stops_the_work(settings):
    settings.HUITOUKE_JOB_TIME_LIMIT = 600
    job = job_start(job_id=job_create(kind="import").pk)
    job_progress(job_id=job.pk, done=1)
    Job.objects.filter(pk=job.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    with pytest.raises(JobTimeLimitExceeded):
        job_progress(job_id=job.pk, done=2)
    assert Job.objects.get(pk=job.pk).done == 1


def test_an_import_past_its_time_limit_fails_with_the_reason_and_keeps_what_it_wrote(settings, tmp_path):
    # given a time limit already over when the first batch is written
    settings.HUITOUKE_JOB_TIME_LIMIT = 0
    path = taobao(tmp_path, [row("8001", "tb_a", "10.00"), row("8002", "tb_a", "20.00")])
    job = job_create(kind=IMPORT_JOB_KIND, params={"path": str(path), "fmt": "auto"})
    # when the worker runs it
    orders_import_task.call_local(job.pk)
    # then the job failed with the reason, the batch it wrote is whole, and its customer's stats follow it
    job.refresh_from_db()
    assert (job.status, job.error) == ("failed", time_limit_reason())
    assert Order.objects.count() == 2
    assert Customer.objects.get().order_count == 2
