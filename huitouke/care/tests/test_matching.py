"""Each trigger's selector against the real database, with hand-built customers and orders in Shanghai time.

`at` is 2026-05-17 10:00 in Shanghai (02:00 UTC) unless a test says otherwise."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from lunardate import LunarDate

from huitouke.audiences.models import Segment
from huitouke.care import matching
from huitouke.care.models import CareRule
from huitouke.care.services import carrier_transit_save
from huitouke.care.tests.factories import make_rule
from huitouke.care.ticks import care_run
from huitouke.care.triggers import birthday, receipt
from huitouke.customers.models import Consent, CustomerTag, Note, Tag
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.loyalty.models import Level, LevelChange, Membership
from huitouke.messaging.models import Message
from huitouke.orders.models import Order
from huitouke.orders.tests.factories import OrderFactory, OrderLineFactory, ProductFactory, ShopFactory

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 5, 17, 10, 0, tzinfo=SH)


def sh(y: int, m: int, d: int, h: int = 12, mi: int = 0, s: int = 0) -> datetime:
    """A Shanghai wall-clock time, as the database stores it (UTC)."""
    return datetime(y, m, d, h, mi, s, tzinfo=SH).astimezone(UTC)


def run(rule: CareRule, at: datetime = AT) -> dict[str, dict]:
    """{key: {customer, shop, context, deadline}} of everything the rule's selector yields.

    Then the tick enqueues them, and the selector, asked again, must yield nothing while still counting the
    same matches: the keys it computes in SQL to leave out what was sent are the keys the messages carry."""
    out = {}
    scope, messages = matching.rule_selection(rule, at)
    for m in messages:
        assert m.key not in out, f"selector yielded {m.key} twice"
        out[m.key] = {"customer": m.customer_id, "shop": m.shop_id, "context": m.context, "deadline": m.deadline}
    assert scope.matched == len(out)
    (result,) = care_run(at=at, rule_ids=[rule.pk]).rules
    assert (result.error, result.enqueued) == ("", len(out))
    again, messages = matching.rule_selection(rule, at)
    assert list(messages) == []
    if rule.trigger != "no_contact":  # (a customer it messaged has been contacted since)
        assert again.matched == len(out)
    return out


@pytest.fixture
def shop():
    return ShopFactory.create(name="小米家居")


def order(shop, customer=None, *, lines=("抱枕",), **fields):
    o = OrderFactory.create(shop=shop, customer=customer or CustomerFactory.create(), **fields)
    for i, title in enumerate(lines, start=1):
        OrderLineFactory.create(order=o, line_no=i, title=title)
    return o


def test_paid_today_one_message_per_customer_about_the_latest_payment(shop):
    rule = make_rule("paid_today")
    alice = CustomerFactory.create(name="Alice")
    order(shop, alice, order_no="A1", paid_at=sh(2026, 5, 17, 8, 0), paid_amount=Decimal("59.90"))
    order(shop, alice, order_no="A2", paid_at=sh(2026, 5, 17, 9, 30), paid_amount=Decimal("128.00"), lines=["茶杯"])
    midnight = order(shop, order_no="M", paid_at=sh(2026, 5, 17, 0, 0, 0))  # the first second of the day
    order(shop, order_no="Y", paid_at=sh(2026, 5, 16, 23, 59, 59))  # yesterday, one second before midnight
    order(shop, order_no="C", paid_at=sh(2026, 5, 17, 8, 0), status=Order.Status.CLOSED)
    order(shop, order_no="L", paid_at=sh(2026, 5, 17, 10, 30))  # after the tick

    found = run(rule)

    assert set(found) == {f"care:{rule.pk}:{alice.pk}:2026-05-17", f"care:{rule.pk}:{midnight.customer_id}:2026-05-17"}
    ctx = found[f"care:{rule.pk}:{alice.pk}:2026-05-17"]["context"]
    assert ctx == {"name": "Alice", "shop": "小米家居", "order_no": "A2", "amount": "128.00", "product": "茶杯"}


def test_paid_today_follows_the_shop_day_not_the_utc_day(shop):
    rule = make_rule("paid_today")
    late = order(shop, paid_at=sh(2026, 5, 17, 23, 59, 59))
    next_day = order(shop, paid_at=sh(2026, 5, 18, 0, 0, 1))
    at_late = datetime(2026, 5, 17, 23, 59, 59, tzinfo=SH)
    at_next = datetime(2026, 5, 18, 0, 0, 1, tzinfo=SH)
    assert {v["customer"] for v in run(rule, at_late).values()} == {late.customer_id}
    found = run(rule, at_next)
    assert {v["customer"] for v in found.values()} == {next_day.customer_id}
    assert next(iter(found)).endswith(":2026-05-18")


def test_unpaid_reminder_after_n_minutes_before_auto_close(shop):
    rule = make_rule("unpaid_reminder", params={"after_minutes": 30, "close_after_minutes": 1440})
    due = order(shop, status=Order.Status.PENDING, ordered_at=AT - timedelta(minutes=45), total_amount=Decimal(88))
    order(shop, status=Order.Status.PENDING, ordered_at=AT - timedelta(minutes=10))  # too fresh
    order(shop, status=Order.Status.PENDING, ordered_at=AT - timedelta(hours=25))  # the platform closed it
    order(shop, status=Order.Status.PENDING, ordered_at=AT - timedelta(hours=2), closed_at=AT)
    order(shop, status=Order.Status.PAID, ordered_at=AT - timedelta(hours=1), paid_at=AT)

    found = run(rule)

    key = f"care:{rule.pk}:{due.customer_id}:o{due.pk}"
    assert list(found) == [key]
    assert found[key]["deadline"] == due.ordered_at + timedelta(minutes=1440)
    assert found[key]["context"]["amount"] == "88.00"


def test_shipped_within_the_lookback(shop):
    rule = make_rule("shipped", params={"lookback_hours": 24})
    recent = order(
        shop,
        status=Order.Status.SHIPPED,
        shipped_at=AT - timedelta(hours=2),
        logistics_company="顺丰速运",
        tracking_no="SF123",
    )
    order(shop, status=Order.Status.SHIPPED, shipped_at=AT - timedelta(hours=30))
    order(shop, status=Order.Status.REFUNDED, shipped_at=AT - timedelta(hours=1))
    found = run(rule)
    key = f"care:{rule.pk}:{recent.customer_id}:o{recent.pk}"
    assert list(found) == [key]
    assert found[key]["context"]["carrier"] == "顺丰速运"
    assert found[key]["context"]["tracking_no"] == "SF123"


def test_delivered_followup_counts_shop_days_and_falls_back_to_confirmation(shop):
    rule = make_rule("delivered_followup", params={"days": 3})
    late_evening = order(shop, status=Order.Status.DELIVERED, delivered_at=sh(2026, 5, 14, 23, 30))
    order(shop, status=Order.Status.DELIVERED, delivered_at=sh(2026, 5, 15, 0, 10))
    confirmed_only = order(shop, status=Order.Status.COMPLETED, confirmed_at=sh(2026, 5, 14, 9, 0))
    order(shop, status=Order.Status.REFUNDED, delivered_at=sh(2026, 5, 14, 9, 0))
    assert {v["customer"] for v in run(rule).values()} == {late_evening.customer_id, confirmed_only.customer_id}

    by_confirmation = make_rule("delivered_followup", params={"days": 3, "after": "confirmed"})
    assert {v["customer"] for v in run(by_confirmation).values()} == {confirmed_only.customer_id}


def test_unconfirmed_receipt_uses_delivery_or_shipping_plus_carrier_transit(shop):
    rule = make_rule("unconfirmed_receipt", params={"days": 7})  # received on 2026-05-10
    other_shop = ShopFactory.create(name="分店")
    carrier_transit_save(shop_id=other_shop.pk, carrier="中通", days=2)
    carrier_transit_save(shop_id=None, carrier="", days=4)  # every shop's default for unknown carriers
    cases: dict[str, tuple[Any, dict[str, Any], bool]] = {
        "delivered": (shop, {"delivered_at": sh(2026, 5, 10, 18)}, True),
        "delivered but confirmed": (shop, {"delivered_at": sh(2026, 5, 10), "confirmed_at": sh(2026, 5, 12)}, False),
        "SF shipped 8th (+2)": (shop, {"shipped_at": sh(2026, 5, 8), "logistics_company": "顺丰速运"}, True),
        "ZTO shipped 8th (+3)": (shop, {"shipped_at": sh(2026, 5, 8), "logistics_company": "中通快递"}, False),
        "ZTO shipped 7th (+3)": (shop, {"shipped_at": sh(2026, 5, 7), "logistics_company": "中通快递"}, True),
        "ZTO at the other shop (+2)": (
            other_shop,
            {"shipped_at": sh(2026, 5, 8), "logistics_company": "中通快递"},
            True,
        ),
        "unknown carrier (+4)": (shop, {"shipped_at": sh(2026, 5, 6), "logistics_company": "小马快运"}, True),
        "unknown carrier (+4) 7th": (shop, {"shipped_at": sh(2026, 5, 7), "logistics_company": "小马快运"}, False),
    }
    expected = set()
    orders = {}
    for label, (where, fields, due) in cases.items():
        o = order(where, status=Order.Status.DELIVERED if "delivered_at" in fields else Order.Status.SHIPPED, **fields)
        orders[label] = o
        if due:
            expected.add(o.customer_id)
    assert {v["customer"] for v in run(rule).values()} == expected

    # the SQL CASE and the pure rules give every order the same day of receipt
    overrides = matching.transit_overrides()
    for o in orders.values():
        merged = {**overrides.get(None, {}), **overrides.get(o.shop_id, {})}
        received = receipt.received_on(
            delivered=o.delivered_at.astimezone(SH).date() if o.delivered_at else None,
            shipped=o.shipped_at.astimezone(SH).date() if o.shipped_at else None,
            carrier=o.logistics_company,
            rules=receipt.transit_rules(merged),
            default=receipt.default_days(merged),
        )
        assert (received == date(2026, 5, 10) and o.confirmed_at is None) == (o.customer_id in expected)


def test_birthday_solar_lunar_and_29_february(shop):
    rule = make_rule("birthday", auto_extend=False)  # no end: it also runs in February 2027
    solar = CustomerFactory.create(name="阳历", birthday=date(1990, 5, 17))
    tomorrow = CustomerFactory.create(name="明天", birthday=date(1990, 5, 18))
    CustomerFactory.create(name="今天出生", birthday=date(2026, 5, 17))
    today_lunar = birthday.to_lunar(date(2026, 5, 17))
    born = LunarDate(1988, today_lunar.month, today_lunar.day).to_solar_date()
    lunar = CustomerFactory.create(name="农历", birthday=born, birthday_calendar="lunar")
    CustomerFactory.create(name="农历但日期是阳历今天", birthday=date(1990, 5, 17), birthday_calendar="lunar")
    order(shop, solar)

    found = run(rule)

    assert set(found) == {f"care:{rule.pk}:{solar.pk}:2026", f"care:{rule.pk}:{lunar.pk}:L{today_lunar.year}"}
    assert found[f"care:{rule.pk}:{solar.pk}:2026"]["context"] == {
        "name": "阳历",
        "shop": "小米家居",
        "date": "5月17日",
    }
    assert found[f"care:{rule.pk}:{solar.pk}:2026"]["deadline"] == datetime(2026, 5, 18, 0, 0, tzinfo=SH)

    leapling = CustomerFactory.create(birthday=date(2000, 2, 29))
    feb28 = datetime(2027, 2, 28, 10, 0, tzinfo=SH)
    assert f"care:{rule.pk}:{leapling.pk}:2027" in run(rule, feb28)
    ahead = make_rule("birthday", params={"days_ahead": 1})
    found_ahead = run(ahead)
    assert {v["customer"] for v in found_ahead.values()} == {tomorrow.pk}
    assert found_ahead[f"care:{ahead.pk}:{tomorrow.pk}:2026"]["context"]["date"] == "5月18日"


def test_birthday_in_english_templates_says_the_date_in_english():
    from huitouke.care.tests.factories import care_template

    rule = make_rule("birthday", template=care_template("birthday", language="en"))
    who = CustomerFactory.create(birthday=date(1990, 5, 17))
    assert run(rule)[f"care:{rule.pk}:{who.pk}:2026"]["context"]["date"] == "17 May"


def test_no_contact_counts_purchases_messages_notes_and_the_rules_own_messages(shop):
    rule = make_rule("no_contact", params={"days": 30})
    quiet = CustomerFactory.create(name="安静", last_order_at=AT - timedelta(days=40))
    CustomerFactory.create(last_order_at=AT - timedelta(days=10))
    noted = CustomerFactory.create(last_order_at=AT - timedelta(days=40))
    Note.objects.create(customer=noted, body="回访过")
    messaged = CustomerFactory.create(last_order_at=AT - timedelta(days=40))
    Message.objects.create(
        customer=messaged,
        channel="sms",
        purpose="care",
        body="hi",
        idempotency_key="other",
        status=Message.Status.SENT,
        scheduled_at=AT,
        next_attempt_at=AT,
        contacted_at=AT - timedelta(days=3),
    )
    merged = CustomerFactory.create(last_order_at=AT - timedelta(days=40))
    merged.merged_into = quiet
    merged.save()
    never_bought_old = CustomerFactory.create()
    type(never_bought_old).objects.filter(pk=never_bought_old.pk).update(created_at=AT - timedelta(days=90))
    CustomerFactory.create()  # created just now, never bought: not yet "a while"

    found = run(rule)
    assert {v["customer"] for v in found.values()} == {quiet.pk, never_bought_old.pk}
    assert f"care:{rule.pk}:{quiet.pk}:2026-05-17" in found


def test_dormant_once_per_spell(shop):
    rule = make_rule("dormant", params={"days": 180})
    asleep = CustomerFactory.create(last_order_at=sh(2025, 11, 18, 20))  # 180 shop days before 2026-05-17
    CustomerFactory.create(last_order_at=sh(2025, 11, 19, 1))  # 179 days
    ancient = CustomerFactory.create(last_order_at=sh(2020, 1, 1))
    found = run(rule)
    assert set(found) == {
        f"care:{rule.pk}:{asleep.pk}:since:2025-11-18",
        f"care:{rule.pk}:{ancient.pk}:since:2020-01-01",
    }
    assert found[f"care:{rule.pk}:{asleep.pk}:since:2025-11-18"]["context"]["date"] == "2025年11月18日"
    capped = make_rule("dormant", params={"days": 180, "max_days": 365})
    assert {v["customer"] for v in run(capped).values()} == {asleep.pk}


def test_level_up_only_real_rises_by_grading(shop):
    rule = make_rule("level_up")
    silver = Level.objects.create(shop=shop, rank=1, name="银卡")
    gold = Level.objects.create(shop=shop, rank=2, name="金卡")

    def change(customer, before, after, reason="regrade", hours_ago=2):
        row = LevelChange.objects.create(
            customer=customer,
            shop=shop,
            from_level=before,
            to_level=after,
            from_name=before.name if before else "",
            to_name=after.name if after else "",
            from_rank=before.rank if before else None,
            to_rank=after.rank if after else None,
            reason=reason,
        )
        LevelChange.objects.filter(pk=row.pk).update(created_at=AT - timedelta(hours=hours_ago))
        return row

    up = CustomerFactory.create()
    rise = change(up, silver, gold)
    joined = CustomerFactory.create()
    change(joined, None, silver)
    change(CustomerFactory.create(), gold, silver)  # down
    change(CustomerFactory.create(), silver, gold, reason="levels")  # the owner redefined the levels
    change(CustomerFactory.create(), silver, gold, hours_ago=30)  # before the lookback

    found = run(rule)
    assert list(found) == [f"care:{rule.pk}:{up.pk}:lc{rise.pk}"]
    assert found[f"care:{rule.pk}:{up.pk}:lc{rise.pk}"]["context"]["level"] == "金卡"
    with_joins = make_rule("level_up", params={"include_joins": True})
    assert {v["customer"] for v in run(with_joins).values()} == {up.pk, joined.pk}


def test_holiday_greets_everyone_on_the_day_or_days_before(shop):
    rule = make_rule("holiday", params={"holidays": ["spring_festival", "mid_autumn"]})
    recent = CustomerFactory.create(last_order_at=sh(2026, 1, 20))
    old = CustomerFactory.create(last_order_at=sh(2023, 1, 20))
    spring = datetime(2026, 2, 17, 9, 0, tzinfo=SH)
    found = run(rule, spring)
    assert set(found) == {f"care:{rule.pk}:{c.pk}:spring_festival:2026" for c in (recent, old)}
    assert found[f"care:{rule.pk}:{recent.pk}:spring_festival:2026"]["context"]["date"] == "春节"
    assert run(rule, AT) == {}
    early = make_rule("holiday", params={"holidays": ["spring_festival"], "days_before": 3, "bought_within_days": 365})
    assert {v["customer"] for v in run(early, datetime(2026, 2, 14, 9, 0, tzinfo=SH)).values()} == {recent.pk}


def test_replenishment_by_set_cycle_and_learned_median(shop):
    tea = ProductFactory.create(shop=shop, title="明前龙井")
    rice = ProductFactory.create(shop=shop, title="五常大米")
    rule = make_rule("replenishment", params={"lead_days": 3, "cycles": {str(tea.pk): 30}})

    def bought(customer, product, when):
        o = OrderFactory.create(shop=shop, customer=customer, ordered_at=when)
        OrderLineFactory.create(order=o, product=product, title=product.title)

    due = CustomerFactory.create(name="该补茶了")
    bought(due, tea, sh(2026, 4, 20, 22))  # 27 shop days before 2026-05-17 = 30 - 3
    rebought = CustomerFactory.create()
    bought(rebought, tea, sh(2026, 4, 20, 10))
    bought(rebought, tea, sh(2026, 5, 12, 10))
    bought(CustomerFactory.create(), tea, sh(2026, 4, 21, 10))  # one day short

    # rice: three customers who rebuy every 20 days teach a 20-day cycle; one of them is due today
    rice_buyers = [CustomerFactory.create() for _ in range(3)]
    for i, c in enumerate(rice_buyers):
        bought(c, rice, sh(2026, 3, 1 + i, 12))
        bought(c, rice, sh(2026, 3, 21 + i, 12))
    rice_due = rice_buyers[0]
    bought(rice_due, rice, sh(2026, 4, 30, 12))  # 17 days = 20 - 3 before today; its 3rd interval is 40

    found = run(rule)
    assert set(found) == {
        f"care:{rule.pk}:{due.pk}:p{tea.pk}:2026-04-20",
        f"care:{rule.pk}:{rice_due.pk}:p{rice.pk}:2026-04-30",
    }
    assert found[f"care:{rule.pk}:{due.pk}:p{tea.pk}:2026-04-20"]["context"]["product"] == "明前龙井"
    strict = make_rule("replenishment", params={"lead_days": 3, "min_samples": 5})
    assert run(strict) == {}


def test_new_product_to_the_opt_in_group_once_per_product(shop):
    lamp = ProductFactory.create(shop=shop, title="月光台灯")
    vase = ProductFactory.create(shop=shop, title="青瓷花瓶")
    rule = make_rule("new_product", params={"products": [lamp.pk, vase.pk]})
    fan = CustomerFactory.create()
    Consent.objects.create(customer=fan, channel="sms", purpose="new_products", granted=True)
    no = CustomerFactory.create()
    Consent.objects.create(customer=no, channel="sms", purpose="new_products", granted=False)
    CustomerFactory.create()
    assert set(run(rule)) == {f"care:{rule.pk}:{fan.pk}:p{lamp.pk}", f"care:{rule.pk}:{fan.pk}:p{vase.pk}"}
    everyone = make_rule("new_product", params={"products": [lamp.pk], "opt_in_only": False})
    assert len(run(everyone)) == 3


def test_the_audience_narrows_by_levels_tags_and_segment(shop):
    gold = Level.objects.create(shop=shop, rank=1, name="金卡")
    vip_tag = Tag.objects.create(name="vip")
    a, b, c = (
        CustomerFactory.create(last_order_at=AT - timedelta(days=40), province=p) for p in ("浙江", "浙江", "广东")
    )
    Membership.objects.create(customer=a, shop=shop, level=gold)
    Membership.objects.create(customer=b, shop=shop, level=gold)
    CustomerTag.objects.create(customer=a, tag=vip_tag)
    CustomerTag.objects.create(customer=c, tag=vip_tag)
    segment = Segment.objects.create(
        name="浙江", definition={"op": "and", "conditions": [{"field": "region", "provinces": ["浙江"]}]}
    )
    by_level = make_rule("no_contact", levels=["金卡"])
    by_tag = make_rule("no_contact", tags=["vip"])
    by_all = make_rule("no_contact", levels=["金卡"], tags=["vip"], segment_id=segment.pk)
    by_segment = make_rule("no_contact", segment_id=segment.pk)
    assert {v["customer"] for v in run(by_level).values()} == {a.pk, b.pk}
    assert {v["customer"] for v in run(by_tag).values()} == {a.pk, c.pk}
    assert {v["customer"] for v in run(by_all).values()} == {a.pk}
    assert {v["customer"] for v in run(by_segment).values()} == {a.pk, b.pk}


def test_customer_messages_take_the_shop_of_their_latest_order_when_there_are_several(shop):
    other = ShopFactory.create(name="二店")
    rule = make_rule("dormant", params={"days": 30})
    c = CustomerFactory.create(last_order_at=sh(2026, 1, 2))
    OrderFactory.create(shop=shop, customer=c, ordered_at=sh(2025, 12, 1))
    OrderFactory.create(shop=other, customer=c, ordered_at=sh(2026, 1, 2))
    (found,) = run(rule).values()
    assert (found["shop"], found["context"]["shop"]) == (other.pk, "二店")
    pinned = make_rule("dormant", params={"days": 30}, shop_id=shop.pk)
    (found,) = run(pinned).values()
    assert found["shop"] == shop.pk


def test_order_rules_of_one_shop_ignore_other_shops(shop):
    other = ShopFactory.create(name="二店")
    rule = make_rule("shipped", shop_id=shop.pk, send_time=time(9, 0))
    mine = order(shop, status=Order.Status.SHIPPED, shipped_at=AT - timedelta(hours=1))
    order(other, status=Order.Status.SHIPPED, shipped_at=AT - timedelta(hours=1))
    assert {v["customer"] for v in run(rule).values()} == {mine.customer_id}


def test_learned_cycles_are_kept_and_relearned_when_stale(shop):
    from huitouke.care.models import ProductCycle
    from huitouke.care.selectors import product_cycles

    rice = ProductFactory.create(shop=shop, title="大米")

    def rebuy(gap_days: int, first: datetime) -> None:
        c = CustomerFactory.create()
        for when in (first, first + timedelta(days=gap_days)):
            o = OrderFactory.create(shop=shop, customer=c, ordered_at=when)
            OrderLineFactory.create(order=o, product=rice, title="大米")

    for i in range(3):
        rebuy(20, sh(2026, 3, 1 + i))
    assert product_cycles(products=None, overrides={}, min_samples=3, now=AT) == {rice.pk: 20}
    assert ProductCycle.objects.get().intervals == 3
    for i in range(4):
        rebuy(40, sh(2026, 2, 1 + i))
    # kept for the day: the new purchases count once the cycles are relearned (nightly, or when stale)
    assert product_cycles(products=None, overrides={}, min_samples=3, now=AT + timedelta(hours=12)) == {rice.pk: 20}
    assert product_cycles(products=None, overrides={}, min_samples=3, now=AT + timedelta(days=2)) == {rice.pk: 40}
    assert product_cycles(products=[rice.pk], overrides={rice.pk: 9}, min_samples=3, now=AT) == {rice.pk: 9}
    assert product_cycles(products=None, overrides={}, min_samples=8, now=AT + timedelta(days=2)) == {}
