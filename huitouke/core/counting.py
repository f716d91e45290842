"""Counting long lists: exact while it is cheap, the planner's estimate beyond that.

Counting a million rows reads a million index entries on every page view; a list only needs to say "about a
million". `list_count(qs)` counts at most `exact_up_to + 1` rows (an index range that stops early); when there
are more, PostgreSQL's row estimate for the same query stands in (marked `exact=False`, shown as "about").
SQLite (the embedded default, a small shop) always counts exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import QuerySet

#: Lists up to this many rows get an exact count.
EXACT_UP_TO = 10_000


@dataclass(frozen=True)
class ListCount:
    """How many rows a list has, and whether that is exact or the planner's estimate."""

    value: int
    exact: bool


def planner_estimate(qs: QuerySet[Any]) -> int | None:
    """PostgreSQL's estimate of the rows `qs` returns (EXPLAIN, nothing executed); None on other databases."""
    connection = connections[qs.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = qs.order_by().query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        raw = cur.fetchone()[0]
    plan = json.loads(raw) if isinstance(raw, str) else raw
    return int(plan[0]["Plan"]["Plan Rows"])


def list_count(qs: QuerySet[Any], *, exact_up_to: int | None = None) -> ListCount:
    """The number of rows of `qs`: exact up to `exact_up_to` (default EXACT_UP_TO), else the planner's estimate
    (never below exact_up_to + 1, since that many were seen)."""
    if exact_up_to is None:
        exact_up_to = EXACT_UP_TO
    seen = qs.order_by()[: exact_up_to + 1].count()
    if seen <= exact_up_to:
        return ListCount(seen, True)
    estimate = planner_estimate(qs)
    if estimate is None:
        return ListCount(qs.count(), True)
    return ListCount(max(estimate, exact_up_to + 1), False)
