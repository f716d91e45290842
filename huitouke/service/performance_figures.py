"""Staff performance as a stored figure: the report reads every ticket opened in its period with its owners,
products and business-minute clocks (45,000 tickets for the default 30 days at a million tickets: 3-6 s), so the
figures of a period and shop are computed once, stored in analytics' FigureSnapshot under that period and shop,
and read by every web process. The page says when they were computed and offers "Recompute" (a background job);
analytics' refresh (after imports, nightly) recomputes the default period (the last 30 days) for all shops and
each shop viewed and drops the stored custom periods (they are recomputed on their next view). A page asking for
figures stored on an earlier business day, or none, computes them itself."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils import timezone

from huitouke.analytics.snapshots import (
    StoredFigure,
    figure_read,
    figure_store,
    figures_refresh_by_shop,
)
from huitouke.orders.models import Shop
from huitouke.service import performance as perf
from huitouke.service import report_selectors
from huitouke.service.surveys.rules import Figures as CsatFigures
from huitouke.service.surveys.selectors import csat_by_agent

KEY = "service.performance"


@dataclass(frozen=True)
class PerformanceFigures:
    """Everything the performance page shows for one period and shop, as of the business date `today`."""

    today: date
    start: date
    end: date
    count: int
    agents: list[perf.Figures]
    types: list[perf.Figures]
    products: list[perf.Figures]
    csat: dict[str, CsatFigures]
    compensation: dict[str, list[tuple[str, int, Decimal, Decimal]]]


def _key(period: report_selectors.Period, shop: Shop | None) -> str:
    base = f"{KEY}:start={period.start.isoformat()}:end={period.end.isoformat()}"
    return base if shop is None else f"{base}:shop={shop.pk}"


def _slim(figures: list[perf.Figures]) -> list[perf.Figures]:
    # the per-ticket minutes behind the medians are spent once the figures are finished: not stored
    return [dataclasses.replace(f, _first=[], _resolution=[]) for f in figures]


def performance_compute(
    *, period: report_selectors.Period, shop: Shop | None, today: date | None = None
) -> PerformanceFigures:
    """The page's figures computed now from the tickets, the compensation ledger and the surveys."""
    facts = report_selectors.ticket_facts(period=period, shop=shop)
    granted = report_selectors.compensation_by_agent(period=period, shop=shop)
    return PerformanceFigures(
        today=today or timezone.localdate(),
        start=period.start,
        end=period.end,
        count=len(facts),
        agents=_slim(perf.by_agent(facts, granted)),
        types=_slim(perf.by_key(facts, lambda t: (t.type,))),
        products=_slim(perf.by_key(facts, lambda t: t.products)),
        csat=csat_by_agent(shop, period.start, period.end),
        compensation={
            by: report_selectors.compensation_report(period=period, by=by, shop=shop)
            for by in report_selectors.COMPENSATION_GROUPS
        },
    )


def performance_figures(
    *, period: report_selectors.Period, shop: Shop | None, today: date | None = None
) -> StoredFigure:
    """The stored figures of the period and shop (`.value` a PerformanceFigures), computed now when none are
    stored or the stored ones are of an earlier business day."""
    today = today or timezone.localdate()
    return figure_read(
        key=_key(period, shop),
        compute=lambda: performance_compute(period=period, shop=shop, today=today),
        current=lambda v: isinstance(v, PerformanceFigures) and v.today == today,
    )


def performance_recompute(*, start: date, end: date, shop_id: int | None) -> StoredFigure | None:
    """Compute and store the figures of one period and shop now (the page's "Recompute"); None when the shop
    was deleted since."""
    shop = None
    if shop_id is not None:
        shop = Shop.objects.filter(pk=shop_id).first()
        if shop is None:
            return None
    period = report_selectors.Period(start, end)
    return figure_store(key=_key(period, shop), compute=lambda: performance_compute(period=period, shop=shop))


def _computer(period: report_selectors.Period, shop: Shop | None, today: date) -> Callable[[], PerformanceFigures]:
    return lambda: performance_compute(period=period, shop=shop, today=today)


def performance_figures_refresh(*, today: date | None = None) -> list[str]:
    """Recompute the default period (the last 30 days up to today) for all shops and for each shop stored
    before; drop every other stored period and deleted shop. Returns the keys written."""
    today = today or timezone.localdate()
    period = report_selectors.period_from("", "", today=today)

    def store(shop: Shop | None) -> str:
        key = _key(period, shop)
        figure_store(key=key, compute=_computer(period, shop, today))
        return key

    return figures_refresh_by_shop(prefix=f"{KEY}:", store=store, overall=True)
