"""Whole-archive figures kept in the database (`FigureSnapshot`) instead of each web process's cache.

The customer groups (top 20 % of buyers against the rest) and the product quality table depend on every
order at once (who is in the top group moves with each purchase), so they are not kept per day: the refresh
after an import, the nightly job and the dashboard's "Refresh now" recompute them once (`snapshots_refresh`)
and every page view of every web process reads the stored result (`snapshot_read`).
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.utils import timezone

from huitouke.analytics import selectors
from huitouke.analytics.models import FigureSnapshot

T = TypeVar("T")

#: quality table rows kept (the products page shows this many)
QUALITY_LIMIT = 50


def _computers() -> dict[str, Callable[[], Any]]:
    return {
        "groups": selectors.customer_groups,
        "quality": lambda: selectors.product_quality(limit=QUALITY_LIMIT),
    }


def snapshot_store(*, key: str) -> Any:
    """Compute the figure `key` now and store it (replacing the previous one); return it."""
    started = time.perf_counter()
    value = _computers()[key]()
    FigureSnapshot.objects.update_or_create(
        key=key,
        defaults={
            "value": pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL),
            "computed_at": timezone.now(),
            "seconds": time.perf_counter() - started,
        },
    )
    return value


def snapshots_refresh() -> dict[str, float]:
    """Recompute every stored figure; returns the seconds each took."""
    out = {}
    for key in _computers():
        started = time.perf_counter()
        snapshot_store(key=key)
        out[key] = round(time.perf_counter() - started, 3)
    return out


def snapshot_read(key: str) -> Any:
    """The stored figure `key`; computed and stored on the first read (before any refresh) and when the stored
    value no longer fits the code (an upgrade changed its classes)."""
    row = FigureSnapshot.objects.filter(key=key).values_list("value", flat=True).first()
    if row is None:
        return snapshot_store(key=key)
    try:
        return pickle.loads(bytes(row))  # written by snapshot_store only, never from input
    except (pickle.UnpicklingError, AttributeError, ImportError, TypeError, EOFError):
        # stored by an older version of the code whose classes have changed since: compute it again
        return snapshot_store(key=key)
