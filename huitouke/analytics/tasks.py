"""The worker's periodic tasks of analytics that no other app orchestrates (the nightly rescoring and the refresh
after an import live in `huitouke.jobs`)."""

from __future__ import annotations

import logging

from huey import crontab

from huitouke.analytics.snapshots import figures_refresh_new_day
from huitouke.core.fleet import fleet_periodic_task

log = logging.getLogger(__name__)


@fleet_periodic_task(crontab(minute="*/15"))
def figures_new_day_periodic() -> dict[str, float] | None:
    """Every quarter of an hour: once some shop has begun a new day in its own time zone, refresh the stored
    figures (`figures_refresh_new_day`), so a page's first visit of the day reads them instead of counting."""
    seconds = figures_refresh_new_day()
    if seconds is not None:
        log.info("stored figures refreshed for a new shop day: %s", seconds)
    return seconds
