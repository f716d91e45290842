"""The stored credit ledger against the pure rules module: a full recomputation (set-based on PostgreSQL for the
buyers whose ratings cannot interact) and the per-buyer refresh after a write give every review exactly what
`credit_ledger` over all the shop's ratings gives it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from huitouke.customers.tests.factories import CustomerFactory
from huitouke.orders.models import Order, Shop
from huitouke.orders.tests.factories import OrderFactory
from huitouke.reviews.credit import credit_ledger
from huitouke.reviews.crediting import credit_recompute, credit_refresh, review_facts, rules_of, summary_of
from huitouke.reviews.models import Review, ReviewCredit
from huitouke.reviews.selectors import credit_settings_get
from huitouke.reviews.services import credit_settings_set

pytestmark = pytest.mark.django_db

AT = datetime(2026, 12, 1, tzinfo=UTC)
SH = ZoneInfo("Asia/Shanghai")
STATUSES = [Order.Status.COMPLETED] * 8 + [Order.Status.CLOSED, Order.Status.SHIPPED]


def _random_shop(seed: int) -> None:
    """30 buyers: most with one or two ratings (the SQL part), some with bursts of one item, more than six
    ratings in a month, the shop's ratings (defaults), imported defaults, late ratings and unfinished trades."""
    rnd = random.Random(seed)
    shop = Shop.objects.create(name=f"随机店{seed}", platform="taobao", timezone="Asia/Shanghai")
    reviews = []
    n = 0
    for b in range(30):
        customer: Any = CustomerFactory(name=f"buyer{seed}-{b}")
        burst = b % 5 == 0
        for _k in range(rnd.choice([1, 1, 2, 3]) if not burst else rnd.randint(10, 16)):
            n += 1
            # bursts land in one month (cap, same item); others spread over a year; some at local midnight edges
            if burst:
                start = datetime(2025, 5, 31, 12, 0, tzinfo=UTC) + timedelta(hours=rnd.randint(0, 24 * 28))
            else:
                start = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=rnd.randint(0, 24 * 365))
            status = Order.Status.COMPLETED if burst and rnd.random() < 0.8 else rnd.choice(STATUSES)
            confirmed = start + timedelta(days=rnd.randint(1, 12)) if status == Order.Status.COMPLETED else None
            order: Any = OrderFactory(
                shop=shop,
                order_no=f"R{seed}-{n}",
                customer=customer,
                status=status,
                ordered_at=start,
                paid_at=start if status != Order.Status.CLOSED else None,
                confirmed_at=confirmed,
            )
            item = (
                rnd.choice(["I1", "I2", "I5", "I6", "I7", "I8", "I9", ""])
                if burst
                else rnd.choice(["I1", "I2", "I3", "I4", ""])
            )
            roles = rnd.choice([("buyer",), ("buyer",), ("buyer", "seller"), ("seller",)])
            for role in roles:
                late = rnd.random() < 0.1
                rated = (confirmed or start) + timedelta(days=rnd.choice([400, 20]) if late else rnd.randint(0, 14))
                if rated > AT:
                    rated = AT - timedelta(days=1)
                reviews.append(
                    Review(
                        shop=shop,
                        order=order,
                        customer=customer,
                        role=role,
                        result=rnd.choice(["good"] * (12 if burst else 3) + ["neutral", "bad"]),
                        created_at=rated,
                        is_default=role == "buyer" and rnd.random() < 0.05,
                        tid=order.order_no,
                        num_iid=item,
                        item_title="围巾" if not item and rnd.random() < 0.5 else "",
                    )
                )
    Review.objects.bulk_create(reviews)


def _expected(shop_name: str) -> tuple[dict[int, tuple[bool, str, int]], dict[str, object]]:
    shop = Shop.objects.get(name=shop_name)
    rules = rules_of(credit_settings_get(shop=shop))
    ledger = credit_ledger(rules, review_facts(shop=shop, at=AT), tz=ZoneInfo(shop.timezone), at=AT)
    per = {int(e.id): (e.scores, e.reason or "", e.points) for e in ledger.entries if not e.generated}
    return per, summary_of(ledger)


def _stored(shop_name: str) -> dict[int, tuple[bool | None, str, int]]:
    rows = Review.objects.filter(shop__name=shop_name).values_list(
        "pk", "credit__scores", "credit__reason", "credit__points"
    )
    return {pk: (scores, reason, points) for pk, scores, reason, points in rows}


@pytest.mark.parametrize("preset", ["course", "taobao"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_full_recompute_stores_what_the_rules_give(seed, preset):
    _random_shop(seed)
    name = f"随机店{seed}"
    shop = Shop.objects.get(name=name)
    numbers = {"course": (345, 45), "taobao": (15, 15)}[preset]
    credit_settings_set(
        shop=shop,
        preset=preset,
        rating_period_days=numbers[0],
        default_good_after_days=numbers[1],
        monthly_cap=6,
        same_item_days=14,
    )
    ReviewCredit.objects.filter(review__shop=shop).delete()  # never computed
    per, summary = _expected(name)
    pure = credit_ledger(rules_of(credit_settings_get(shop=shop)), review_facts(shop=shop, at=AT), tz=SH, at=AT)
    assert len(per) > 60
    assert {r for _s, r, _p in per.values()} >= {"", "rates_buyer", "not_paid_or_not_successful"}
    totals = credit_recompute(shop=shop, at=AT)
    assert summary_of(totals) == summary
    assert totals.history == pure.history("month")
    assert _stored(name) == per
    assert totals.written == len(per)
    again = credit_recompute(shop=shop, at=AT)
    assert (summary_of(again), again.written) == (summary, 0)  # nothing changed: nothing written


def test_the_random_shops_hit_every_rule_that_makes_buyers_interact():
    reasons: set[str] = set()
    for seed in (1, 2, 3):
        _random_shop(seed)
        per, _summary = _expected(f"随机店{seed}")
        reasons |= {r for _s, r, _p in per.values()}
    assert {"monthly_cap", "same_item_14_days", "outside_rating_period", "rates_buyer"} <= reasons


@pytest.mark.parametrize("set_based_from", [500, 1], ids=["rules-module", "set-based-on-postgresql"])
def test_refresh_of_some_buyers_matches_a_full_recomputation(set_based_from, monkeypatch):
    monkeypatch.setattr("huitouke.reviews.crediting.SET_BASED_FROM", set_based_from)  # 1: SQL on PostgreSQL
    _random_shop(5)
    shop = Shop.objects.get(name="随机店5")
    credit_recompute(shop=shop, at=AT)
    burst_buyer = Review.objects.filter(shop=shop, customer__name="buyer5-0").first()
    assert burst_buyer is not None
    others = Review.objects.filter(shop=shop).exclude(customer=burst_buyer.customer).values_list("customer_id")
    buyers = [burst_buyer.customer_id, *sorted({c for (c,) in others})[:7]]
    # the buyers' ratings change behind the ledger's back: the refresh of those buyers alone puts it right
    Review.objects.filter(shop=shop, customer_id__in=buyers).update(result="bad")
    ReviewCredit.objects.filter(review__customer_id__in=buyers).update(points=0)
    before = _stored("随机店5")
    written = credit_refresh(shop=shop, customer_ids=buyers, at=AT)
    per, _summary = _expected("随机店5")
    assert written == sum(1 for pk, row in per.items() if before[pk] != row) > 0
    assert _stored("随机店5") == per


def _order_review(
    shop: Shop, customer: Any, no: str, ordered: datetime, rated: datetime, item: str, result: str = "good"
) -> Review:
    order: Any = OrderFactory(
        shop=shop, order_no=no, customer=customer, ordered_at=ordered, paid_at=ordered, confirmed_at=ordered
    )
    return Review.objects.create(
        shop=shop, order=order, customer=customer, role="buyer", result=result, created_at=rated, tid=no, num_iid=item
    )


def test_boundaries_in_the_shops_time_zone_decide_who_goes_through_sql():
    """Hand-computed: the period's end instant is inside, a microsecond later is outside; two trades of one item
    13 local days apart merge even though their UTC dates are 14 apart; seven 好评 of one local month hit the cap
    even though the first one's UTC month is the month before."""
    shop = Shop.objects.create(name="边界店", platform="taobao", timezone="Asia/Shanghai")
    t0 = datetime(2025, 3, 1, 4, 0, tzinfo=UTC)
    edge = _order_review(shop, CustomerFactory(), "E1", t0, t0 + timedelta(days=345), "A")
    past = _order_review(shop, CustomerFactory(), "E2", t0, t0 + timedelta(days=345, microseconds=1), "A")
    pair = CustomerFactory()
    first = _order_review(
        shop, pair, "S1", datetime(2025, 7, 31, 23, 0, tzinfo=UTC), datetime(2025, 8, 20, tzinfo=UTC), "B"
    )
    second = _order_review(
        shop, pair, "S2", datetime(2025, 8, 14, 1, 0, tzinfo=UTC), datetime(2025, 8, 20, tzinfo=UTC), "B"
    )
    capped = CustomerFactory()
    month = [
        _order_review(
            shop,
            capped,
            f"M{i}",
            datetime(2025, 9, 30, 21, 0, tzinfo=UTC) + timedelta(days=i),
            datetime(2025, 10, 20, tzinfo=UTC),
            f"C{i}",
        )
        for i in range(7)
    ]
    totals = credit_recompute(shop=shop, at=AT)
    got = _stored("边界店")
    assert got[edge.pk] == (True, "", 1)
    assert got[past.pk] == (False, "outside_rating_period", 0)
    assert got[first.pk] == (True, "", 1)
    assert got[second.pk] == (False, "same_item_14_days", 0)
    assert [got[r.pk] for r in month] == [(True, "", 1)] * 6 + [(False, "monthly_cap", 0)]
    assert summary_of(totals) == {
        "preset": "course",
        "score": 8,
        "level": {"index": 1, "name": "1心"},
        "next_level_at": 11,
        "reviews": 11,
        "scored": 8,
        "not_scored": {"monthly_cap": 1, "outside_rating_period": 1, "same_item_14_days": 1},
    }
    per, summary = _expected("边界店")
    assert (got, summary) == (per, summary_of(totals))


def test_a_tmall_shop_has_no_credit_points():
    _random_shop(4)
    shop = Shop.objects.get(name="随机店4")
    credit_settings_set(
        shop=shop,
        preset="taobao",
        rating_period_days=15,
        default_good_after_days=15,
        monthly_cap=6,
        same_item_days=14,
        tmall=True,
    )
    per, summary = _expected("随机店4")
    assert {r for _s, r, _p in per.values()} == {"tmall_no_credit", "rates_buyer"}
    assert (summary["score"], summary["scored"], summary["not_scored"]) == (
        0,
        0,
        {"tmall_no_credit": summary["reviews"]},
    )
    totals = credit_recompute(shop=shop, at=AT)
    assert summary_of(totals) == summary
    assert _stored("随机店4") == per


def test_the_nightly_recompute_stores_a_default_that_came_due(review_clock):
    from io import StringIO

    from django.core.management import call_command

    from huitouke.reviews.tasks import credit_recompute_all
    from huitouke.reviews.tests.fixtures import GOLDEN, golden_archive

    _shop, orders = golden_archive()
    call_command("import_reviews", str(GOLDEN / "traderate_gb18030.csv"), stdout=StringIO())
    assert credit_recompute_all() == {"店A": 0}  # the import already stored everything
    # carol's order: only the shop rated (2025-06-22 12:00 +08:00); the platform's default 好评 of it is dated
    # 45 days later, after now: not known yet, so not stored
    default = Review.objects.create(
        shop=orders[2].shop,
        order=orders[2],
        customer=orders[2].customer,
        role="buyer",
        result="good",
        is_default=True,
        created_at=datetime(2025, 8, 6, 4, 0, tzinfo=UTC),
        tid=orders[2].order_no,
    )
    assert credit_recompute_all() == {"店A": 0}
    default.refresh_from_db()
    assert default.scores is None
    review_clock.move_to("2025-08-07 00:00:00+00:00")
    assert credit_recompute_all() == {"店A": 1}
    default.refresh_from_db()
    assert (default.scores, default.not_scored_reason, default.points) == (True, "", 1)
    shop = Shop.objects.get(name="店A")
    assert credit_recompute(shop=shop).score == 1  # alice +1, bob −1, dan 0, carol's default +1


@pytest.mark.parametrize("result", ["good", "bad"])
def test_what_if_from_the_buyers_ratings_equals_the_whole_shop_through_the_rules(result):
    from huitouke.reviews.credit import ReviewFact, what_if
    from huitouke.reviews.crediting import credit_what_if

    _random_shop(2)
    shop = Shop.objects.get(name="随机店2")
    rules = rules_of(credit_settings_get(shop=shop))
    orders = list(Order.objects.filter(shop=shop).order_by("pk"))[::7]
    assert len(orders) > 5
    for order in orders:
        got = credit_what_if(shop=shop, order_no=order.order_no, result=result, at=AT)
        facts = [
            f
            for f in review_facts(shop=shop, at=AT)
            if not (f.role == "buyer" and f.line_key.startswith(f"{order.order_no}/"))
        ]
        successful = order.status == Order.Status.COMPLETED
        new = ReviewFact(
            id="what-if",
            line_key=f"{order.order_no}/",
            role="buyer",
            result=result,
            created_at=AT,
            trade_created_at=order.ordered_at,
            trade_success_at=(order.confirmed_at or order.ordered_at) if successful else None,
            paid=order.paid_at is not None or order.status in Order.COUNTED,
            successful=successful,
            buyer=str(order.customer_id),
            seller=str(shop.pk),
            item=order.order_no,
        )
        assert got == what_if(rules, facts, new, tz=SH, at=AT)
