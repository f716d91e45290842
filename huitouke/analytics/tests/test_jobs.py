"""The analytics tasks of the orchestrator (huitouke/jobs.py): after an import, from the dashboard's button (a
core Job with progress) and every night."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from freezegun import freeze_time

from huitouke.analytics.models import CustomerScore, ScoreRun
from huitouke.analytics.services import REFRESH_JOB_KIND
from huitouke.core.models import Job
from huitouke.core.services import job_submit
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.jobs import ImportRequest, analytics_nightly, analytics_refresh_after_import, orders_import
from huitouke.orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).resolve().parents[2] / "orders" / "importers" / "tests" / "golden"


def test_an_import_is_followed_by_a_refresh():
    # the worker runs tasks at once in tests: the refresh queued by the import has run when it returns
    result = orders_import(request=ImportRequest(path=str(GOLDEN / "taobao_71_ExportOrderList202506.csv")))
    assert result.customer_ids
    run = ScoreRun.objects.get()
    assert run.customers == CustomerScore.objects.count() > 0


def test_the_follow_up_is_skipped_when_a_refresh_started_since_it_was_asked_for():
    OrderFactory.create(customer=CustomerFactory.create())
    asked = timezone.now()
    analytics_refresh_after_import(asked.isoformat())
    assert ScoreRun.objects.count() == 1
    analytics_refresh_after_import(asked.isoformat())  # a second import finished before the refresh ran
    assert ScoreRun.objects.count() == 1
    analytics_refresh_after_import((timezone.now() + timedelta(seconds=1)).isoformat())
    assert ScoreRun.objects.count() == 2


def test_refresh_job_records_its_stages_and_result(owner):
    OrderFactory.create(customer=CustomerFactory.create())
    with freeze_time(datetime(2025, 6, 18, 4, tzinfo=UTC), tick=True):
        job = job_submit(kind=REFRESH_JOB_KIND, params={"title": "refresh"}, created_by=owner)
    # on_commit: the test transaction never commits, so run what it would have queued
    from huitouke.jobs import analytics_refresh_task

    analytics_refresh_task(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE
    assert job.result is not None
    assert job.result["customers"] == 1
    assert job.stage == "write"
    assert job.total == 4


def test_nightly_rescores_everyone():
    OrderFactory.create(customer=CustomerFactory.create())
    counts = analytics_nightly.call_local()
    assert counts == {"customers": 1, "fit_error": "BG/NBD needs at least 20 customers; there are 1"}
    assert CustomerScore.objects.count() == 1


def test_nightly_runs_at_four_after_the_levels():
    assert analytics_nightly.s().validate_datetime(datetime(2025, 9, 1, 4, 0))
    assert not analytics_nightly.s().validate_datetime(datetime(2025, 9, 1, 3, 30))
