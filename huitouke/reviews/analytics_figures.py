"""Review analytics as a stored figure: the page's four tables (the rating trend of all products, the products'
review rate and bad reviews, the words of bad reviews, what the reviewers did next) read every buyer review of the
shop, its order lines and its orders (2–3 s at two million reviews), while they only move when reviews or orders
are imported or a day passes (reviews fall past the churn cut-off). So they are kept in analytics' FigureSnapshot:

- the refresh after an import and the nightly job recompute the figure of each shop stored before (analytics'
  refresher registry, `analytics_figures_refresh`);
- reviews written (an import, a review entered by hand or through the API) ask the worker to recompute it
  (`review_figures_ask`); a burst of asks costs one recomputation;
- the page computes it itself only when none is stored or the stored one is of an earlier day in the shop's time
  zone; it says when the figures were computed.

The trend of one product (`?product=`) is still read on each view: it reads that product's reviews only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from huitouke.analytics.snapshots import (
    StoredFigure,
    figure_asked_recount,
    figure_read,
    figure_store,
    figures_refresh_by_shop,
)
from huitouke.orders.models import Shop
from huitouke.reviews.analytics import (
    AfterRow,
    MonthRow,
    ProductRow,
    WordRow,
    bad_review_words,
    product_review_stats,
    rating_trend,
    reviewers_afterwards,
)

KEY = "reviews.analytics"


@dataclass(frozen=True)
class ReviewFigures:
    """The page's tables for the whole shop as of `at`."""

    at: dt.datetime
    trend: list[MonthRow]
    products: list[ProductRow]
    words: list[WordRow]
    afterwards: list[AfterRow]


def _key(shop: Shop) -> str:
    return f"{KEY}:shop={shop.pk}"


def review_figures_compute(*, shop: Shop, now: dt.datetime | None = None) -> ReviewFigures:
    """The page's tables computed from the reviews now (what the stored figure must equal)."""
    now = now or timezone.now()
    return ReviewFigures(
        at=now,
        trend=rating_trend(shop=shop),
        products=product_review_stats(shop=shop),
        words=bad_review_words(shop=shop),
        afterwards=reviewers_afterwards(shop=shop, now=now),
    )


def review_figures(*, shop: Shop) -> StoredFigure:
    """The shop's stored review analytics (`.value` a ReviewFigures), computed now when none is stored or the
    stored one is of an earlier day in the shop's time zone."""
    tz = ZoneInfo(shop.timezone)
    today = timezone.now().astimezone(tz).date()
    return figure_read(
        key=_key(shop),
        compute=lambda: review_figures_compute(shop=shop),
        current=lambda v: isinstance(v, ReviewFigures) and v.at.astimezone(tz).date() == today,
    )


def review_figures_ask(*, shop: Shop) -> None:
    """Reviews of the shop were written: have the worker recompute its figure once they are committed (a worker
    that read before the commit would store the old figure as the newer one)."""
    from huitouke.reviews.tasks import review_figures_task

    shop_id = shop.pk
    transaction.on_commit(lambda: review_figures_task(shop_id, timezone.now().isoformat()))


def review_figures_recompute(*, shop_id: int, asked_at: dt.datetime) -> bool:
    """Recompute the shop's figure, if one is stored (a shop nobody looked at is left to its first view), unless
    one was computed after `asked_at` (a later ask did it already); whether it was recomputed."""
    shop = Shop.objects.filter(pk=shop_id).first()
    if shop is None:
        return False
    if not figure_asked_recount(key=_key(shop), asked_at=asked_at, when_missing=False):
        return False
    figure_store(key=_key(shop), compute=lambda: review_figures_compute(shop=shop))
    return True


def review_figures_refresh() -> list[str]:
    """Recompute the figure of each shop stored before (a shop since deleted is dropped); the keys written."""

    def store(shop: Shop | None) -> str:
        assert shop is not None  # no all-shops figure here
        figure_store(key=_key(shop), compute=partial(review_figures_compute, shop=shop))
        return _key(shop)

    return figures_refresh_by_shop(prefix=f"{KEY}:shop=", store=store)
