"""The shop's credit from its stored reviews: facts read from the database, the pure rules of `reviews.credit`
applied, the ledger columns of every review written back in a few set-based statements, and the summary the API,
the CLI and the credit page show.

Writing back is set-based: a ledger holds only a handful of distinct (scores, reason, points) triples, so the
review ids are grouped by triple and each group is written with one `UPDATE … WHERE id = ANY(%s)` on PostgreSQL
(chunks of `IN (…)` on SQLite) instead of one statement per review.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone

from huitouke.orders.models import Order, Shop
from huitouke.reviews.credit import CreditRules, Explanation, Ledger, ReviewFact, credit_ledger, rules_with, what_if
from huitouke.reviews.models import CreditSettings, Review
from huitouke.reviews.selectors import credit_settings_get

#: reviews read per round trip
CHUNK = 20_000
SUCCESS = (Order.Status.COMPLETED,)
PAID = (Order.Status.PAID, Order.Status.SHIPPED, Order.Status.DELIVERED, Order.Status.COMPLETED)


def rules_of(settings: CreditSettings) -> CreditRules:
    """The preset with the shop's numbers."""
    return rules_with(
        settings.preset,
        rating_period_days=settings.rating_period_days,
        default_good_after_days=settings.default_good_after_days,
        monthly_cap=settings.monthly_cap,
        same_item_days=settings.same_item_days,
    )


_FACT_FIELDS = (
    "pk",
    "tid",
    "oid",
    "role",
    "result",
    "created_at",
    "anonymous",
    "is_default",
    "customer_id",
    "num_iid",
    "item_title",
    "order__status",
    "order__ordered_at",
    "order__paid_at",
    "order__confirmed_at",
    "order__delivered_at",
)
_TIMES = (5, 12, 13, 14, 15)


def _fact_rows(shop: Shop, at: dt.datetime | None) -> Iterator[tuple[Any, ...]]:
    qs = Review.objects.filter(shop=shop)
    if at is not None:
        qs = qs.filter(created_at__lte=at)
    yield from qs.values_list(*_FACT_FIELDS).order_by().iterator(chunk_size=CHUNK)


def _fact_rows_pg(shop: Shop, at: dt.datetime | None) -> Iterator[tuple[Any, ...]]:
    """The same rows on PostgreSQL, its instants read as epoch seconds (turning those into datetimes is several
    times cheaper than parsing timestamps, and the read is most of a large recomputation)."""
    r, o = Review._meta.db_table, Order._meta.db_table
    epoch = "extract(epoch from {})::float8"
    sql = (
        f"SELECT r.id, r.tid, r.oid, r.role, r.result, {epoch.format('r.created_at')}, r.anonymous, r.is_default, "
        f"r.customer_id, r.num_iid, r.item_title, o.status, {epoch.format('o.ordered_at')}, "
        f"{epoch.format('o.paid_at')}, {epoch.format('o.confirmed_at')}, {epoch.format('o.delivered_at')} "
        f"FROM {r} r JOIN {o} o ON o.id = r.order_id WHERE r.shop_id = %s"
    )
    params: list[Any] = [shop.pk]
    if at is not None:
        sql += " AND r.created_at <= %s"
        params.append(at)
    stamp = dt.datetime.fromtimestamp
    utc = dt.UTC
    with connection.chunked_cursor() as cur:
        cur.execute(sql, params)
        while batch := cur.fetchmany(CHUNK):
            for row in batch:
                values = list(row)
                for i in _TIMES:
                    if values[i] is not None:
                        values[i] = stamp(values[i], utc)
                yield tuple(values)


def review_facts(*, shop: Shop, at: dt.datetime | None = None) -> Iterator[ReviewFact]:
    """Every review of the shop (given by `at`) as a rule fact: the buyer is the customer, the item the item id
    (else its title, else the order), success is the order's completion (confirmation time, else the latest
    known time of the trade)."""
    rows = _fact_rows_pg(shop, at) if connection.vendor == "postgresql" else _fact_rows(shop, at)
    seller = str(shop.pk)
    for (
        pk,
        tid,
        oid,
        role,
        result,
        created,
        anon,
        default,
        cid,
        iid,
        title,
        status,
        ordered,
        paid_at,
        conf,
        deliv,
    ) in rows:
        successful = status in SUCCESS
        yield ReviewFact(
            id=str(pk),
            line_key=f"{tid}/{oid}",
            role=role,
            result=result,
            created_at=created,
            trade_created_at=ordered,
            trade_success_at=(conf or deliv or ordered) if successful else None,
            paid=status in PAID or paid_at is not None,
            successful=successful,
            buyer=str(cid),
            seller=seller,
            item=iid or title or tid,
            anonymous=anon,
            is_default=default,
        )


def credit_ledger_for(*, shop: Shop, at: dt.datetime | None = None) -> Ledger:
    """The shop's ledger as of `at` (default now) under its settings."""
    when = at or timezone.now()
    rules = rules_of(credit_settings_get(shop=shop))
    return credit_ledger(rules, review_facts(shop=shop, at=when), tz=ZoneInfo(shop.timezone), at=when)


def credit_recompute(*, shop: Shop, at: dt.datetime | None = None) -> Ledger:
    """Recompute the shop's ledger and store, on every review, whether it scores, why not and its points."""
    ledger = credit_ledger_for(shop=shop, at=at)
    groups: dict[tuple[bool, str, int], list[int]] = defaultdict(list)
    for e in ledger.entries:
        if not e.generated:
            groups[(e.scores, e.reason or "", e.points)].append(int(e.id))
    table = Review._meta.db_table
    with transaction.atomic(), connection.cursor() as cur:
        for (scores, reason, points), ids in groups.items():
            sql = f"UPDATE {table} SET scores = %s, not_scored_reason = %s, points = %s WHERE id "
            if connection.vendor == "postgresql":
                cur.execute(sql + "= ANY(%s)", [scores, reason, points, ids])
            else:
                for i in range(0, len(ids), 900):
                    part = ids[i : i + 900]
                    cur.execute(sql + f"IN ({','.join(['%s'] * len(part))})", [scores, reason, points, *part])
    return ledger


def credit_summary(*, shop: Shop, at: dt.datetime | None = None) -> dict[str, Any]:
    """What `GET /api/v1/credit` and `huitouke credit --json` answer."""
    ledger = credit_ledger_for(shop=shop, at=at)
    return summary_of(ledger)


def summary_of(ledger: Ledger) -> dict[str, Any]:
    return {
        "preset": ledger.rules.preset,
        "score": ledger.score,
        "level": {"index": ledger.level.index, "name": ledger.level.name},
        "next_level_at": ledger.level.next_at,
        "reviews": ledger.reviews,
        "scored": ledger.scored,
        "not_scored": dict(sorted(ledger.not_scored.items())),
    }


def credit_what_if(*, shop: Shop, order_no: str, result: str, at: dt.datetime | None = None) -> Explanation:
    """What a buyer rating `result` of the order `order_no` given now would do to the shop's credit (replacing
    the buyer's rating of that order, when there is one)."""
    from huitouke.core.errors import NotFoundError

    when = at or timezone.now()
    order = Order.objects.filter(shop=shop, order_no=order_no).first()
    if order is None:
        raise NotFoundError(f"order {order_no} is not in the archive of {shop.name}", field="order_no")
    line_key = f"{order_no}/"
    facts = [f for f in review_facts(shop=shop, at=when) if not (f.role == "buyer" and f.line_key.startswith(line_key))]
    successful = order.status in SUCCESS
    new = ReviewFact(
        id="what-if",
        line_key=line_key,
        role="buyer",
        result=result,  # type: ignore[arg-type]  # checked by the form
        created_at=when,
        trade_created_at=order.ordered_at,
        trade_success_at=(order.confirmed_at or order.delivered_at or order.ordered_at) if successful else None,
        paid=order.status in PAID or order.paid_at is not None,
        successful=successful,
        buyer=str(order.customer_id),
        seller=str(shop.pk),
        item=order_no,
    )
    rules = rules_of(credit_settings_get(shop=shop))
    return what_if(rules, facts, new, tz=ZoneInfo(shop.timezone), at=when)
