"""A small, deterministic tea shop for the analytics pages (browser test and screenshots): customers in several
provinces buying tea, snacks and teaware from a BG/NBD-like process over two years, member levels, a few refunds,
and two weekly refreshes so that the dashboard has movements."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
from freezegun import freeze_time

from huitouke.analytics.rollups import rollups_rebuild
from huitouke.analytics.services import scores_refresh
from huitouke.customers.models import Customer
from huitouke.loyalty.services import LevelSpec, levels_regrade, levels_set
from huitouke.orders.models import Order, OrderLine, Product, Shop
from huitouke.orders.services import customer_stats_refresh

PROVINCES = ["浙江省", "江苏省", "上海市", "广东省", "北京市", "四川省"]
PRODUCTS = [
    ("T1", "西湖龙井 250g", "茶叶", "168.00"),
    ("T2", "安溪铁观音 500g", "茶叶", "128.00"),
    ("T3", "云南普洱 357g", "茶叶", "218.00"),
    ("S1", "桂花糕 礼盒", "零食", "39.90"),
    ("S2", "手剥山核桃", "零食", "59.00"),
    ("W1", "青瓷盖碗", "茶具", "99.00"),
    ("W2", "竹制茶盘", "茶具", "268.00"),  # rarely sold
]


def build(*, customers: int = 120, seed: int = 7, today: date) -> Shop:
    rng = np.random.default_rng(seed)
    shop = Shop.objects.create(name="山岚茶食", platform="taobao")
    products = [
        Product.objects.create(shop=shop, external_id=code, title=title, category=cat, price=Decimal(price))
        for code, title, cat, price in PRODUCTS
    ]
    weights = np.array([0.25, 0.2, 0.12, 0.18, 0.15, 0.09, 0.01])
    people = Customer.objects.bulk_create(
        [Customer(name=f"茶友{i:03d}", province=PROVINCES[i % len(PROVINCES)]) for i in range(customers)]
    )
    orders, lines = [], []
    span = 730
    for c in people:
        rate, drop, basket = rng.gamma(1.2, 1 / 70), rng.beta(1.5, 4), rng.gamma(2.0, 0.6)
        t = float(rng.uniform(0, span - 1))
        days = [t]
        while True:
            t += rng.exponential(1 / rate)
            if t >= span:
                break
            days.append(t)
            if rng.random() < drop:
                break
        for k, d in enumerate(days):
            when = datetime.combine(today - timedelta(days=span - 1 - int(d)), datetime.min.time(), tzinfo=UTC)
            when += timedelta(hours=int(rng.integers(0, 14)))  # 08:00-21:00 in Shanghai
            picks = rng.choice(len(products), size=int(rng.integers(1, 3)), replace=False, p=weights)
            qty = [1 + int(rng.poisson(basket)) for _ in picks]  # some customers buy in bulk
            amount = sum((products[i].price * q for i, q in zip(picks, qty, strict=True)), Decimal(0))
            status = Order.Status.COMPLETED if rng.random() > 0.06 else Order.Status.REFUNDED
            order = Order(
                shop=shop,
                customer=c,
                order_no=f"{c.pk:05d}{k:03d}",
                status=status,
                goods_amount=amount,
                total_amount=amount,
                paid_amount=amount,
                refund_amount=amount if status == Order.Status.REFUNDED else Decimal(0),
                ordered_at=when,
            )
            orders.append(order)
            lines.append([(products[i], q) for i, q in zip(picks, qty, strict=True)])
    Order.objects.bulk_create(orders)
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=o, line_no=n + 1, product=p, title=p.title, quantity=q, unit_price=p.price, amount=p.price * q
            )
            for o, items in zip(orders, lines, strict=True)
            for n, (p, q) in enumerate(items)
        ]
    )
    customer_stats_refresh()
    rollups_rebuild()
    levels_set(
        shop=shop,
        specs=[
            LevelSpec("普通会员", Decimal("0.01"), 1, 100),
            LevelSpec("高级会员", Decimal("500"), 3, 98),
            LevelSpec("VIP会员", Decimal("1500"), 6, 95),
        ],
    )
    levels_regrade()
    return shop


def refresh_two_weeks(today: date) -> None:
    """Score a week ago and today (freezegun), so that the dashboard lists movements."""
    for when in (today - timedelta(days=7), today):
        with freeze_time(datetime.combine(when, datetime.min.time(), tzinfo=UTC) + timedelta(hours=4)):
            scores_refresh()
