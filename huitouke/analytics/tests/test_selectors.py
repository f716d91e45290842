"""Every figure of the dashboard and the analysis pages against a small shop computed by hand.

The shop (conftest.py `shop`; business time zone Asia/Shanghai, today 2025-06-18):

| customer | orders (local time)                                   | counted value | first order |
|----------|-------------------------------------------------------|---------------|-------------|
| A 上海   | 2025-04-10 ¥200 (P1 ×1 ¥100, P2 ×1 ¥100); 06-02 ¥100 (P1 ×2) | 300    | 2025-04     |
| B 上海   | 2025-06-05 ¥50 (P2 ×1)                                | 50            | 2025-06     |
| C 浙江   | 2024-12-20 ¥300 (P1 ×3); 2025-01-15 ¥100 − ¥40 refund (P1 ×1, line refunded) | 360 | 2024-12 |
| G 江苏   | 2025-06-01 00:30 (= 05-31 16:30 UTC) ¥10 (P2 ×1)       | 10            | 2025-06     |
| D        | 2025-06-10 ¥80, closed: not a purchase                | —             | —           |
| E        | no order                                              | —             | —           |
| F        | merged into A: not in any count                       | —             | —           |

P3 is in the catalogue but never sold.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from huitouke.analytics import selectors
from huitouke.analytics.rollups import rollups_update
from huitouke.analytics.tests.conftest import TODAY, local
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.orders.services import customer_stats_refresh
from huitouke.orders.tests.factories import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db


def test_customer_figures(shop):
    figures = selectors.customer_figures(today=TODAY)
    assert figures.month == date(2025, 6, 1)
    assert figures.total == 6  # A B C G D E; F was merged
    assert figures.buyers == 4  # A B C G
    assert figures.new == 2  # B, and G whose 00:30 order is on 1 June in Shanghai
    assert figures.returning == 1  # A: bought in June, first bought in April
    assert figures.repeat_buyers == 2  # A and C
    assert figures.repeat_rate == 0.5


def test_sales_by_month(shop):
    months = selectors.sales_by_month(months=12, today=TODAY)
    assert [m.month for m in months][:2] == [date(2024, 7, 1), date(2024, 8, 1)]
    assert months[-1].month == date(2025, 6, 1)
    by_month = {m.month: (m.orders, m.revenue, m.buyers, m.aov) for m in months if m.orders}
    assert by_month == {
        date(2024, 12, 1): (1, Decimal("300.00"), 1, Decimal("300.00")),
        date(2025, 1, 1): (1, Decimal("60.00"), 1, Decimal("60.00")),
        date(2025, 4, 1): (1, Decimal("200.00"), 1, Decimal("200.00")),
        date(2025, 6, 1): (3, Decimal("160.00"), 3, Decimal("53.33")),
    }
    assert months[0].aov is None


def test_product_sales_and_board(shop):
    sales = {p.title: p for p in selectors.product_sales(days=30, today=TODAY)}
    assert set(sales) == {"龙井", "桂花糕", "茶盘"}
    # the window is 20 May – 18 June: A's June order (P1 ×2), B's and G's (P2 ×1 each)
    assert (sales["龙井"].units, sales["龙井"].revenue, sales["龙井"].orders) == (2, Decimal("100.00"), 1)
    assert (sales["桂花糕"].units, sales["桂花糕"].revenue, sales["桂花糕"].orders) == (2, Decimal("60.00"), 2)
    assert sales["桂花糕"].previous_units == 0
    assert sales["桂花糕"].growth is None
    assert sales["茶盘"].units == 0
    assert sales["茶盘"].last_sold is None
    assert sales["龙井"].last_sold == local(2025, 6, 2)
    assert sales["龙井"].velocity(30) == pytest.approx(2 / 30)

    board = selectors.product_board(days=30, stale_days=60, today=TODAY)
    assert [p.title for p in board.by_units] == ["龙井", "桂花糕"]  # 2 units each; more revenue first
    assert [p.title for p in board.by_revenue] == ["龙井", "桂花糕"]
    assert board.growing == []  # nothing sold in the 30 days before
    assert [p.title for p in board.stale] == ["茶盘"]
    assert [p.title for p in board.slowest] == ["桂花糕"]  # the lower half of the two sellers


def test_product_board_growth_over_the_previous_window(shop):
    # five more P2 units in the window and two the window before: growth (7 − 2) / 2
    for day in (1, 3, 5, 7, 9):
        o = OrderFactory.create(customer=shop["b"], ordered_at=local(2025, 6, day, 12), paid_amount=Decimal(10))
        OrderLineFactory.create(order=o, product=shop["p2"], quantity=1, amount=Decimal(10))
    for day in (5, 6):
        o = OrderFactory.create(customer=shop["b"], ordered_at=local(2025, 5, day, 12), paid_amount=Decimal(10))
        OrderLineFactory.create(order=o, product=shop["p2"], quantity=1, amount=Decimal(10))
    rollups_update(customer_ids=[shop["b"].pk])  # what every order writer does after writing
    board = selectors.product_board(days=30, today=TODAY)
    assert [(p.title, p.units, p.previous_units) for p in board.growing] == [("桂花糕", 7, 2)]
    assert board.growing[0].growth == 2.5


def test_repurchase_cycles(shop):
    cycles = selectors.product_repurchase_cycles()
    p1, p2 = shop["p1"].pk, shop["p2"].pk
    assert set(cycles) == {p1, p2}
    # P1: A on 10 April and 2 June (53 days); C once (the January line was refunded)
    assert (cycles[p1].buyers, cycles[p1].repeat_buyers, cycles[p1].median_interval_days) == (2, 1, 53.0)
    assert cycles[p1].repurchase_rate == 0.5
    assert (cycles[p2].buyers, cycles[p2].repeat_buyers, cycles[p2].median_interval_days) == (3, 0, None)
    assert selectors.product_repurchase_cycles(product_ids=[p2]).keys() == {p2}
    assert selectors.product_repurchase_cycles(product_ids=[]) == {}
    assert selectors.product_repurchase_cycles(since=date(2025, 5, 1))[p1].buyers == 1


def test_repurchase_median_of_several_intervals(shop):
    # B buys P1 on 1, 11 and 15 June (10 and 4 days), A's 53 days: median of (53, 10, 4) = 10
    for day in (1, 11, 15):
        o = OrderFactory.create(customer=shop["b"], ordered_at=local(2025, 6, day), paid_amount=Decimal(10))
        OrderLineFactory.create(order=o, product=shop["p1"], quantity=1, amount=Decimal(10))
    # a second purchase the same day is the same purchase day
    o = OrderFactory.create(customer=shop["b"], ordered_at=local(2025, 6, 15, 20), paid_amount=Decimal(10))
    OrderLineFactory.create(order=o, product=shop["p1"], quantity=1, amount=Decimal(10))
    cycle = selectors.product_repurchase_cycles(product_ids=[shop["p1"].pk])[shop["p1"].pk]
    assert (cycle.buyers, cycle.repeat_buyers, cycle.intervals, cycle.median_interval_days) == (3, 2, 3, 10.0)


def test_product_quality_refund_share(shop):
    items = {q.title: q for q in selectors.product_quality()}
    assert (items["龙井"].units_sold, items["龙井"].units_refunded) == (7, 1)
    assert items["龙井"].refund_share == pytest.approx(1 / 7)
    assert (items["桂花糕"].units_sold, items["桂花糕"].refund_share) == (3, 0)
    assert "茶盘" not in items


def test_customer_groups(shop):
    groups = selectors.customer_groups()
    # four buyers: the top 20 % is one customer, C (¥360)
    assert (groups.buyers, groups.top_customers, groups.rest_customers) == (4, 1, 3)
    assert (groups.top_revenue, groups.rest_revenue) == (Decimal("360.00"), Decimal("360.00"))
    assert (groups.top_orders, groups.rest_orders) == (2, 4)
    assert groups.top_revenue_share == 0.5
    assert groups.aov(True) == Decimal("180.00")
    assert groups.aov(False) == Decimal("90.00")
    assert groups.orders_per_customer(False) == pytest.approx(4 / 3)
    dims = {d.key: {r.value: (r.top, r.rest) for r in d.rows} for d in groups.dimensions}
    assert dims["province"] == {"浙江省": (1, 0), "上海市": (0, 2), "江苏省": (0, 1)}
    assert dims["level"] == {"": (1, 3)}  # no levels defined
    # average order: C 180, A 150, B 50, G 10
    assert dims["price_band"] == {"<50": (0, 1), "<100": (0, 1), "<200": (1, 1), "<500": (0, 0), ">=500": (0, 0)}
    assert dims["hour"]["10"] == (2, 3)  # every order at 10:00 local but G's at 00:30
    assert dims["hour"]["0"] == (0, 1)
    assert sum(dims["weekday"][str(d)][0] for d in range(1, 8)) == 2
    # categories by revenue of lines not refunded: C's P1 ¥300 (the ¥100 line was refunded)
    assert dims["category"] == {"茶叶": (300, 200), "零食": (0, 160)}
    province = next(d for d in groups.dimensions if d.key == "province")
    shanghai = next(r for r in province.rows if r.value == "上海市")
    assert (shanghai.top_share, shanghai.rest_share) == (0.0, pytest.approx(2 / 3))
    zhejiang = next(r for r in province.rows if r.value == "浙江省")
    assert zhejiang.index is None  # nobody among the rest: no ratio


def test_top_group_breaks_ties_by_id(shop):
    # a fifth buyer spending exactly C's ¥360: two buyers of five → the top 20 % is one, the lower id
    twin = CustomerFactory.create(name="twin")
    OrderFactory.create(customer=twin, paid_amount=Decimal(360), ordered_at=local(2025, 3, 1))
    customer_stats_refresh()
    n, condition = selectors.top_threshold()
    from huitouke.customers.models import Customer

    assert n == 1
    assert list(Customer.objects.filter(condition).values_list("name", flat=True)) == ["C"]


def test_cohorts(shop):
    items = {c.month: c for c in selectors.cohorts(months=12, today=TODAY)}
    assert len(items) == 12
    december, april, june = items[date(2024, 12, 1)], items[date(2025, 4, 1)], items[date(2025, 6, 1)]
    assert (december.customers, december.active[:3], december.retention()[:3]) == (1, [1, 1, 0], [1.0, 1.0, 0.0])
    assert december.revenue[:2] == [Decimal("300.00"), Decimal("60.00")]
    assert len(december.active) == 7  # December to June
    assert (april.customers, april.active, april.retention()) == (1, [1, 0, 1], [1.0, 0.0, 1.0])
    assert april.total_revenue == Decimal("300.00")
    assert (june.customers, june.active, june.revenue) == (2, [2], [Decimal("60.00")])
    assert june.revenue_per_customer == Decimal("30.00")
    empty = items[date(2025, 2, 1)]
    assert (empty.customers, empty.retention()[0]) == (0, None)


def test_replenishment_due_one_cycle_after_the_last_purchase(shop):
    # P1's cycle is 53 days (A: 10 April → 2 June); A last bought it on 2 June, C on 20 December
    due = selectors.replenishment_due(day=date(2025, 7, 25), min_intervals=1)
    assert [(d.customer_id, d.product_id, d.last_bought, d.cycle_days) for d in due] == [
        (shop["a"].pk, shop["p1"].pk, date(2025, 6, 2), 53)
    ]
    assert [d.customer_id for d in selectors.replenishment_due(day=date(2025, 2, 11), min_intervals=1)] == [
        shop["c"].pk
    ]
    assert selectors.replenishment_due(day=date(2025, 7, 26), min_intervals=1) == []
    # one observed repurchase is too little to act on by default; P2 has none at all
    assert selectors.replenishment_due(day=date(2025, 7, 25)) == []
    assert selectors.replenishment_due(day=date(2025, 7, 25), product_ids=[shop["p2"].pk], min_intervals=1) == []
