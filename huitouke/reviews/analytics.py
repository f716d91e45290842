"""Review analytics (reads): the rating trend by month and, per product, how many buyers reviewed, the review rate
(buyer reviews per order line sold) and the share of bad reviews."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth

from huitouke.orders.models import OrderLine, Shop
from huitouke.reviews.models import Result, Review, Role

PRODUCTS_SHOWN = 50


@dataclass(frozen=True)
class MonthRow:
    month: str
    good: int
    neutral: int
    bad: int


@dataclass(frozen=True)
class ProductRow:
    product_id: int
    title: str
    lines: int
    reviews: int
    bad: int

    @property
    def review_rate(self) -> float:
        return self.reviews / self.lines if self.lines else 0.0

    @property
    def bad_share(self) -> float:
        return self.bad / self.reviews if self.reviews else 0.0


def rating_trend(*, shop: Shop) -> list[MonthRow]:
    """Buyer reviews per month (shop time zone) by result, oldest first."""
    rows = (
        Review.objects.filter(shop=shop, role=Role.BUYER)
        .annotate(month=TruncMonth("created_at", tzinfo=ZoneInfo(shop.timezone)))
        .values("month")
        .annotate(
            good=Count("pk", filter=Q(result=Result.GOOD)),
            neutral=Count("pk", filter=Q(result=Result.NEUTRAL)),
            bad=Count("pk", filter=Q(result=Result.BAD)),
        )
        .order_by("month")
    )
    return [MonthRow(r["month"].strftime("%Y-%m"), r["good"], r["neutral"], r["bad"]) for r in rows]


def product_review_stats(*, shop: Shop, limit: int = PRODUCTS_SHOWN) -> list[ProductRow]:
    """Per product of the shop: order lines sold, buyer reviews of them, bad ones; most bad reviews first."""
    reviews = {
        r["order_line__product"]: (r["n"], r["bad"])
        for r in Review.objects.filter(shop=shop, role=Role.BUYER, order_line__product__isnull=False)
        .values("order_line__product")
        .annotate(n=Count("pk"), bad=Count("pk", filter=Q(result=Result.BAD)))
    }
    if not reviews:
        return []
    lines = (
        OrderLine.objects.filter(product_id__in=list(reviews))
        .values("product", "product__title")
        .annotate(n=Count("pk"))
    )
    out = [ProductRow(r["product"], r["product__title"], r["n"], *reviews[r["product"]]) for r in lines]
    out.sort(key=lambda p: (-p.bad, -p.bad_share, p.title))
    return out[:limit]
