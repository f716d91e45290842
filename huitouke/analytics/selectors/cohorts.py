"""Monthly cohorts of first purchases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    Sum,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

from huitouke.analytics.selectors.common import (
    ZERO,
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
