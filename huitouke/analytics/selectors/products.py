"""Product sales, the hot/slow board, repurchase cycles, replenishment due and product quality."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import (
    Max,
    Q,
    Sum,
)
from django.utils import timezone

from huitouke.analytics.models import ProductDay
from huitouke.analytics.selectors.common import (
    _local_midnight,
    _money,
    _share,
    fetch_int_rows,
    local_day_sql,
)
from huitouke.orders.models import Order, OrderLine, Product

# --- products --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductSales:
    """One product's sales in a window: units and revenue of the lines not refunded in counted orders, orders,
    the previous window's units and revenue (for growth) and the last sale ever."""

    product_id: int
    title: str
    category: str
    units: int
    revenue: Decimal
    orders: int
    previous_units: int
    previous_revenue: Decimal
    last_sold: datetime | None

    @property
    def growth(self) -> float | None:
        """Units growth against the previous window of the same length (None when nothing sold then)."""
        return (self.units - self.previous_units) / self.previous_units if self.previous_units else None

    def velocity(self, days: int) -> float:
        """Units per day over the window."""
        return self.units / days if days else 0.0


def product_sales(*, days: int = 30, today: date | None = None) -> list[ProductSales]:
    """Every product in the catalogue with its sales over the last `days` days (up to today) and the `days`
    before them, from the daily product rollup. Products that never sold are included (with zeros): they are
    the slowest movers."""
    day = today or timezone.localdate()
    start = day - timedelta(days=days - 1)
    previous = start - timedelta(days=days)
    window = Q(day__gte=start)
    rows = (
        ProductDay.objects.filter(day__gte=previous, day__lte=day)
        .values("product_id")
        .annotate(
            w_units=Sum("units", filter=window),
            w_revenue=Sum("revenue", filter=window),
            w_orders=Sum("orders", filter=window),
            p_units=Sum("units", filter=~window),
            p_revenue=Sum("revenue", filter=~window),
        )
        .order_by()
    )
    stats: dict[int, dict[str, Any]] = {r["product_id"]: dict(r) for r in rows}
    last = dict(
        ProductDay.objects.values("product_id").annotate(at=Max("last_at")).order_by().values_list("product_id", "at")
    )
    out = []
    for pid, title, category in Product.objects.values_list("id", "title", "category").order_by("title", "id"):
        r: dict[str, Any] = stats.get(pid, {})
        out.append(
            ProductSales(
                product_id=pid,
                title=title,
                category=category,
                units=int(r.get("w_units") or 0),
                revenue=_money(r.get("w_revenue")),
                orders=int(r.get("w_orders") or 0),
                previous_units=int(r.get("p_units") or 0),
                previous_revenue=_money(r.get("p_revenue")),
                last_sold=last.get(pid),
            )
        )
    return out


@dataclass(frozen=True)
class ProductBoard:
    """The products page: hot by units and by revenue, fastest growing, not sold for `stale_days`, slowest
    sellers by velocity, each a list of ProductSales."""

    days: int
    stale_days: int
    by_units: list[ProductSales]
    by_revenue: list[ProductSales]
    growing: list[ProductSales]
    stale: list[ProductSales]
    slowest: list[ProductSales]


#: A product needs this many units in the current window to count as growing (a jump from 1 to 3 is noise).
GROWTH_MIN_UNITS = 5


def product_board(*, days: int = 30, stale_days: int = 60, limit: int = 10, today: date | None = None) -> ProductBoard:
    """Rank the catalogue's sales (see product_sales). Growing: at least GROWTH_MIN_UNITS units now and some in
    the previous window, by units growth. Not sold: no sale in the last `stale_days` days (or never). Slowest:
    the lowest units per day among the products that did sell in the window (the lower half of them at most)."""
    day = today or timezone.localdate()
    sales = product_sales(days=days, today=day)
    sold = [p for p in sales if p.units > 0]
    cutoff = _local_midnight(day + timedelta(days=1)) - timedelta(days=stale_days)
    return ProductBoard(
        days=days,
        stale_days=stale_days,
        by_units=sorted(sold, key=lambda p: (-p.units, -p.revenue, p.product_id))[:limit],
        by_revenue=sorted(sold, key=lambda p: (-p.revenue, -p.units, p.product_id))[:limit],
        growing=sorted(
            (p for p in sold if p.units >= GROWTH_MIN_UNITS and p.previous_units > 0 and p.units > p.previous_units),
            key=lambda p: (-(p.growth or 0), -p.units, p.product_id),
        )[:limit],
        stale=sorted(
            (p for p in sales if p.last_sold is None or p.last_sold < cutoff),
            key=lambda p: (p.last_sold is not None, p.last_sold or cutoff, p.product_id),
        )[:limit],
        slowest=sorted(sold, key=lambda p: (p.units, p.revenue, p.product_id))[: min(limit, len(sold) // 2)],
    )


@dataclass(frozen=True)
class RepurchaseCycle:
    """How a product is bought again: buyers, buyers who bought it on two or more days, and the median of the
    days between one purchase of it and the same customer's next (None without any repeat)."""

    product_id: int
    buyers: int
    repeat_buyers: int
    median_interval_days: float | None
    intervals: int

    @property
    def repurchase_rate(self) -> float | None:
        return _share(self.repeat_buyers, self.buyers)


def product_repurchase_cycles(
    *, product_ids: Iterable[int] | None = None, since: date | None = None
) -> dict[int, RepurchaseCycle]:
    """Per product (all, or `product_ids`): buyers, repeat buyers and the median repurchase interval in days,
    from the local purchase days of counted, not refunded lines (purchases after `since` when given). This is
    the replenishment cycle care uses to remind a customer when the product they bought should run out.

    Several purchases of a product on one day count as one; products nobody bought are absent."""
    day, params = local_day_sql()
    line, order = OrderLine._meta.db_table, Order._meta.db_table
    counted = ", ".join(f"'{s}'" for s in Order.COUNTED)  # fixed enum values, not user input
    where = [f"o.status IN ({counted})", "l.product_id IS NOT NULL", "l.refund_state <> %s"]
    args: list[Any] = [*params, OrderLine.RefundState.REFUNDED.value]
    if product_ids is not None:
        ids = sorted(set(product_ids))
        if not ids:
            return {}
        where.append(f"l.product_id IN ({', '.join(['%s'] * len(ids))})")
        args.extend(ids)
    if since is not None:
        where.append("o.ordered_at >= %s")
        args.append(connection.ops.adapt_datetimefield_value(_local_midnight(since)))
    sql = (
        f"SELECT DISTINCT l.product_id, o.customer_id, {day} FROM {line} l JOIN {order} o ON o.id = l.order_id"
        f" WHERE {' AND '.join(where)}"
    )
    data = fetch_int_rows(sql, args, width=3)
    if data.shape[0] == 0:
        return {}
    data = data[np.lexsort((data[:, 2], data[:, 1], data[:, 0]))]
    prod, cust, days = data[:, 0], data[:, 1], data[:, 2]
    same = (prod[1:] == prod[:-1]) & (cust[1:] == cust[:-1])
    gaps = (days[1:] - days[:-1])[same]
    gap_prod = prod[1:][same]
    pair_start = np.ones(prod.size, dtype=bool)
    pair_start[1:] = ~same
    buyers_per: dict[int, int] = defaultdict(int)
    repeat_per: dict[int, int] = defaultdict(int)
    pair_ids = np.cumsum(pair_start) - 1
    pair_days = np.bincount(pair_ids)
    pair_prod = prod[pair_start]
    for p, n in zip(pair_prod.tolist(), pair_days.tolist(), strict=True):
        buyers_per[p] += 1
        if n >= 2:
            repeat_per[p] += 1
    medians: dict[int, tuple[float, int]] = {}
    if gaps.size:
        order_ = np.lexsort((gaps, gap_prod))
        gp, gs = gap_prod[order_], gaps[order_]
        starts = np.flatnonzero(np.r_[True, gp[1:] != gp[:-1]])
        ends = np.r_[starts[1:], gp.size]
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            medians[int(gp[s])] = (float(np.median(gs[s:e])), e - s)
    return {
        p: RepurchaseCycle(
            product_id=p,
            buyers=buyers_per[p],
            repeat_buyers=repeat_per[p],
            median_interval_days=medians[p][0] if p in medians else None,
            intervals=medians[p][1] if p in medians else 0,
        )
        for p in sorted(buyers_per)
    }


@dataclass(frozen=True)
class ReplenishmentDue:
    """A customer whose last purchase of a product was one replenishment cycle before `due_on`."""

    customer_id: int
    product_id: int
    last_bought: date
    cycle_days: int
    due_on: date


def replenishment_due(
    *, day: date, product_ids: Iterable[int] | None = None, min_intervals: int = 5
) -> list[ReplenishmentDue]:
    """Customers due to run out of a product on `day`: their last purchase of it (a counted, not refunded line)
    was the product's median repurchase interval (rounded to whole days) before `day`. Only products with at
    least `min_intervals` observed repurchases have a cycle worth acting on. For care's replenishment reminders."""
    cycles = product_repurchase_cycles(product_ids=product_ids)
    usable = {
        p: round(c.median_interval_days)
        for p, c in cycles.items()
        if c.median_interval_days is not None and c.intervals >= min_intervals and round(c.median_interval_days) > 0
    }
    if not usable:
        return []
    day_sql, params = local_day_sql()
    line, order = OrderLine._meta.db_table, Order._meta.db_table
    counted = ", ".join(f"'{s}'" for s in Order.COUNTED)  # fixed enum values, not user input
    epoch_today = (day - date(1970, 1, 1)).days
    # one (product, last day) pair per product: (p = %s AND last = %s) OR …
    having = " OR ".join(["(l.product_id = %s AND MAX(" + day_sql + ") = %s)"] * len(usable))
    args: list[Any] = [*params, OrderLine.RefundState.REFUNDED.value, *usable]
    for p, cycle in usable.items():
        args.extend([p, *params, epoch_today - cycle])
    sql = (
        f"SELECT o.customer_id, l.product_id, MAX({day_sql}) FROM {line} l JOIN {order} o ON o.id = l.order_id"
        f" WHERE o.status IN ({counted}) AND l.refund_state <> %s"
        f" AND l.product_id IN ({', '.join(['%s'] * len(usable))})"
        f" GROUP BY o.customer_id, l.product_id HAVING {having}"
    )
    rows = fetch_int_rows(sql, args, width=3)
    epoch = date(1970, 1, 1)
    return [
        ReplenishmentDue(
            customer_id=int(c),
            product_id=int(p),
            last_bought=epoch + timedelta(days=int(d)),
            cycle_days=usable[int(p)],
            due_on=day,
        )
        for c, p, d in sorted(rows.tolist())
    ]


@dataclass(frozen=True)
class ProductQuality:
    """Strengths and weaknesses of one product: its repurchase cycle and its refund share (refunded units of
    all units sold in paid orders, counting every line of a refunded order)."""

    product_id: int
    title: str
    units_sold: int
    units_refunded: int
    cycle: RepurchaseCycle | None

    @property
    def refund_share(self) -> float | None:
        return _share(self.units_refunded, self.units_sold)


def product_quality(*, limit: int | None = None) -> list[ProductQuality]:
    """Every product that sold, by units sold: refund share and repurchase cycle."""
    refunded = Q(refund_state=OrderLine.RefundState.REFUNDED) | Q(order__status=Order.Status.REFUNDED)
    qs = (
        OrderLine.objects.filter(product__isnull=False, order__status__in=(*Order.COUNTED, Order.Status.REFUNDED))
        .values("product_id", "product__title")
        .annotate(units=Sum("quantity"), refunded=Sum("quantity", filter=refunded))
        .order_by("-units", "product_id")
    )
    rows = list(qs[:limit] if limit else qs)
    cycles = product_repurchase_cycles(product_ids=[r["product_id"] for r in rows])
    return [
        ProductQuality(
            product_id=r["product_id"],
            title=r["product__title"],
            units_sold=int(r["units"] or 0),
            units_refunded=int(r["refunded"] or 0),
            cycle=cycles.get(r["product_id"]),
        )
        for r in rows
    ]
