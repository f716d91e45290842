"""The dashboard's customer figures and monthly sales."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import (
    Q,
    Sum,
)
from django.utils import timezone

from huitouke.analytics.models import CohortMonth, CohortSize, SalesDay
from huitouke.analytics.selectors.common import (
    ZERO,
    _add_months,
    _money,
    _month_start,
    _share,
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
    """Customers in total, new and returning in the month of `today` (default: today), buyers and repeat buyers.

    New and returning come from the cohort rollup (the month's cell of its own cohort, and the month's cells of
    earlier cohorts), buyers and repeat buyers from the cohort sizes; only the total counts customers."""
    day = today or timezone.localdate()
    start = _month_start(day)
    total = Customer.objects.filter(merged_into__isnull=True).count()  # an index-only count
    sizes = CohortSize.objects.aggregate(buyers=Sum("buyers"), repeat=Sum("repeaters"))
    cells = CohortMonth.objects.filter(month=start).aggregate(
        new=Sum("buyers", filter=Q(cohort=start)), returning=Sum("buyers", filter=Q(cohort__lt=start))
    )
    return CustomerFigures(
        month=start,
        total=total,
        buyers=int(sizes["buyers"] or 0),
        new=int(cells["new"] or 0),
        returning=int(cells["returning"] or 0),
        repeat_buyers=int(sizes["repeat"] or 0),
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
    listed with zeros. Orders and value from the daily rollup, buyers from the cohort rollup (each buyer sits in
    one cohort, so the cells of a month add up to its distinct buyers)."""
    day = today or timezone.localdate()
    first = _add_months(_month_start(day), -(months - 1))
    end = _add_months(first, months)
    found: dict[date, dict[str, Any]] = defaultdict(lambda: {"orders": 0, "revenue": ZERO, "buyers": 0})
    for d, n, revenue in SalesDay.objects.filter(day__gte=first, day__lt=end).values_list("day", "orders", "revenue"):
        cell = found[_month_start(d)]
        cell["orders"] += n
        cell["revenue"] += revenue
    for month, buyers in (
        CohortMonth.objects.filter(month__gte=first, month__lt=end)
        .values("month")
        .annotate(n=Sum("buyers"))
        .values_list("month", "n")
        .order_by()
    ):
        found[month]["buyers"] = int(buyers or 0)
    out = []
    for i in range(months):
        month = _add_months(first, i)
        r = found.get(month, {})
        out.append(
            MonthSales(
                month=month,
                orders=int(r.get("orders", 0)),
                revenue=_money(r.get("revenue")),
                buyers=int(r.get("buyers", 0)),
            )
        )
    return out
