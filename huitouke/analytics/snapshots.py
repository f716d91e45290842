"""Whole-archive figures kept in the database (`FigureSnapshot`) instead of each web process's cache.

The customer groups (top 20 % of buyers against the rest) and the product quality table depend on every
order at once (who is in the top group moves with each purchase), so they are not kept per day: the refresh
after an import, the nightly job and the dashboard's "Refresh now" recompute them once (`snapshots_refresh`)
and every page view of every web process reads the stored result (`snapshot_read`).

Apps above analytics keep their own such figures here too (service: the recovery effect) without analytics
importing them: they store and read with `figure_store` / `figure_read` under keys of their own, and register a
refresher in their AppConfig.ready() (`register_refresher`) that `snapshots_refresh` calls after the built-in
figures, so the refresh after an import and the nightly job bring theirs up to date as well.

Figures a page keeps for a day are out of date once its shop's day has turned; so that the first visit after a
shop's midnight does not count them inline, the worker looks every quarter of an hour whether any shop has begun
a new day in its own time zone since the last refresh and then refreshes them all (`figures_refresh_new_day`).
"""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.utils import timezone

from huitouke.analytics import selectors
from huitouke.analytics.models import FigureSnapshot
from huitouke.orders.models import Shop

T = TypeVar("T")

log = logging.getLogger(__name__)

#: quality table rows kept (the products page shows this many)
QUALITY_LIMIT = 50
#: the key under which `snapshots_refresh` keeps when it last began
REFRESHED_KEY = "figures.refreshed"


def _computers() -> dict[str, Callable[[], Any]]:
    return {
        "groups": selectors.customer_groups,
        "quality": lambda: selectors.product_quality(limit=QUALITY_LIMIT),
    }


#: refreshers of figures other apps store here: name → function recomputing them (see the module's doc)
_refreshers: dict[str, Callable[[], object]] = {}


def register_refresher(name: str, refresh: Callable[[], object]) -> None:
    _refreshers[name] = refresh


def unregister_refresher(name: str) -> None:
    _refreshers.pop(name, None)


@dataclass(frozen=True)
class StoredFigure:
    """A stored figure with when it was computed and how long that took."""

    value: Any
    computed_at: datetime
    seconds: float


def figure_store(*, key: str, compute: Callable[[], Any]) -> StoredFigure:
    """Compute a figure now and store it under `key` (replacing the previous one)."""
    started = time.perf_counter()
    value = compute()
    seconds = time.perf_counter() - started
    now = timezone.now()
    FigureSnapshot.objects.update_or_create(
        key=key,
        defaults={
            "value": pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL),
            "computed_at": now,
            "seconds": seconds,
        },
    )
    return StoredFigure(value, now, seconds)


def figure_read(*, key: str, compute: Callable[[], Any], current: Callable[[Any], bool] | None = None) -> StoredFigure:
    """The figure stored under `key`, computed and stored first when there is none, when the stored value no
    longer fits the code (an upgrade changed its classes) or when `current(value)` says it is out of date."""
    row = FigureSnapshot.objects.filter(key=key).values_list("value", "computed_at", "seconds").first()
    if row is None:
        return figure_store(key=key, compute=compute)
    try:
        value = pickle.loads(bytes(row[0]))  # written by figure_store only, never from input
    except (pickle.UnpicklingError, AttributeError, ImportError, TypeError, EOFError):
        # stored by an older version of the code whose classes have changed since: compute it again
        return figure_store(key=key, compute=compute)
    if current is not None and not current(value):
        return figure_store(key=key, compute=compute)
    return StoredFigure(value, row[1], row[2])


def figure_asked_recount(*, key: str, asked_at: datetime, when_missing: bool = True) -> bool:
    """Whether a worker asked at `asked_at` to recount the figure under `key` still has to: not when one was
    computed after the ask (a later ask did it already, so a burst of asks costs one recount), nor, with
    `when_missing` false, when none is stored (nobody has looked at it yet: its first view computes it)."""
    stored = FigureSnapshot.objects.filter(key=key)
    if not when_missing and not stored.exists():
        return False
    return not stored.filter(computed_at__gt=asked_at).exists()


def figure_keys(*, prefix: str) -> list[str]:
    """The keys stored that start with `prefix`, sorted."""
    return sorted(FigureSnapshot.objects.filter(key__startswith=prefix).values_list("key", flat=True))


def figures_refresh_by_shop(*, prefix: str, store: Callable[[Shop | None], str], overall: bool = False) -> list[str]:
    """A refresher of figures kept per shop under keys ending in ":shop=<id>": `store(shop)` recomputes the figure
    of each shop with one stored under `prefix` that still exists (with `overall`, first `store(None)`, the
    all-shops figure) and returns the key it wrote; every other key stored under `prefix` (a deleted shop's,
    another period's) is forgotten. Returns the keys written."""
    stored = figure_keys(prefix=prefix)
    ids = {int(key.rsplit(":shop=", 1)[1]) for key in stored if ":shop=" in key}
    shops = list(Shop.objects.filter(pk__in=ids).order_by("pk"))
    written = [store(shop) for shop in ([None] if overall else []) + shops]
    gone = sorted(set(stored) - set(written))
    if gone:
        figures_forget(keys=gone)
    return written


def figures_read(*, prefix: str) -> dict[str, StoredFigure]:
    """Every figure stored under a key that starts with `prefix`, in one query ({key: figure}); one stored by
    code whose classes have changed since is left out (its reader computes it again)."""
    out = {}
    rows = FigureSnapshot.objects.filter(key__startswith=prefix).values_list("key", "value", "computed_at", "seconds")
    for key, value, computed_at, seconds in rows:
        try:
            out[key] = StoredFigure(pickle.loads(bytes(value)), computed_at, seconds)  # written by figure_store only
        except (pickle.UnpicklingError, AttributeError, ImportError, TypeError, EOFError):
            continue
    return out


def figures_forget(*, keys: list[str]) -> None:
    """Drop the figures stored under these keys (what they were about is gone)."""
    FigureSnapshot.objects.filter(key__in=keys).delete()


def snapshot_store(*, key: str) -> Any:
    """Compute the built-in figure `key` now and store it (replacing the previous one); return it."""
    return figure_store(key=key, compute=_computers()[key]).value


def snapshots_refresh() -> dict[str, float]:
    """Recompute every stored figure, the built-in ones and then the registered refreshers'; returns the seconds
    each took. A refresher that fails is logged and skipped: the others' figures still move on. When it began is
    kept (`REFRESHED_KEY`), for `figures_day_turned`."""
    began = timezone.now()
    out = {}
    for key in _computers():
        started = time.perf_counter()
        snapshot_store(key=key)
        out[key] = round(time.perf_counter() - started, 3)
    for name, refresh in sorted(_refreshers.items()):
        started = time.perf_counter()
        try:
            with transaction.atomic():  # a database error rolls back to here and leaves the connection usable
                refresh()
        except Exception:  # one app's figure must not stop the nightly job or the refresh after an import
            log.exception("stored figures: refresher %s failed", name)
            continue
        out[name] = round(time.perf_counter() - started, 3)
    figure_store(key=REFRESHED_KEY, compute=lambda: began)
    return out


def figures_day_turned(*, now: datetime | None = None) -> bool:
    """Whether some shop has begun a new day in its own time zone since the last `snapshots_refresh` began: the
    figures a page keeps for a day (review analytics, service performance, care reach …) are then of yesterday,
    and the page's first visit would count them inline. None recorded yet: whether there is any shop."""
    zones = set(Shop.objects.values_list("timezone", flat=True).distinct())
    if not zones:
        return False
    stored = figures_read(prefix=REFRESHED_KEY).get(REFRESHED_KEY)
    if stored is None or not isinstance(stored.value, datetime):
        return True
    now = now or timezone.now()
    return any(_local_date(now, zone) != _local_date(stored.value, zone) for zone in zones)


def _local_date(at: datetime, zone: str) -> date:
    try:
        return at.astimezone(ZoneInfo(zone)).date()
    except (ZoneInfoNotFoundError, ValueError):  # a shop's zone is validated when saved; never fail the tick on it
        return timezone.localdate(at)


def figures_refresh_new_day(*, now: datetime | None = None) -> dict[str, float] | None:
    """`snapshots_refresh` when some shop has begun a new day since the last one (`figures_day_turned`), so the
    first visit after a shop's midnight finds its figures counted already; None when no shop has."""
    if not figures_day_turned(now=now):
        return None
    return snapshots_refresh()


def snapshot_read(key: str) -> Any:
    """The stored built-in figure `key`; computed and stored on the first read (before any refresh) and when the
    stored value no longer fits the code (an upgrade changed its classes)."""
    return figure_read(key=key, compute=_computers()[key]).value
