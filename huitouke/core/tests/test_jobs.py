"""Background job records and the progress page."""

from __future__ import annotations

import pytest

from huitouke.core.errors import NotFoundError
from huitouke.core.models import Job
from huitouke.core.selectors import job_get_for_user
from huitouke.core.services import job_create, job_fail, job_finish, job_progress, job_start

pytestmark = pytest.mark.django_db


def test_job_life_cycle(manager):
    job = job_create(kind="import", params={"title": "x"}, created_by=manager)
    assert (job.status, job.percent) == ("queued", None)

    job_start(job_id=job.pk)
    job_progress(job_id=job.pk, done=25, total=200, stage="orders")
    job.refresh_from_db()
    assert (job.status, job.percent, job.stage, job.is_finished) == ("running", 12, "orders", False)

    done = job_finish(job_id=job.pk, result={"rows": 200})
    assert (done.status, done.result, done.is_finished) == ("done", {"rows": 200}, True)
    assert job_start(job_id=job.pk).status == "done"  # a re-delivered task does not restart a finished job


def test_job_fail_keeps_a_one_line_reason():
    job = job_create(kind="import")
    failed = job_fail(job_id=job.pk, error="file is not a table\nTraceback …")
    assert (failed.status, failed.error) == ("failed", "file is not a table")


def test_jobs_are_visible_to_their_creator_and_managers_only(make_user):
    agent_a, agent_b, manager = make_user("agent", "a"), make_user("agent", "b"), make_user("manager", "m")
    job = job_create(kind="import", created_by=agent_a)
    assert job_get_for_user(job_id=job.pk, user=agent_a) == job
    assert job_get_for_user(job_id=job.pk, user=manager) == job
    with pytest.raises(NotFoundError):
        job_get_for_user(job_id=job.pk, user=agent_b)


def test_progress_page_polls_until_finished(client_as):
    client = client_as("manager")
    job = job_create(kind="import", params={"title": "Orders import"})
    job_progress(job_id=job.pk, done=5, total=10)

    page = client.get(f"/jobs/{job.pk}/")
    partial = client.get(f"/jobs/{job.pk}/", headers={"HX-Request": "true"})
    job_finish(job_id=job.pk, result={"rows": 10})
    finished = client.get(f"/jobs/{job.pk}/", headers={"HX-Request": "true"})

    assert page.status_code == 200
    assert b"Orders import" in page.content
    assert b'hx-trigger="every 1s"' in partial.content
    assert b"<html" not in partial.content
    assert b"every 1s" not in finished.content
    assert b"rows" in finished.content
    assert Job.objects.count() == 1
