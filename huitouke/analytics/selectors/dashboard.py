"""The dashboard's customer figures and monthly sales."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    Q,
    Sum,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

from huitouke.analytics.selectors.common import (
    _add_months,
    _as_date,
    _counted,
    _local_midnight,
    _money,
    _month_start,
    _share,
    _value,
)
from huitouke.customers.models import Customer

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
