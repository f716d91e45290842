"""The worker's side: the periodic care tick and the "Run now" job (Huey runs tasks in-process in tests)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from huitouke.care.models import CareRun
from huitouke.care.tests.factories import make_rule
from huitouke.care.ticks import CARE_RUN_JOB_KIND
from huitouke.core.models import Job
from huitouke.core.services import job_submit
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.jobs import care_tick
from huitouke.messaging.models import Message
from huitouke.orders.tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 5, 17, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_the_periodic_tick_runs_the_rules_once_per_day(django_capture_on_commit_callbacks):
    ShopFactory.create(name="小店")
    for year in (1980, 1990):
        CustomerFactory.create(birthday=date(year, 5, 17))
    with freeze_time(NOON):
        rule = make_rule("birthday")
        assert care_tick.call_local() == {"rules": 1, "enqueued": 2, "failed": 0, "follow_ups": 0}
        assert care_tick.call_local() == {"rules": 1, "enqueued": 0, "failed": 0, "follow_ups": 0}
    assert CareRun.objects.get(rule=rule).ticks == 1  # the second tick skipped the finished day
    assert Message.objects.filter(source_kind="care").count() == 2


def test_run_now_is_a_job_with_the_rules_result(make_user, django_capture_on_commit_callbacks):
    ShopFactory.create(name="小店")
    CustomerFactory.create(birthday=date(1985, 5, 17))
    owner = make_user("owner")
    with freeze_time(NOON):
        rule = make_rule("birthday")
        with django_capture_on_commit_callbacks(execute=True):
            job = job_submit(kind=CARE_RUN_JOB_KIND, params={"rule_id": rule.pk}, created_by=owner)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE
    assert job.result == {
        "id": rule.pk,
        "name": rule.name,
        "trigger": "birthday",
        "matched": 1,
        "enqueued": 1,
        "suppressed": {},
    }


def test_run_now_on_a_disabled_rule_fails_visibly(make_user, django_capture_on_commit_callbacks):
    rule = make_rule("birthday", enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        job = job_submit(kind=CARE_RUN_JOB_KIND, params={"rule_id": rule.pk}, created_by=make_user("owner"))
    job.refresh_from_db()
    assert (job.status, job.error) == (Job.Status.FAILED, "the rule is not enabled or its validity has ended")


def test_the_nightly_cycle_refresh_keeps_the_learned_cycles():
    from huitouke.care.models import ProductCycle
    from huitouke.jobs import care_cycles_nightly
    from huitouke.orders.tests.factories import OrderFactory, OrderLineFactory, ProductFactory

    shop = ShopFactory.create(name="小店")
    tea = ProductFactory.create(shop=shop, title="茶")
    for i in range(2):
        customer = CustomerFactory.create()
        for day in (1, 31):
            order = OrderFactory.create(shop=shop, customer=customer, ordered_at=NOON.replace(month=1 + 2 * i, day=day))
            OrderLineFactory.create(order=order, product=tea, title="茶")
    with freeze_time(NOON):
        assert care_cycles_nightly.call_local() == {"products": 1}
    cycle = ProductCycle.objects.get()
    assert (cycle.product_id, cycle.median_days, cycle.intervals) == (tea.pk, 30.0, 2)
