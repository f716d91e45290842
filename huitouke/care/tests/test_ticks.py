"""The tick: exactly once per (rule, customer, occasion) under repeated and concurrent ticks, dry runs write
nothing, send times and validity, daily rules once a day, messages tied to their activation."""

from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huitouke.care import matching, sending, services
from huitouke.care.models import CareActivation, CareRun
from huitouke.care.tests.factories import care_template, make_rule
from huitouke.care.ticks import care_preview, care_run
from huitouke.care.triggers import clock
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.messaging.models import Message
from huitouke.orders.models import Order
from huitouke.orders.tests.factories import OrderFactory, OrderLineFactory, ShopFactory

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 5, 17)


def at(h: int, mi: int = 0, s: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, h, mi, s, tzinfo=SH)


def care_messages():
    return Message.objects.filter(source_kind="care")


@pytest.fixture
def world():
    """A shop with birthdays today and tomorrow, a dormant customer and two recent shipments."""
    shop = ShopFactory.create(name="小米家居")
    born_today = [CustomerFactory.create(name=f"寿星{i}", birthday=date(1980 + i, 5, 17)) for i in range(3)]
    born_tomorrow = CustomerFactory.create(name="明天", birthday=date(1990, 5, 18))
    sleepy = CustomerFactory.create(name="沉睡", last_order_at=at(12, day=date(2025, 10, 1)))
    shipped = []
    for i in range(2):
        o = OrderFactory.create(
            shop=shop,
            status=Order.Status.SHIPPED,
            shipped_at=at(8 + i),
            logistics_company="中通快递",
            tracking_no=f"ZT{i}",
        )
        OrderLineFactory.create(order=o, title="抱枕")
        shipped.append(o)
    return {
        "shop": shop,
        "born_today": born_today,
        "born_tomorrow": born_tomorrow,
        "sleepy": sleepy,
        "shipped": shipped,
    }


def test_a_tick_enqueues_once_and_repeated_ticks_add_nothing(world):
    birthday = make_rule("birthday", send_time=time(9, 30), now=at(0))
    report = care_run(at=at(10))
    (result,) = report.rules
    assert (result.matched, result.enqueued, result.suppressed) == (3, 3, {})
    keys = set(care_messages().values_list("idempotency_key", flat=True))
    assert keys == {f"care:{birthday.pk}:{c.pk}:2026" for c in world["born_today"]}

    for again in (at(10), at(10, 5), at(23, 59, 59)):
        (result,) = care_run(at=again).rules
        assert (result.matched, result.enqueued, result.suppressed) == (3, 0, {"already_sent": 3})
    assert care_messages().count() == 3


def test_messages_point_at_the_rules_current_activation_and_carry_the_rendered_text(world):
    rule = make_rule("birthday", now=at(0))
    care_run(at=at(10))
    activation = CareActivation.objects.get(rule=rule, number=1)
    m = care_messages().get(customer=world["born_today"][0])
    assert (m.source_type_id, m.source_id, m.source_kind) == (sending.activation_type_id(), activation.pk, "care")
    assert (m.channel, m.purpose, m.template_id) == ("sms", "care", care_template("birthday").pk)
    assert m.body == "亲爱的寿星0，生日快乐！愿新的一岁开心常在、好运连连，小米家居一直在这里陪着您～"
    assert m.scheduled_at == at(10)
    assert m.deadline == at(0, day=DAY + timedelta(days=1))  # a birthday greeting is pointless the day after


def test_editing_the_content_starts_a_new_activation_without_resending_an_occasion(world):
    rule = make_rule("shipped", now=at(0))
    care_run(at=at(10))
    assert care_messages().count() == 2
    data = services.RuleInput(
        name=rule.name,
        trigger="shipped",
        channel="sms",
        template_id=care_template("shipped", language="en").pk,
        params=rule.params,
    )
    services.care_rule_update(rule=rule, data=data, now=at(11))
    late = OrderFactory.create(shop=world["shop"], status=Order.Status.SHIPPED, shipped_at=at(11, 30))
    (result,) = care_run(at=at(12)).rules
    assert (result.matched, result.enqueued) == (3, 1)  # the two earlier orders were cared for already
    by_activation = dict(care_messages().values_list("customer_id", "source_id"))
    first, second = CareActivation.objects.filter(rule=rule).order_by("number")
    assert by_activation == {
        world["shipped"][0].customer_id: first.pk,
        world["shipped"][1].customer_id: first.pk,
        late.customer_id: second.pk,
    }


def test_a_dry_run_writes_nothing_and_says_what_a_real_run_would_do(world):
    make_rule("birthday", now=at(0))
    make_rule("shipped", now=at(0))
    dry = care_run(at=at(10), dry_run=True)
    assert not care_messages().exists()
    assert not CareRun.objects.exists()
    real = care_run(at=at(10))
    assert [(r.matched, r.enqueued, r.suppressed) for r in dry.rules] == [
        (r.matched, r.enqueued, r.suppressed) for r in real.rules
    ]
    again = care_run(at=at(10), dry_run=True)
    assert [r.enqueued for r in again.rules] == [0, 0]


def test_a_missing_variable_is_counted_and_recorded_as_suppressed(world):
    OrderFactory.create(shop=world["shop"], status=Order.Status.SHIPPED, shipped_at=at(9), logistics_company="")
    make_rule("shipped", now=at(0))
    dry = care_run(at=at(10), dry_run=True).rules[0]
    real = care_run(at=at(10)).rules[0]
    assert dry.suppressed == real.suppressed == {"missing_variable": 1}
    m = care_messages().get(reason="missing_variable")
    assert m.status == "suppressed"
    assert m.detail.endswith("product, carrier, tracking_no")


def test_before_the_send_time_nothing_happens_and_at_it_the_rule_fires(world):
    make_rule("birthday", send_time=time(9, 30), now=at(0))
    (early,) = care_run(at=at(9, 29, 59)).rules
    assert (early.due, early.skipped, early.matched) == (False, "before_send_time", 0)
    (on_time,) = care_run(at=at(9, 30)).rules
    assert on_time.enqueued == 3


def test_ticks_on_either_side_of_midnight_pick_different_days(world):
    rule = make_rule("birthday", send_time=time(0, 0), now=at(0, day=DAY - timedelta(days=1)))
    services.care_validity_extend(at=at(0))
    late = care_run(at=datetime(2026, 5, 17, 23, 59, 59, tzinfo=SH)).rules[0]
    early = care_run(at=datetime(2026, 5, 18, 0, 0, 1, tzinfo=SH)).rules[0]
    assert (late.enqueued, early.enqueued) == (3, 1)
    keys = set(care_messages().values_list("idempotency_key", flat=True))
    assert f"care:{rule.pk}:{world['born_tomorrow'].pk}:2026" in keys


def test_disabled_deleted_and_expired_rules_do_not_run(world):
    off = make_rule("birthday", enabled=False, now=at(0))
    gone = make_rule("birthday", now=at(0))
    services.care_rule_delete(rule=gone)
    stale = make_rule("birthday", now=at(0, day=DAY - timedelta(days=10)))  # valid until the 14th
    assert care_run(at=at(10)).rules == []
    services.care_rule_set_enabled(rule=stale, enabled=True, now=at(9))  # a new activation, valid again
    assert [r.id for r in care_run(at=at(10)).rules] == [stale.pk]
    assert off.pk != stale.pk


def test_the_periodic_tick_looks_at_a_daily_rule_once_a_day_and_at_events_every_time(world):
    birthday = make_rule("birthday", now=at(0))
    shipped = make_rule("shipped", now=at(0))
    first = {r.id: r for r in care_run(at=at(10), periodic=True).rules}
    second = {r.id: r for r in care_run(at=at(10, 5), periodic=True).rules}
    assert first[birthday.pk].enqueued == 3
    assert second[birthday.pk].skipped == "done_today"
    assert second[shipped.pk].skipped == ""
    assert second[shipped.pk].matched == 2
    run = CareRun.objects.get(rule=shipped)
    assert (run.ticks, run.matched, run.enqueued, run.done) == (2, 2, 2, False)
    assert CareRun.objects.get(rule=birthday).done
    # an explicit run (the CLI) always looks, and still adds nothing twice
    assert care_run(at=at(10, 10)).rules[0].suppressed == {"already_sent": 3}


def test_one_broken_rule_does_not_stop_the_others(world):
    broken = make_rule("birthday", now=at(0))
    type(broken).objects.filter(pk=broken.pk).update(params={"days_ahead": "soon"})
    fine = make_rule("shipped", now=at(0))
    results = {r.id: r for r in care_run(at=at(10)).rules}
    assert "days_ahead" in results[broken.pk].error
    assert results[fine.pk].enqueued == 2


def test_the_json_report_shape(world):
    rule = make_rule("birthday", now=at(0))
    report = care_run(at=at(10)).as_json()
    assert report == {
        "at": "2026-05-17T10:00:00+08:00",
        "dry_run": False,
        "rules": [
            {"id": rule.pk, "name": rule.name, "trigger": "birthday", "matched": 3, "enqueued": 3, "suppressed": {}}
        ],
    }


instants = st.lists(
    st.sampled_from(
        [at(h, m, day=d) for d in (DAY, DAY + timedelta(days=1)) for h, m in ((0, 0), (9, 29), (9, 30), (18, 0))]
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ticks=instants)
def test_any_sequence_of_ticks_sends_each_occasion_exactly_once(world, ticks):
    """Whatever order and repetition the ticks come in, the messages are exactly the union of what each tick
    was due to send, one per key, and each tick added exactly the keys not seen before."""
    Message.objects.filter(source_kind="care").delete()
    CareRun.objects.all().delete()
    rules = [
        make_rule("birthday", send_time=time(9, 30), now=at(0)),
        make_rule("shipped", now=at(0)),
        make_rule("dormant", params={"days": 30}, now=at(0)),
    ]
    seen: set[str] = set()
    for instant in ticks:
        due = {
            m.key
            for r in rules
            if clock.send_time_reached(instant, r.time_zone, r.send_time)
            for m in matching.rule_matches(r, instant)
        }
        report = care_run(at=instant, rule_ids=[r.pk for r in rules])
        assert sum(r.enqueued for r in report.rules) == len(due - seen)
        seen |= due
    keys = list(care_messages().values_list("idempotency_key", flat=True))
    assert sorted(keys) == sorted(seen)
    for r in rules:
        services.care_rule_delete(rule=r)


@pytest.mark.django_db(transaction=True)
def test_two_workers_ticking_at_once_send_each_occasion_once():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL (SQLite runs one writer at a time)")
    shop = ShopFactory.create(name="并发店")
    for i in range(300):
        c = CustomerFactory.create(birthday=date(1980 + i % 30, 5, 17))
        OrderFactory.create(shop=shop, customer=c, ordered_at=at(1))
    rule = make_rule("birthday", now=at(0))
    barrier = threading.Barrier(2)
    added: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            (result,) = care_run(at=at(10)).rules
            assert not result.error, result.error
            added.append(result.enqueued)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(added) == 300
    assert care_messages().filter(source_id=rule.activations.get().pk).count() == 300


def test_the_preview_renders_tomorrows_messages_without_writing(world):
    rule = make_rule("birthday", send_time=time(9, 30), now=at(0))
    preview = care_preview(rule=rule, at=at(9, 30, day=DAY + timedelta(days=1)), limit=5)
    assert (preview.due, preview.matched, preview.new, preview.already_sent) == (True, 1, 1, 0)
    (sample,) = preview.samples
    assert sample.customer == world["born_tomorrow"]
    assert sample.body == "亲爱的明天，生日快乐！愿新的一岁开心常在、好运连连，小米家居一直在这里陪着您～"
    assert sample.sms_parts == 1
    assert not care_messages().exists()


def test_a_customer_matching_two_rules_gets_both_messages_queued_for_the_policy_to_decide(world):
    sleepy = world["sleepy"]
    type(sleepy).objects.filter(pk=sleepy.pk).update(birthday=date(1985, 5, 17))
    birthday = make_rule("birthday", now=at(0))
    dormant = make_rule("dormant", params={"days": 30}, now=at(0))
    care_run(at=at(10))
    keys = set(care_messages().filter(customer=sleepy).values_list("idempotency_key", flat=True))
    assert keys == {f"care:{birthday.pk}:{sleepy.pk}:2026", f"care:{dormant.pk}:{sleepy.pk}:since:2025-10-01"}
