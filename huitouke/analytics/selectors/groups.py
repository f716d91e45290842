"""Customer groups: the top spenders compared with the rest along several dimensions."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay

from huitouke.analytics.selectors.common import (
    MONEY,
    ZERO,
    _counted,
    _money,
    _share,
    _sold_lines,
    _value,
)
from huitouke.customers.models import Customer

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
