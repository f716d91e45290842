"""The dashboard's members per level as a stored figure.

Counting the memberships reads the whole table (0.7 s at 856,000 members), while they only move when a grading
changes some (every change is recorded as a LevelChange), when customers are merged or deleted, or when shops
change their levels. So the counts per level row are kept in FigureSnapshot with the id of the newest LevelChange
at the time: a page view reads them and the levels' few rows (names and ranks are always the live ones), and
counts again only when a LevelChange was recorded since. The nightly job, the refresh after an import and
"Refresh now" count again as well (`snapshots_refresh`), which brings merges and deletions in; the page says
when it counted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count

from huitouke.analytics.snapshots import figure_read, figure_store
from huitouke.loyalty.models import Level, LevelChange, Membership

KEY = "loyalty.members_per_level"


@dataclass(frozen=True)
class LevelCounts:
    """Members per level row (id → members) and the newest LevelChange id when they were counted."""

    last_change: int
    members: dict[int, int]


def _last_change() -> int:
    return LevelChange.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def level_counts_compute() -> LevelCounts:
    """Count the memberships per level now (the newest change is read first: a change landing in between makes
    the stored counts look older than they are, so they are counted again, never kept stale)."""
    last = _last_change()
    rows = Membership.objects.order_by().values("level_id").annotate(n=Count("id")).values_list("level_id", "n")
    return LevelCounts(last, dict(rows))


def level_counts_store() -> None:
    """Count again and store (the refreshers' entry)."""
    figure_store(key=KEY, compute=level_counts_compute)


def level_distribution_stored() -> tuple[dict[str, int], datetime]:
    """Members per level name, lowest rank first, summed over shops (levels without members count 0) — what
    `loyalty.selectors.level_distribution()` counts — from the stored counts, and when they were counted."""
    last = _last_change()
    stored = figure_read(
        key=KEY,
        compute=level_counts_compute,
        current=lambda v: isinstance(v, LevelCounts) and v.last_change == last,
    )
    counts: dict[int, int] = stored.value.members
    by_name: dict[str, tuple[int, int]] = {}  # name -> (lowest rank, members)
    for pk, name, rank in Level.objects.values_list("pk", "name", "rank"):
        low, n = by_name.get(name, (rank, 0))
        by_name[name] = (min(low, rank), n + counts.get(pk, 0))
    ordered = sorted(by_name.items(), key=lambda item: (item[1][0], item[0]))
    return {name: n for name, (_rank, n) in ordered}, stored.computed_at
