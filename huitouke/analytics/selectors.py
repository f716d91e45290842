"""Analytics reads: the latest refresh, the dashboard's figures, products, customer groups and cohorts.

Every figure a page shows comes from one function here (and a test checks it against hand-computed data).
Conventions: a purchase is a counted order (Order.COUNTED: paid and neither closed nor refunded) and its value
is paid minus refunded, as in the customers' stats; months, days, hours and weekdays are those of the business
time zone (settings.TIME_ZONE).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, TruncMonth
from django.utils import timezone

from huitouke.analytics import rfm
from huitouke.analytics.models import CustomerScore, RfmSnapshot, ScoreRun
from huitouke.customers.models import Customer
from huitouke.orders.models import Order, OrderLine, Product

MONEY = DecimalField(max_digits=14, decimal_places=2)
ZERO = Decimal("0.00")


def _counted() -> QuerySet[Order]:
    return Order.objects.filter(status__in=Order.COUNTED)


def _value() -> ExpressionWrapper:
    return ExpressionWrapper(F("paid_amount") - F("refund_amount"), output_field=MONEY)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def _share(part: float | int | Decimal, whole: float | int | Decimal) -> float | None:
    return float(part) / float(whole) if whole else None


# --- refresh runs and scores -----------------------------------------------------------------------------------


def score_run_latest() -> ScoreRun | None:
    """The newest refresh, or None before the first one."""
    return ScoreRun.objects.order_by("-started_at", "-id").first()


def score_run_since(moment: datetime) -> bool:
    """Whether a refresh has started at or after `moment`."""
    return ScoreRun.objects.filter(started_at__gte=moment).exists()


def score_for_customer(*, customer_id: int) -> CustomerScore | None:
    """The customer's current scores, or None (no counted order, or no refresh yet)."""
    return CustomerScore.objects.filter(customer_id=customer_id).first()


def segment_distribution() -> dict[str, int]:
    """Scored customers per RFM segment key, in segment order (zeros included), counted from the scores."""
    counts = dict(CustomerScore.objects.values_list("segment").annotate(n=Count("customer_id")).order_by())
    return {key: int(counts.get(key, 0)) for key in rfm.KEYS}


@dataclass(frozen=True)
class Movement:
    """Customers who moved from one RFM segment to another between two snapshot weeks."""

    source: str
    target: str
    customers: int
    previous_week: date
    week: date

    @property
    def filter_value(self) -> str:
        """The customer-list filter value selecting these movers (`rfm_move=…`)."""
        return f"{self.source}:{self.target}:{self.week.isoformat()}"


def movements_latest(*, limit: int = 10) -> list[Movement]:
    """The biggest movements between segments recorded by the latest refresh (its week against the previous
    snapshot week), biggest first."""
    run = score_run_latest()
    if run is None or run.previous_week is None:
        return []
    return [
        Movement(source=a, target=b, customers=int(n), previous_week=run.previous_week, week=run.week)
        for a, b, n in run.movements[:limit]
    ]


def movers_filter(qs: QuerySet[Customer], value: str) -> QuerySet[Customer]:
    """Customers whose segment was `source` in the snapshot week before `week` and is `target` in `week`
    (value `source:target:YYYY-MM-DD`); nobody for a malformed value."""
    parts = value.split(":")
    if len(parts) != 3 or parts[0] not in rfm.BY_KEY or parts[1] not in rfm.BY_KEY:
        return qs.none()
    try:
        week = date.fromisoformat(parts[2])
    except ValueError:
        return qs.none()
    previous = RfmSnapshot.objects.filter(week__lt=week).aggregate(w=Max("week"))["w"]
    if previous is None:
        return qs.none()
    now_in = RfmSnapshot.objects.filter(week=week, segment=parts[1]).values("customer_id")
    was_in = RfmSnapshot.objects.filter(week=previous, segment=parts[0]).values("customer_id")
    return qs.filter(pk__in=now_in).filter(pk__in=was_in)


# --- dashboard -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerFigures:
    """The dashboard's customer numbers for one month (`month` = its first day)."""

    month: date
    total: int  # active customers in the archive (not merged), with or without a purchase
    buyers: int  # customers with at least one counted order
    new: int  # first counted order in the month
    returning: int  # bought in the month, first order before it
    repeat_buyers: int  # customers with two or more counted orders

    @property
    def repeat_rate(self) -> float | None:
        """Share of buyers who bought more than once."""
        return _share(self.repeat_buyers, self.buyers)


def customer_figures(*, today: date | None = None) -> CustomerFigures:
    """Customers in total, new and returning in the month of `today` (default: today), buyers and repeat buyers."""
    day = today or timezone.localdate()
    start = _month_start(day)
    since, until = _local_midnight(start), _local_midnight(_add_months(start, 1))
    active = Customer.objects.filter(merged_into__isnull=True)
    counts = active.aggregate(
        total=Count("id"),
        buyers=Count("id", filter=Q(order_count__gte=1)),
        repeat=Count("id", filter=Q(order_count__gte=2)),
        new=Count("id", filter=Q(first_order_at__gte=since, first_order_at__lt=until)),
    )
    returning = (
        _counted()
        .filter(ordered_at__gte=since, ordered_at__lt=until, customer__first_order_at__lt=since)
        .values("customer_id")
        .distinct()
        .count()
    )
    return CustomerFigures(
        month=start,
        total=counts["total"],
        buyers=counts["buyers"],
        new=counts["new"],
        returning=returning,
        repeat_buyers=counts["repeat"],
    )


@dataclass(frozen=True)
class MonthSales:
    """Sales of one month: counted orders, their value (paid minus refunded), buyers and average order value."""

    month: date
    orders: int
    revenue: Decimal
    buyers: int

    @property
    def aov(self) -> Decimal | None:
        return (self.revenue / self.orders).quantize(Decimal("0.01")) if self.orders else None


def sales_by_month(*, months: int = 12, today: date | None = None) -> list[MonthSales]:
    """The last `months` months up to and including the current one, oldest first; months without sales are
    listed with zeros."""
    day = today or timezone.localdate()
    first = _add_months(_month_start(day), -(months - 1))
    rows = (
        _counted()
        .filter(ordered_at__gte=_local_midnight(first), ordered_at__lt=_local_midnight(_add_months(first, months)))
        .annotate(month=TruncMonth("ordered_at"))
        .values("month")
        .annotate(orders=Count("id"), revenue=Sum(_value()), buyers=Count("customer_id", distinct=True))
        .order_by()
    )
    found: dict[date, dict[str, Any]] = {_as_date(r["month"]): dict(r) for r in rows}
    out = []
    for i in range(months):
        month = _add_months(first, i)
        r: dict[str, Any] = found.get(month, {})
        out.append(
            MonthSales(
                month=month,
                orders=int(r.get("orders", 0)),
                revenue=_money(r.get("revenue")),
                buyers=int(r.get("buyers", 0)),
            )
        )
    return out


def _as_date(value: date | datetime) -> date:
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


# --- products --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductSales:
    """One product's sales in a window: units and revenue of the lines not refunded in counted orders, orders
    and buyers, the previous window's units and revenue (for growth) and the last sale ever."""

    product_id: int
    title: str
    category: str
    units: int
    revenue: Decimal
    orders: int
    buyers: int
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


def _sold_lines() -> QuerySet[OrderLine]:
    return OrderLine.objects.filter(product__isnull=False, order__status__in=Order.COUNTED).exclude(
        refund_state=OrderLine.RefundState.REFUNDED
    )


def product_sales(*, days: int = 30, today: date | None = None) -> list[ProductSales]:
    """Every product in the catalogue with its sales over the last `days` days (up to today) and the `days`
    before them. Products that never sold are included (with zeros): they are the slowest movers."""
    day = today or timezone.localdate()
    end = _local_midnight(day + timedelta(days=1))
    start = end - timedelta(days=days)
    previous = start - timedelta(days=days)
    window = Q(order__ordered_at__gte=start, order__ordered_at__lt=end)
    before = Q(order__ordered_at__gte=previous, order__ordered_at__lt=start)
    line_value = F("amount")
    rows = (
        _sold_lines()
        .filter(order__ordered_at__gte=previous, order__ordered_at__lt=end)
        .values("product_id")
        .annotate(
            units=Sum("quantity", filter=window),
            revenue=Sum(line_value, filter=window),
            orders=Count("order_id", filter=window, distinct=True),
            buyers=Count("order__customer_id", filter=window, distinct=True),
            previous_units=Sum("quantity", filter=before),
            previous_revenue=Sum(line_value, filter=before),
        )
        .order_by()
    )
    stats: dict[int, dict[str, Any]] = {r["product_id"]: dict(r) for r in rows}
    last = dict(
        _sold_lines().values("product_id").annotate(at=Max("order__ordered_at")).values_list("product_id", "at")
    )
    out = []
    for pid, title, category in Product.objects.values_list("id", "title", "category").order_by("title", "id"):
        r: dict[str, Any] = stats.get(pid, {})
        out.append(
            ProductSales(
                product_id=pid,
                title=title,
                category=category,
                units=int(r.get("units") or 0),
                revenue=_money(r.get("revenue")),
                orders=int(r.get("orders") or 0),
                buyers=int(r.get("buyers") or 0),
                previous_units=int(r.get("previous_units") or 0),
                previous_revenue=_money(r.get("previous_revenue")),
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


def fetch_int_rows(sql: str, params: list[Any], *, width: int, chunk: int = 50_000) -> np.ndarray:
    """Run a query whose columns are all integers and return its rows as an (n, width) int64 array, converting
    `chunk` rows at a time (a few million rows never exist as Python tuples all at once)."""
    parts = []
    with connection.cursor() as cur:
        cur.execute(sql, params)
        while batch := cur.fetchmany(chunk):
            parts.append(np.array(batch, dtype=np.int64).reshape(-1, width))
    return np.concatenate(parts) if parts else np.zeros((0, width), dtype=np.int64)


def local_day_sql(column: str = "o.ordered_at") -> tuple[str, list[Any]]:
    """SQL for the business-time-zone calendar day of a timestamp column as days since 1970-01-01, and its
    parameters."""
    tz = timezone.get_current_timezone()
    if connection.vendor == "postgresql":
        return f"(({column} AT TIME ZONE %s)::date - DATE '1970-01-01')", [str(tz)]
    # SQLite has no time-zone database: shift by the zone's current UTC offset (exact for zones without summer
    # time such as Asia/Shanghai; elsewhere orders within an hour of midnight may land on the neighbour day).
    offset = timezone.now().astimezone(tz).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    return f"CAST(julianday({column}, %s) - 2440587.5 AS INTEGER)", [f"{minutes:+d} minutes"]


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


# --- customer groups ---------------------------------------------------------------------------------------------

#: Average order value bands (upper bounds, currency units) for the price-band comparison.
PRICE_BANDS = (Decimal(50), Decimal(100), Decimal(200), Decimal(500))


@dataclass(frozen=True)
class GroupRow:
    """One value of a dimension: customers (or orders, or revenue) of the top group and of the rest, and each
    group's share of its own total."""

    value: str
    top: float
    rest: float
    top_share: float | None
    rest_share: float | None

    @property
    def index(self) -> float | None:
        """How much more common the value is in the top group (top share / rest share)."""
        if self.top_share is None or not self.rest_share:
            return None
        return self.top_share / self.rest_share


@dataclass(frozen=True)
class GroupDimension:
    key: str
    unit: str  # customers | orders | revenue
    rows: list[GroupRow]


@dataclass(frozen=True)
class GroupComparison:
    """The customers who bring the most revenue (the top 20 % of buyers by total spent) against the rest."""

    buyers: int
    top_customers: int
    top_revenue: Decimal
    rest_revenue: Decimal
    top_orders: int
    rest_orders: int
    dimensions: list[GroupDimension] = field(default_factory=list)

    @property
    def rest_customers(self) -> int:
        return self.buyers - self.top_customers

    @property
    def top_revenue_share(self) -> float | None:
        return _share(self.top_revenue, self.top_revenue + self.rest_revenue)

    def aov(self, top: bool) -> Decimal | None:
        orders = self.top_orders if top else self.rest_orders
        revenue = self.top_revenue if top else self.rest_revenue
        return (revenue / orders).quantize(Decimal("0.01")) if orders else None

    def orders_per_customer(self, top: bool) -> float | None:
        return _share(self.top_orders if top else self.rest_orders, self.top_customers if top else self.rest_customers)


def _rows(top: dict[str, float], rest: dict[str, float], order: list[str] | None = None) -> list[GroupRow]:
    top_total, rest_total = sum(top.values()), sum(rest.values())
    keys = order or sorted(set(top) | set(rest), key=lambda k: (-(top.get(k, 0) + rest.get(k, 0)), k))
    return [
        GroupRow(
            value=k,
            top=top.get(k, 0),
            rest=rest.get(k, 0),
            top_share=_share(top.get(k, 0), top_total),
            rest_share=_share(rest.get(k, 0), rest_total),
        )
        for k in keys
    ]


def _split(rows: Iterable[tuple[Any, bool, Any]]) -> tuple[dict[str, float], dict[str, float]]:
    top: dict[str, float] = defaultdict(float)
    rest: dict[str, float] = defaultdict(float)
    for value, is_top, n in rows:
        (top if is_top else rest)[str(value)] += float(n or 0)
    return top, rest


def top_threshold(*, share: float = 0.2) -> tuple[int, Q]:
    """How many buyers form the top `share` by total spent (ceil), and a condition on customer fields that holds
    exactly for them: ranked by total spent, ties broken by id, through the last one's (total spent, id)."""
    buyers = Customer.objects.filter(merged_into__isnull=True, order_count__gte=1)
    n = math.ceil(buyers.count() * share)
    if n == 0:
        return 0, Q(pk__in=[])
    spent, last_id = buyers.order_by("-total_spent", "id").values_list("total_spent", "id")[n - 1]
    return n, Q(total_spent__gt=spent) | Q(total_spent=spent, id__lte=last_id)


def _prefixed(q: Q, prefix: str) -> Q:
    """The same condition on a related customer (`customer__`, `order__customer__`)."""
    out = Q()
    out.connector, out.negated = q.connector, q.negated
    for child in q.children:
        if isinstance(child, Q):
            out.children.append(_prefixed(child, prefix))
        else:
            key, value = child  # type: ignore[misc]  # a leaf of a Q is a (lookup, value) pair
            out.children.append((f"{prefix}{key}", value))
    return out


def customer_groups(*, share: float = 0.2, top_categories: int = 12) -> GroupComparison:
    """Compare the top `share` of buyers by total spent with the other buyers: member level and province and
    average-order price band (customers), purchase hour and weekday (orders) and product categories (revenue of
    the lines not refunded). Aggregated in the database: one query for the customer fields, one for the
    memberships, one over the orders, one over the lines.

    A customer who is a member in several shops counts once under each level held."""
    from huitouke.loyalty.models import Membership

    buyers_qs = Customer.objects.filter(merged_into__isnull=True, order_count__gte=1)
    top_n, is_top = top_threshold(share=share)
    dims: list[GroupDimension] = []

    labels = [*(f"<{b}" for b in PRICE_BANDS), f">={PRICE_BANDS[-1]}"]
    aov = ExpressionWrapper(F("total_spent") / F("order_count"), output_field=MONEY)
    band = Case(
        *(When(aov__lt=bound, then=Value(label)) for bound, label in zip(PRICE_BANDS, labels, strict=False)),
        default=Value(labels[-1]),
        output_field=CharField(),
    )
    people = list(
        buyers_qs.annotate(top=is_top, aov=aov, band=band)
        .values("province", "band", "top")
        .annotate(n=Count("id"))
        .order_by()
    )
    buyers = sum(r["n"] for r in people)
    top_total = sum(r["n"] for r in people if r["top"])

    members = (
        Membership.objects.filter(customer__merged_into__isnull=True, customer__order_count__gte=1)
        .annotate(top=_prefixed(is_top, "customer__"))
        .values("level__name", "top")
        .annotate(n=Count("customer_id", distinct=True))
        .order_by()
    )
    member_rows = [(r["level__name"], r["top"], r["n"]) for r in members]
    in_levels = (
        Membership.objects.filter(customer__merged_into__isnull=True, customer__order_count__gte=1)
        .annotate(top=_prefixed(is_top, "customer__"))
        .values("top")
        .annotate(n=Count("customer_id", distinct=True))
        .order_by()
    )
    with_level = {r["top"]: r["n"] for r in in_levels}
    member_rows += [
        ("", True, top_total - with_level.get(True, 0)),
        ("", False, buyers - top_total - with_level.get(False, 0)),
    ]
    top, rest = _split(member_rows)
    dims.append(GroupDimension("level", "customers", _rows(top, rest)))
    top, rest = _split((r["province"], r["top"], r["n"]) for r in people)
    dims.append(GroupDimension("province", "customers", _rows(top, rest)))
    top, rest = _split((r["band"], r["top"], r["n"]) for r in people)
    dims.append(GroupDimension("price_band", "customers", _rows(top, rest, order=labels)))

    orders = list(
        _counted()
        .annotate(hour=ExtractHour("ordered_at"), weekday=ExtractIsoWeekDay("ordered_at"))
        .annotate(top=_prefixed(is_top, "customer__"))
        .values("hour", "weekday", "top")
        .annotate(n=Count("id"), revenue=Sum(_value()))
        .order_by()
    )
    top, rest = _split((r["hour"], r["top"], r["n"]) for r in orders)
    dims.append(GroupDimension("hour", "orders", _rows(top, rest, order=[str(h) for h in range(24)])))
    top, rest = _split((r["weekday"], r["top"], r["n"]) for r in orders)
    dims.append(GroupDimension("weekday", "orders", _rows(top, rest, order=[str(d) for d in range(1, 8)])))

    category_sums = (
        _sold_lines()
        .annotate(top=_prefixed(is_top, "order__customer__"))
        .values("product__category", "top")
        .annotate(revenue=Sum("amount"))
        .order_by()
    )
    top, rest = _split((r["product__category"], r["top"], r["revenue"]) for r in category_sums)
    dims.append(GroupDimension("category", "revenue", _rows(top, rest)[:top_categories]))

    return GroupComparison(
        buyers=buyers,
        top_customers=top_n,
        top_revenue=_money(sum((r["revenue"] or 0 for r in orders if r["top"]), ZERO)),
        rest_revenue=_money(sum((r["revenue"] or 0 for r in orders if not r["top"]), ZERO)),
        top_orders=sum(r["n"] for r in orders if r["top"]),
        rest_orders=sum(r["n"] for r in orders if not r["top"]),
        dimensions=dims,
    )


# --- cohorts -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cohort:
    """Customers whose first counted order fell in `month`: how many, and per month since (0 = the first
    month) how many of them bought and what they spent."""

    month: date
    customers: int
    active: list[int]
    revenue: list[Decimal]

    def retention(self) -> list[float | None]:
        return [_share(n, self.customers) for n in self.active]

    @property
    def total_revenue(self) -> Decimal:
        return sum(self.revenue, ZERO)

    @property
    def revenue_per_customer(self) -> Decimal | None:
        return (self.total_revenue / self.customers).quantize(Decimal("0.01")) if self.customers else None


def cohorts(*, months: int = 12, today: date | None = None) -> list[Cohort]:
    """The first-purchase cohorts of the last `months` months (oldest first), each followed up to the current
    month."""
    day = today or timezone.localdate()
    first = _add_months(_month_start(day), -(months - 1))
    since = _local_midnight(first)
    sizes = dict(
        Customer.objects.filter(merged_into__isnull=True, first_order_at__gte=since)
        .annotate(cohort=TruncMonth("first_order_at"))
        .values_list("cohort")
        .annotate(n=Count("id"))
        .order_by()
    )
    activity = (
        _counted()
        .filter(customer__first_order_at__gte=since, customer__merged_into__isnull=True)
        .annotate(cohort=TruncMonth("customer__first_order_at"), month=TruncMonth("ordered_at"))
        .values("cohort", "month")
        .annotate(active=Count("customer_id", distinct=True), revenue=Sum(_value()))
        .order_by()
    )
    cells: dict[tuple[date, date], dict[str, Any]] = {
        (_as_date(r["cohort"]), _as_date(r["month"])): dict(r) for r in activity
    }
    sizes = {_as_date(k): v for k, v in sizes.items()}
    out = []
    for i in range(months):
        month = _add_months(first, i)
        span = months - i
        active, revenue = [], []
        for k in range(span):
            cell = cells.get((month, _add_months(month, k)), {})
            active.append(int(cell.get("active", 0)))
            revenue.append(_money(cell.get("revenue")))
        out.append(Cohort(month=month, customers=int(sizes.get(month, 0)), active=active, revenue=revenue))
    return out
