"""Orchestration across apps: what runs after an import, and the background tasks the worker executes.

Only this module calls across the app table upward; the apps themselves never call an app above them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from huitouke.loyalty.services import levels_regrade
from huitouke.orders.services import customer_stats_refresh

log = logging.getLogger(__name__)


def refresh_after_orders_changed(*, customer_ids: Iterable[int] | None) -> dict[str, int]:
    """The follow-ups of new or changed orders, for the touched customers only (None = everyone):
    customer stats, then member levels. Later issues add rescoring here."""
    ids = None if customer_ids is None else sorted(set(customer_ids))
    stats = customer_stats_refresh(customer_ids=ids)
    memberships = levels_regrade(customer_ids=ids)
    return {"customers_refreshed": stats, "memberships": memberships}
