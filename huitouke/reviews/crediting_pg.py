"""The set-based half of a credit recomputation on PostgreSQL.

Every credit rule is local to one buyer–seller pair: the monthly cap counts a pair's month, the same-item rule a
pair's item, a default rating hangs on one order line of the pair. So a buyer whose ratings cannot meet each other
under those rules — no rating by the shop of them, no imported default, no two eligible ratings of one item within
the same-item window (nor three of one item at all: a cheap superset), at most `monthly_cap` eligible 好评/差评 in
any month — gets from the ledger exactly what the eligibility checks alone give each rating (paid and successful
trade, inside the rating period). Those checks are one SQL expression; the buyers who fail the test ("interacting
buyers", usually a small share) go through the pure rules module, reading only their own reviews. The result is
the ledger `reviews.credit.credit_ledger` would give; `tests/test_crediting.py` compares the two on data built to
hit every rule.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db import connection

from huitouke.orders.models import Order, Shop
from huitouke.reviews.credit import CreditRules
from huitouke.reviews.models import Review, ReviewCredit

_PAID = "'paid', 'shipped', 'delivered', 'completed'"


@dataclass(frozen=True)
class SimplePart:
    """Totals of the buyers handled in SQL: score, buyer reviews, scored, not scored by reason, and the points of
    the scoring ratings per month they were given (first day of the month, shop time)."""

    score: int
    reviews: int
    scored: int
    not_scored: Counter[str]
    points_by_month: Counter[dt.date]


#: the first key of the advisory lock that serialises writes of a shop's ledger (the second is the shop's id)
_LEDGER_LOCK = 17017


def ledger_lock(shop_id: int) -> None:
    """Inside the caller's transaction, before the ledger is read: wait for any other write of this shop's
    ledger to finish, so that the rows read as missing are still missing when they are inserted."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LEDGER_LOCK, shop_id])


def _calc_sql(rules: CreditRules, tmall: bool) -> str:
    """SELECT of every plain buyer rating (not a default) given by `at`: its buyer, item, the trade's local
    creation time and the eligibility reason ('' when it is eligible) — the checks of `credit.ledger._eligibility`
    for a rating that is not a default."""
    start = (
        "o.ordered_at"
        if rules.rating_period_from == "created"
        else "COALESCE(o.confirmed_at, o.delivered_at, o.ordered_at)"
    )
    reason = (
        "CASE "
        + ("WHEN true THEN 'tmall_no_credit' " if tmall and rules.tmall_no_credit else "")
        + f"WHEN NOT ((o.status IN ({_PAID}) OR o.paid_at IS NOT NULL) AND o.status = 'completed') "
        "THEN 'not_paid_or_not_successful' "
        f"WHEN r.created_at < {start} OR r.created_at > {start} + make_interval(secs => %(period)s) "
        "THEN 'outside_rating_period' ELSE '' END"
    )
    return (
        "SELECT r.id, r.customer_id AS b, r.result, l.scores AS was_scores, l.reason AS was_reason, "
        "l.points AS was_points, "
        # the item's hash: two items sharing one only merge their groups, which can only add interacting buyers
        "hashtext(COALESCE(NULLIF(r.num_iid, ''), NULLIF(r.item_title, ''), r.tid)) AS item, "
        f"(o.ordered_at AT TIME ZONE %(tz)s) AS local, (r.created_at AT TIME ZONE %(tz)s) AS rated, "
        f"{reason} AS reason "
        f"FROM {Review._meta.db_table} r JOIN {Order._meta.db_table} o ON o.id = r.order_id "
        f"LEFT JOIN {ReviewCredit._meta.db_table} l ON l.review_id = r.id "
        "WHERE r.shop_id = %(shop)s AND r.role = 'buyer' AND NOT r.is_default AND r.created_at <= %(at)s"
    )


def stage(
    *, shop: Shop, rules: CreditRules, at: dt.datetime, tmall: bool = False, customer_ids: list[int] | None = None
) -> None:
    """Inside the caller's transaction: temporary tables `credit_calc` (every plain buyer rating with its
    eligibility) and `credit_complex` (the interacting buyers), both dropped at commit; only the ratings of
    `customer_ids` when given (a refresh of the buyers an import touched)."""
    params: dict[str, Any] = {
        "buyers": customer_ids,
        "shop": shop.pk,
        "at": at,
        "tz": shop.timezone,
        "period": rules.rating_period_days * 86400,
        "span": rules.same_item_days,
        "cap": rules.monthly_cap,
    }
    r = Review._meta.db_table
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS credit_calc, credit_complex, credit_buyers")
        buyers = ""
        if customer_ids is not None:
            # The buyers as a table the plans join (a semi-join through its key), not `= ANY(array)`: in a scan's
            # filter the array is searched element by element for every rating, which made a refresh of 500,000
            # buyers after a large review import run for hours (100 s for 10,000 buyers over 1,000,000 ratings)
            cur.execute("CREATE TEMP TABLE credit_buyers (b bigint PRIMARY KEY) ON COMMIT DROP")
            cur.execute("INSERT INTO credit_buyers SELECT DISTINCT unnest(%(buyers)s::bigint[])", params)
            cur.execute("ANALYZE credit_buyers")
            buyers = " AND customer_id IN (SELECT b FROM credit_buyers)"
        calc = _calc_sql(rules, tmall) + buyers.replace("customer_id", "r.customer_id")
        # no ANALYZE: the plans below are the same without it (aggregates, a hash join with the small set of
        # interacting buyers) and it costs a tenth of the whole
        cur.execute(f"CREATE TEMP TABLE credit_calc ON COMMIT DROP AS {calc}", params)
        cur.execute(
            "CREATE TEMP TABLE credit_complex ON COMMIT DROP AS "
            f"SELECT customer_id AS b FROM {r} WHERE shop_id = %(shop)s AND created_at <= %(at)s "
            f"AND (role = 'seller' OR is_default){buyers} "
            # two eligible ratings of one item closer than the window, or three or more (a superset: the rules
            # module then decides exactly; one hash aggregate instead of sorting every rating)
            "UNION SELECT b FROM credit_calc WHERE reason = '' GROUP BY b, item "
            "HAVING count(*) > 2 OR (count(*) = 2 AND max(local::date) - min(local::date) < %(span)s) "
            "UNION SELECT b FROM credit_calc WHERE reason = '' AND result <> 'neutral' "
            "GROUP BY b, date_trunc('month', local) HAVING count(*) > %(cap)s",
            params,
        )
        cur.execute("ALTER TABLE credit_complex ADD PRIMARY KEY (b)")
        cur.execute("ANALYZE credit_complex")


_POINTS = "CASE WHEN c.reason <> '' THEN 0 WHEN c.result = 'good' THEN 1 WHEN c.result = 'bad' THEN -1 ELSE 0 END"
_SIMPLE = "NOT EXISTS (SELECT 1 FROM credit_complex x WHERE x.b = c.b)"


def simple_totals() -> SimplePart:
    """Totals of the staged ratings of the buyers who do not interact (one pass: by reason and month)."""
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT c.reason, date_trunc('month', c.rated)::date, count(*), sum({_POINTS}) FROM credit_calc c "
            f"WHERE {_SIMPLE} GROUP BY 1, 2"
        )
        rows = cur.fetchall()
    not_scored: Counter[str] = Counter()
    by_month: Counter[dt.date] = Counter()
    score = reviews = scored = 0
    for reason, month, n, points in rows:
        reviews += n
        if reason:
            not_scored[reason] += n
        else:
            scored += n
            score += int(points or 0)
            by_month[month] += int(points or 0)
    return SimplePart(score=score, reviews=reviews, scored=scored, not_scored=not_scored, points_by_month=by_month)


def simple_store() -> int:
    """Write the staged ledger of the buyers who do not interact, only the rows that are new or differ from the
    ledger staged with them (so a recomputation that changes nothing writes nothing): one INSERT of the missing
    ledger rows (safe without ON CONFLICT under `ledger_lock`, and a third cheaper) and one UPDATE of the
    changed ones; returns the number of reviews written."""
    t = ReviewCredit._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {t} (review_id, scores, reason, points) "
            f"SELECT c.id, c.reason = '', c.reason, {_POINTS} FROM credit_calc c "
            f"WHERE {_SIMPLE} AND c.was_scores IS NULL"
        )
        written = int(cur.rowcount)
        cur.execute(
            f"UPDATE {t} l SET scores = c.reason = '', reason = c.reason, points = {_POINTS} FROM credit_calc c "
            f"WHERE l.review_id = c.id AND {_SIMPLE} AND c.was_scores IS NOT NULL "
            f"AND (c.was_scores <> (c.reason = '') OR c.was_reason <> c.reason OR c.was_points <> {_POINTS})"
        )
        return written + int(cur.rowcount)


def complex_filter() -> str:
    """The WHERE fragment that keeps the reviews of the interacting buyers (alias `r`)."""
    return "r.customer_id IN (SELECT b FROM credit_complex)"
