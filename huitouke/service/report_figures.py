"""The recovery effect as a stored figure: its counts for a day only change when history is imported (every
anchor's window ended before today), while counting them reads a year of orders. So they are computed once per
business day, for all shops and for each shop someone asked about, stored in analytics' FigureSnapshot and read
by every web process: the refresh after an order import and the nightly job (through analytics' refresher
registry), the after-sales import, and the page's "Recompute" recompute them; the page computes them itself only
when none are stored yet or they were computed on an earlier day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from huitouke.analytics.snapshots import (
    StoredFigure,
    figure_read,
    figure_store,
    figures_refresh_by_shop,
)
from huitouke.orders.models import Shop
from huitouke.service.report_selectors import RECOVERY_WINDOWS, recovery_counts

KEY = "service.recovery"


@dataclass(frozen=True)
class RecoveryFigures:
    """The recovery counts of each window (days → group → (observed, bought again)) as of the business date
    `today`."""

    today: date
    counts: dict[int, dict[str, tuple[int, int]]]


def _key(shop: Shop | None) -> str:
    return KEY if shop is None else f"{KEY}:shop={shop.pk}"


def _compute(shop: Shop | None, today: date) -> RecoveryFigures:
    return RecoveryFigures(
        today=today, counts={days: recovery_counts(days=days, today=today, shop=shop) for days in RECOVERY_WINDOWS}
    )


def recovery_figures(*, shop: Shop | None, today: date | None = None) -> StoredFigure:
    """The stored recovery figures for all shops (`shop` None) or one shop, computed now when none are stored or
    the stored ones are of another day. `.value` is a RecoveryFigures."""
    today = today or timezone.localdate()
    return figure_read(
        key=_key(shop),
        compute=lambda: _compute(shop, today),
        current=lambda value: (
            isinstance(value, RecoveryFigures) and value.today == today and set(value.counts) == set(RECOVERY_WINDOWS)
        ),
    )


def recovery_figures_refresh(*, today: date | None = None) -> list[str]:
    """Recompute the figures for all shops and for each shop stored before (a shop since deleted is dropped);
    returns the keys written."""
    today = today or timezone.localdate()

    def store(shop: Shop | None) -> str:
        _store(shop, today)
        return _key(shop)

    return figures_refresh_by_shop(prefix=f"{KEY}:shop=", store=store, overall=True)


def _store(shop: Shop | None, today: date) -> StoredFigure:
    return figure_store(key=_key(shop), compute=lambda: _compute(shop, today))
