"""Review analytics (reads): the rating trend by month (of one product, or all), per product how many buyers
reviewed, the review rate (buyer reviews per order line sold) and the share of bad reviews; the words that recur in
bad reviews; what became of the customers behind negative reviews (repurchased, churned)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncMonth

from huitouke.orders.models import Order, OrderLine, Shop
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


def rating_trend(*, shop: Shop, product: str = "") -> list[MonthRow]:
    """Buyer reviews per month (shop time zone) by result, oldest first; of one product (item id or exact title)
    when given."""
    qs = Review.objects.filter(shop=shop, role=Role.BUYER)
    if product:
        qs = qs.filter(Q(num_iid=product) | Q(item_title=product))
    rows = (
        qs.annotate(month=TruncMonth("created_at", tzinfo=ZoneInfo(shop.timezone)))
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


#: the newest buyer reviews with a text that the word counts read (bounds the work of one page view)
WORDS_SAMPLE = 20_000
WORDS_SHOWN = 30


@dataclass(frozen=True)
class WordRow:
    word: str
    reviews: int
    bad: int

    @property
    def bad_share(self) -> float:
        return self.bad / self.reviews if self.reviews else 0.0


def bad_review_words(*, shop: Shop, limit: int = WORDS_SHOWN, sample: int = WORDS_SAMPLE) -> list[WordRow]:
    """The words (jieba segmentation, stop words removed) that recur in the shop's bad and neutral buyer reviews:
    per word the reviews whose text has it and the bad or neutral ones among them; words of at least two negative
    reviews, most negative reviews first. Reads the newest `sample` reviews with a text."""
    from huitouke.reviews.words import word_counts

    texts = (
        Review.objects.filter(shop=shop, role=Role.BUYER)
        .exclude(content="")
        .order_by("-created_at", "-id")
        .values_list("content", "result")[:sample]
    )
    counts = word_counts((text, result != Result.GOOD) for text, result in texts)
    rows = [WordRow(w, n, b) for w, (n, b) in counts.items() if b >= 2]
    rows.sort(key=lambda r: (-r.bad, -r.bad_share, r.word))
    return rows[:limit]


#: a customer who has not ordered again this many days after their review counts as churned
CHURN_DAYS = 180


@dataclass(frozen=True)
class AfterRow:
    """What became of the customers behind one kind of review: ordered again after it, not within CHURN_DAYS
    (churned), or too early to tell."""

    kind: str
    reviews: int
    repurchased: int
    churned: int
    waiting: int

    @property
    def repurchase_rate(self) -> float:
        decided = self.repurchased + self.churned
        return self.repurchased / decided if decided else 0.0


def reviewers_afterwards(*, shop: Shop, now: datetime, churn_days: int = CHURN_DAYS) -> list[AfterRow]:
    """For negative (neutral or bad) and, as the reference, good buyer reviews of the shop: how many of the
    reviewers ordered from the shop again after the review, how many did not within `churn_days` (churned) and
    how many reviews are too recent to tell."""
    later = Order.objects.filter(
        shop=shop, customer=OuterRef("customer"), ordered_at__gt=OuterRef("created_at"), status__in=Order.COUNTED
    )
    cutoff = now - timedelta(days=churn_days)
    out = []
    for kind, results in (("negative", (Result.NEUTRAL, Result.BAD)), ("good", (Result.GOOD,))):
        row = Review.objects.filter(shop=shop, role=Role.BUYER, result__in=results).aggregate(
            n=Count("pk"),
            again=Count("pk", filter=Exists(later)),
            churned=Count("pk", filter=~Exists(later) & Q(created_at__lt=cutoff)),
        )
        n, again, churned = row["n"], row["again"], row["churned"]
        out.append(AfterRow(kind, n, again, churned, n - again - churned))
    return out
