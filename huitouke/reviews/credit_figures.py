"""The shop's credit as a stored figure: the credit page shows it on every visit, and computing it reads every
rating of the shop (1–2 s at a million reviews), while it only moves when reviews are written, the shop's rule
numbers change, or a day passes (default good ratings come due, rating periods end). So it is kept in analytics'
FigureSnapshot, read by every web process:

- a recomputation as of now that stores the ledger (the settings page, `huitouke credit`, a large import on SQLite,
  the new-day job below: `crediting.credit_recompute`) stores its totals here as well, at no extra cost;
- a refresh of some buyers' ledger (an import, a review entered by hand or through the API) asks the worker to
  recompute the figure (`credit_figures_task`); a burst of such asks costs one recomputation, since each task
  first looks whether the figure was computed after it was asked;
- every quarter of an hour the worker recomputes, ledger and figure, the shops that have begun a new day in their
  own time zone since their figure was stored (`credit_figures_due`), so the first visit of a day finds it counted;
- the page computes it itself only when none is stored, or the stored one is of another day or of other rules.

`GET /api/v1/credit`, `huitouke credit` and the what-if still read the reviews on each call."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from huitouke.analytics.snapshots import StoredFigure, figure_asked_recount, figure_read, figure_store, figures_read
from huitouke.orders.models import Shop
from huitouke.reviews.crediting import CreditTotals, credit_recompute, rules_of
from huitouke.reviews.models import Review
from huitouke.reviews.selectors import credit_settings_get

KEY = "reviews.credit"


def _key(shop: Shop) -> str:
    return f"{KEY}:shop={shop.pk}"


def credit_figures(*, shop: Shop) -> StoredFigure:
    """The shop's stored credit (`.value` a CreditTotals, nothing written to the ledger), computed now when none
    is stored or the stored one is of an earlier day (in the shop's time zone) or of other rule numbers."""
    rules = rules_of(credit_settings_get(shop=shop))
    now = timezone.now()
    return figure_read(
        key=_key(shop),
        compute=lambda: credit_recompute(shop=shop, store=False),
        current=lambda v: _of_the_shops_day(v, shop, now) and v.rules == rules,
    )


def _of_the_shops_day(value: object, shop: Shop, now: dt.datetime) -> bool:
    """Whether `value` is credit counted on the day of `now` in the shop's time zone."""
    tz = ZoneInfo(shop.timezone)
    return isinstance(value, CreditTotals) and value.at.astimezone(tz).date() == now.astimezone(tz).date()


def credit_figures_keep(*, shop: Shop, totals: CreditTotals) -> None:
    """Store the totals a whole-shop recomputation just produced (it read every rating already)."""
    figure_store(key=_key(shop), compute=lambda: totals)


def credit_figures_ask(*, shop: Shop) -> None:
    """Some buyers' ledger changed: have the worker recompute the shop's figure once the change is committed (a
    worker that read before the commit would store the old figure as the newer one)."""
    from huitouke.reviews.tasks import credit_figures_task

    shop_id = shop.pk
    transaction.on_commit(lambda: credit_figures_task(shop_id, timezone.now().isoformat()))


def credit_figures_recompute(*, shop_id: int, asked_at: dt.datetime) -> bool:
    """Recompute the shop's figure unless one was computed after `asked_at` (a later ask did it already);
    whether it was recomputed. A shop deleted since is skipped."""
    shop = Shop.objects.filter(pk=shop_id).first()
    if shop is None:
        return False
    if not figure_asked_recount(key=_key(shop), asked_at=asked_at):
        return False
    figure_store(key=_key(shop), compute=lambda: credit_recompute(shop=shop, store=False))
    return True


def credit_figures_due(*, now: dt.datetime | None = None) -> list[Shop]:
    """The shops with reviews whose stored credit is of an earlier day in the shop's own time zone, or that have
    none stored, by id."""
    now = now or timezone.now()
    stored = figures_read(prefix=f"{KEY}:")
    due = []
    with_reviews = Shop.objects.filter(Exists(Review.objects.filter(shop=OuterRef("pk")))).order_by("pk")
    for shop in with_reviews:
        figure = stored.get(_key(shop))
        if figure is None or not _of_the_shops_day(figure.value, shop, now):
            due.append(shop)
    return due
