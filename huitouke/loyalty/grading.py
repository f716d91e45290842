"""The grading SQL of member levels, shared by the writes (services: regrade, review, a redefinition of the levels)
and by the reads that look ahead (selectors: the simulation, the at-risk list, the member export).

One aggregate over a shop's counted orders (paid, not closed, not fully refunded; within the rolling window when
the shop has one) FULL-joined to the memberships held, graded by an inline CASE over the shop's few levels: the
qualifying rank (either threshold), the rank held and the rank after the policy, for every customer at once.
No per-customer loops or subqueries. Private to the loyalty app; the rules it encodes are those of rules.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.db import connection

from huitouke.core.bulk import values_in
from huitouke.loyalty import rules
from huitouke.loyalty.models import Level, LevelPolicy, Membership
from huitouke.orders.models import Order, Shop

#: regrade: members only move up (rules.level_after_regrade); review: they also drop to what they qualify for once
#: the grace period has passed (rules.level_after_review); fresh: everyone lands where they qualify (new levels).
Mode = Literal["regrade", "review", "fresh"]

Sql = tuple[str, list[Any]]


@dataclass(frozen=True)
class Bar:
    """The thresholds of the level at `rank` (1 = lowest)."""

    rank: int
    min_amount: Decimal
    min_orders: int


def bars(levels: Sequence[rules.Thresholds]) -> list[Bar]:
    """Levels (lowest first) as ranked thresholds, ranks 1..n."""
    return [Bar(i + 1, lv.min_amount, lv.min_orders) for i, lv in enumerate(levels)]


@dataclass(frozen=True)
class Scope:
    """Which orders and members one grading reads: a shop, the counting window [start, until) (None = open) and
    optionally a set of customers."""

    shop_id: int
    start: datetime | None = None
    until: datetime | None = None
    ids: list[int] | None = None


def scope_for(
    shop: Shop,
    window_months: int | None,
    *,
    as_of: datetime,
    until: datetime | None = None,
    ids: list[int] | None = None,
) -> Scope:
    """The scope of a grading at `as_of`: a rolling window starts `window_months` calendar months earlier (shop
    time); `until` ends the counting (a review of a past day)."""
    start = None
    if window_months:
        start = rules.months_before(as_of.astimezone(ZoneInfo(shop.timezone)), window_months)
    return Scope(shop_id=shop.pk, start=start, until=until, ids=ids)


def _adapt(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def counted_sql(scope: Scope) -> Sql:
    """Per customer of the shop: the counted amount (`spent`, paid minus refunded) and counted orders (`n`)."""
    counted = ", ".join(f"'{s}'" for s in Order.COUNTED)  # fixed enum values, not user input
    where, params = ["o.shop_id = %s"], [scope.shop_id]
    if scope.start is not None:
        where.append("o.ordered_at >= %s")
        params.append(_adapt(scope.start))
    if scope.until is not None:
        where.append("o.ordered_at < %s")
        params.append(_adapt(scope.until))
    if scope.ids is not None:
        ids = values_in(scope.ids, "bigint")
        where.append(f"o.customer_id IN ({ids.sql})")
        params.extend(ids.params)
    sql = (
        "SELECT o.customer_id, SUM(o.paid_amount - o.refund_amount) AS spent, COUNT(*) AS n"
        f" FROM {Order._meta.db_table} o"
        f" WHERE {' AND '.join(where)} AND o.status IN ({counted})"
        " AND (o.refund_amount = 0 OR o.refund_amount < o.paid_amount)"
        " GROUP BY o.customer_id"
    )
    return sql, params


def held_sql(scope: Scope) -> Sql:
    """The shop's memberships (of the scoped customers): customer, rank held and when they last qualified."""
    where, params = ["m.shop_id = %s"], [scope.shop_id]
    if scope.ids is not None:
        ids = values_in(scope.ids, "bigint")
        where.append(f"m.customer_id IN ({ids.sql})")
        params.extend(ids.params)
    sql = (
        "SELECT m.customer_id, l.rank, m.qualified_at"
        f" FROM {Membership._meta.db_table} m JOIN {Level._meta.db_table} l ON l.id = m.level_id"
        f" WHERE {' AND '.join(where)}"
    )
    return sql, params


def rank_case(levels: Sequence[Bar], spent: str = "spent", n: str = "n") -> Sql:
    """The highest rank whose amount OR order threshold is met, NULL if none (rules.qualifying_index)."""
    if not levels:  # every level removed: nobody qualifies (typed, or PostgreSQL takes the bare NULL for text)
        return "CAST(NULL AS INTEGER)", []
    # CAST: on SQLite a SUM has no type affinity and would compare with the Decimal parameter as text
    whens = " ".join(f"WHEN {spent} >= CAST(%s AS NUMERIC) OR {n} >= %s THEN %s" for _bar in levels)
    params: list[Any] = [v for b in reversed(levels) for v in (b.min_amount, b.min_orders, b.rank)]
    return f"CASE {whens} ELSE NULL END", params


def graded_sql(scope: Scope, levels: Sequence[Bar], *, mode: Mode, drop_before: datetime | None = None) -> Sql:
    """Every customer of the scope who bought (counted orders) or holds a membership, one row each:
    customer_id, spent, n, q_rank (qualifying), old_rank (held), new_rank (after `mode`), qualified_at.
    Ranks start at 1; NULL = no level. In mode review a member qualifying for less than they hold drops when they
    last qualified before `drop_before` (or never did, as far as we know). (FULL OUTER JOIN: SQLite 3.39+.)"""
    counted, counted_params = counted_sql(scope)
    held, held_params = held_sql(scope)
    case, case_params = rank_case(levels)
    drop_params: list[Any] = []
    if mode == "fresh":
        new = "q_rank"
    else:
        drop = "1 = 0"
        if mode == "review":
            drop = "(qualified_at IS NULL OR qualified_at <= %s)"
            drop_params.append(_adapt(drop_before) if drop_before is not None else None)
        new = (
            "CASE WHEN COALESCE(q_rank, 0) >= COALESCE(old_rank, 0) THEN q_rank"
            f" WHEN {drop} THEN q_rank ELSE old_rank END"
        )
    sql = f"""
        SELECT customer_id, spent, n, q_rank, old_rank, {new} AS new_rank, qualified_at FROM (
            SELECT customer_id, spent, n, {case} AS q_rank, old_rank, qualified_at FROM (
                SELECT COALESCE(s.customer_id, h.customer_id) AS customer_id, COALESCE(s.spent, 0) AS spent,
                       COALESCE(s.n, 0) AS n, h.rank AS old_rank, h.qualified_at AS qualified_at
                FROM ({counted}) s FULL OUTER JOIN ({held}) h ON h.customer_id = s.customer_id
            ) joined
        ) graded"""
    return sql, [*drop_params, *case_params, *counted_params, *held_params]


#: Planner settings for a statement that grades a whole shop (see whole_shop_plan).
_WHOLE_SHOP = {"enable_indexscan": "off", "enable_nestloop": "off", "jit": "off"}


@contextmanager
def whole_shop_plan(cur: Any, scope: Scope, *, session: bool = False) -> Iterator[None]:
    """Around a statement that grades a whole shop on PostgreSQL: no plain index scans, no nested loops, no JIT.
    The planner likes to read the orders in customer order through the customer index, which visits the table at
    random (measured 11 s instead of 4 s for 3M orders); with the statistics of a freshly graded membership table
    it may loop over hundreds of thousands of members per aggregated row; and JIT spends a second compiling a
    statement that is bound by reading and hashing. A sequential scan feeding hash aggregates and hash joins reads
    everything once. A scoped grading (a few customers after an import) keeps the defaults.

    The settings are local to the caller's transaction; with `session` (a statement run in autocommit, such as a
    cursor declared WITH HOLD) they are set for the session and put back afterwards, error or not."""
    if connection.vendor != "postgresql" or scope.ids is not None:
        yield
        return
    names = list(_WHOLE_SHOP)
    cur.execute("SELECT " + ", ".join("current_setting(%s)" for _ in names), names)
    before = dict(zip(names, cur.fetchone(), strict=True))
    _configure(cur, _WHOLE_SHOP, local=not session)
    if session:
        try:
            yield
        finally:
            _configure(cur, before, local=False)
        return
    yield  # (on an error the rollback restores the settings)
    _configure(cur, before, local=True)


def _configure(cur: Any, values: dict[str, str], *, local: bool) -> None:
    scope = "true" if local else "false"
    cur.execute(
        "SELECT " + ", ".join(f"set_config(%s, %s, {scope})" for _ in values),
        [v for item in values.items() for v in item],
    )


def policy_of(shop: Shop) -> LevelPolicy:
    """The shop's level policy, or the default one (lifetime, never drop) when none was saved."""
    return LevelPolicy.objects.filter(shop=shop).first() or LevelPolicy(shop=shop)
