"""Monthly cohorts of first purchases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils import timezone

from huitouke.analytics.models import CohortMonth
from huitouke.analytics.selectors.common import (
    ZERO,
    _add_months,
    _money,
    _month_start,
    _share,
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
    month, from the cohort rollup (a cohort's size is its cell of its own month)."""
    day = today or timezone.localdate()
    first = _add_months(_month_start(day), -(months - 1))
    cells: dict[tuple[date, date], tuple[int, Decimal]] = {
        (c, m): (n, revenue)
        for c, m, n, revenue in CohortMonth.objects.filter(cohort__gte=first).values_list(
            "cohort", "month", "buyers", "revenue"
        )
    }
    out = []
    for i in range(months):
        month = _add_months(first, i)
        span = months - i
        active, revenue = [], []
        for k in range(span):
            n, value = cells.get((month, _add_months(month, k)), (0, ZERO))
            active.append(int(n))
            revenue.append(_money(value))
        out.append(Cohort(month=month, customers=active[0] if active else 0, active=active, revenue=revenue))
    return out
