"""The shop's credit from its stored reviews: facts read from the database, the pure rules of `reviews.credit`
applied, the ledger columns of every review written back in a few set-based statements, and the summary the API,
the CLI and the credit page show.

Writing back is set-based: the ledger rows (`ReviewCredit`, a narrow table of its own) are inserted or updated in
one statement on PostgreSQL (from arrays) and in a few on SQLite, and only rows whose values change are written.
On PostgreSQL a full recomputation leaves the buyers whose ratings cannot interact to SQL (`crediting_pg`).
After a write touching some buyers, `credit_refresh` recomputes only theirs (every rule is local to a buyer).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone

from huitouke.orders.models import Order, Shop
from huitouke.reviews import crediting_pg
from huitouke.reviews.credit import (
    CreditRules,
    Entry,
    Explanation,
    HistoryPoint,
    Ledger,
    Level,
    ReviewFact,
    credit_ledger,
    history_of,
    level_for,
    rules_with,
    what_if,
)
from huitouke.reviews.models import CreditSettings, Review, ReviewCredit
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


def _fact_rows(shop: Shop, at: dt.datetime | None, customer_ids: list[int] | None) -> Iterator[tuple[Any, ...]]:
    qs = Review.objects.filter(shop=shop)
    if at is not None:
        qs = qs.filter(created_at__lte=at)
    if customer_ids is not None:
        for i in range(0, len(customer_ids), 900):
            part = qs.filter(customer_id__in=customer_ids[i : i + 900])
            yield from part.values_list(*_FACT_FIELDS).order_by().iterator(chunk_size=CHUNK)
        return
    yield from qs.values_list(*_FACT_FIELDS).order_by().iterator(chunk_size=CHUNK)


def _fact_rows_pg(
    shop: Shop, at: dt.datetime | None, customer_ids: list[int] | None, interacting: bool
) -> Iterator[tuple[Any, ...]]:
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
    if customer_ids is not None:
        sql += " AND r.customer_id = ANY(%s)"
        params.append(customer_ids)
    if interacting:
        sql += " AND " + crediting_pg.complex_filter()
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


def review_facts(
    *, shop: Shop, at: dt.datetime | None = None, customer_ids: list[int] | None = None, interacting: bool = False
) -> Iterator[ReviewFact]:
    """Every review of the shop (given by `at`; of `customer_ids` when given; of the staged interacting buyers
    with `interacting`, PostgreSQL only) as a rule fact: the buyer is the customer, the item the item id (else its
    title, else the order), success is the order's completion (confirmation time, else the latest known time of
    the trade)."""
    if connection.vendor == "postgresql":
        rows = _fact_rows_pg(shop, at, customer_ids, interacting)
    else:
        rows = _fact_rows(shop, at, customer_ids)
    seller = str(shop.pk)
    tmall = credit_settings_get(shop=shop).tmall
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
            tmall=tmall,
        )


@dataclass(frozen=True)
class CreditTotals:
    """The shop's credit as of `at` without the per-review entries: what the API, the CLI and the credit page's
    figures show (the attribute names of `credit.Ledger`). `written`: reviews whose stored ledger changed."""

    rules: CreditRules
    at: dt.datetime
    score: int
    level: Level
    reviews: int
    scored: int
    not_scored: dict[str, int]
    written: int = 0
    history: tuple[HistoryPoint, ...] = ()


#: ledger rows per statement on SQLite (four parameters each, under its limit of 999)
_SQLITE_ROWS = 200


def _upsert_sql(values: str) -> str:
    """INSERT ledger rows from `values`, updating an existing row only where it differs (so the row count is the
    number of reviews whose ledger changed)."""
    t = ReviewCredit._meta.db_table
    return (
        f"INSERT INTO {t} (review_id, scores, reason, points) {values} "
        "ON CONFLICT (review_id) DO UPDATE SET scores = excluded.scores, reason = excluded.reason, "
        f"points = excluded.points WHERE {t}.scores <> excluded.scores OR {t}.reason <> excluded.reason "
        f"OR {t}.points <> excluded.points"
    )


def _store(entries: Iterable[Entry]) -> int:
    """Write the ledger rows of the entries' reviews where they changed (one statement on PostgreSQL, from
    arrays; rows of a few hundred per statement on SQLite). Returns the reviews whose ledger changed."""
    rows = [(int(e.id), e.scores, e.reason or "", e.points) for e in entries if not e.generated]
    if not rows:
        return 0
    written = 0
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            columns = [list(c) for c in zip(*rows, strict=True)]
            values = "SELECT * FROM unnest(%s::bigint[], %s::boolean[], %s::varchar[], %s::smallint[])"
            cur.execute(_upsert_sql(values), columns)
            return int(cur.rowcount)
        for i in range(0, len(rows), _SQLITE_ROWS):
            part = rows[i : i + _SQLITE_ROWS]
            values = "VALUES " + ", ".join(["(%s, %s, %s, %s)"] * len(part))
            # "WHERE true": SQLite's grammar for an upsert after a SELECT/VALUES needs a WHERE clause
            cur.execute(_upsert_sql(f"SELECT * FROM ({values}) WHERE true"), [v for row in part for v in row])
            written += cur.rowcount
    return written


def credit_recompute(*, shop: Shop, at: dt.datetime | None = None, store: bool = True) -> CreditTotals:
    """The shop's credit as of `at` (default now) under its settings; with `store`, every review's ledger columns
    (whether it scores, why not, its points) are written where they changed.

    On PostgreSQL the buyers whose ratings cannot interact under the rules are computed in SQL and only the
    others go through the rules module (`crediting_pg`); on SQLite every review goes through the rules module.
    The figures are the same either way."""
    when = at or timezone.now()
    settings = credit_settings_get(shop=shop)
    rules = rules_of(settings)
    tz = ZoneInfo(shop.timezone)
    with transaction.atomic():
        if connection.vendor != "postgresql":
            ledger = credit_ledger(rules, review_facts(shop=shop, at=when), tz=tz, at=when)
            written = _store(ledger.entries) if store else 0
            totals = CreditTotals(
                rules,
                when,
                ledger.score,
                ledger.level,
                ledger.reviews,
                ledger.scored,
                ledger.not_scored,
                written,
                ledger.history("month"),
            )
            return _kept(shop, store and at is None, totals)
        if store:
            crediting_pg.ledger_lock(shop.pk)
        crediting_pg.stage(shop=shop, rules=rules, at=when, tmall=settings.tmall)
        simple = crediting_pg.simple_totals()
        per_month = simple.points_by_month
        ledger = credit_ledger(rules, review_facts(shop=shop, at=when, interacting=True), tz=tz, at=when)
        written = 0
        if store:
            written = crediting_pg.simple_store() + _store(ledger.entries)
    score = simple.score + ledger.score
    per_month.update(ledger.points_by_period("month"))
    not_scored = simple.not_scored + Counter(ledger.not_scored)
    return _kept(
        shop,
        store and at is None,
        CreditTotals(
            rules=rules,
            at=when,
            score=score,
            level=level_for(rules, score),
            reviews=simple.reviews + ledger.reviews,
            scored=simple.scored + ledger.scored,
            not_scored={reason: not_scored[reason] for reason in sorted(not_scored)},
            written=written,
            history=history_of(per_month, when.astimezone(tz).date(), "month"),
        ),
    )


def _kept(shop: Shop, keep: bool, totals: CreditTotals) -> CreditTotals:
    """`totals`, also stored as the shop's credit figure when `keep` (a recomputation as of now that stored the
    ledger read every rating already: the credit page shows it without reading them again)."""
    if keep:
        from huitouke.reviews.credit_figures import credit_figures_keep

        credit_figures_keep(shop=shop, totals=totals)
    return totals


#: from this many buyers on PostgreSQL a refresh takes the set-based way of a full recomputation (`crediting_pg`,
#: restricted to them); fewer go through the rules module alone
SET_BASED_FROM = 500


def credit_refresh(*, shop: Shop, customer_ids: Iterable[int], at: dt.datetime | None = None) -> int:
    """Bring the stored ledger of these buyers' reviews up to date (after their reviews were written): the rules
    only ever relate ratings of one buyer, so their reviews alone decide their ledger. Returns the reviews written."""
    ids = sorted(set(customer_ids))
    if not ids:
        return 0
    when = at or timezone.now()
    settings = credit_settings_get(shop=shop)
    rules = rules_of(settings)
    tz = ZoneInfo(shop.timezone)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            crediting_pg.ledger_lock(shop.pk)
        if connection.vendor == "postgresql" and len(ids) >= SET_BASED_FROM:
            crediting_pg.stage(shop=shop, rules=rules, at=when, tmall=settings.tmall, customer_ids=ids)
            ledger = credit_ledger(rules, review_facts(shop=shop, at=when, interacting=True), tz=tz, at=when)
            return crediting_pg.simple_store() + _store(ledger.entries)
        ledger = credit_ledger(rules, review_facts(shop=shop, at=when, customer_ids=ids), tz=tz, at=when)
        return _store(ledger.entries)


def review_credit_entry(*, review: Review, at: dt.datetime | None = None) -> Entry | None:
    """The ledger entry of one review as of `at` (default now), with the numbers behind its reason (the pair's
    monthly net before it, the same-item rating it merged into): its buyer's ratings alone decide it."""
    when = at or timezone.now()
    rules = rules_of(credit_settings_get(shop=review.shop))
    facts = review_facts(shop=review.shop, at=when, customer_ids=[review.customer_id])
    ledger = credit_ledger(rules, facts, tz=ZoneInfo(review.shop.timezone), at=when)
    for e in ledger.entries:
        if e.id == str(review.pk):
            return e
    return None


def credit_summary(*, shop: Shop, at: dt.datetime | None = None) -> dict[str, Any]:
    """What `GET /api/v1/credit` and `huitouke credit --json` answer (computed, nothing stored)."""
    return summary_of(credit_recompute(shop=shop, at=at, store=False))


def summary_of(ledger: Ledger | CreditTotals) -> dict[str, Any]:
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
    the buyer's rating of that order, when there is one). Only the buyer's own ratings can change (the rules are
    local to a buyer), so only those go through the rules; the shop's other points come from the totals."""
    from huitouke.core.errors import NotFoundError

    when = at or timezone.now()
    order = Order.objects.filter(shop=shop, order_no=order_no).first()
    if order is None:
        raise NotFoundError(f"order {order_no} is not in the archive of {shop.name}", field="order_no")
    line_key = f"{order_no}/"
    mine = list(review_facts(shop=shop, at=when, customer_ids=[order.customer_id]))
    facts = [f for f in mine if not (f.role == "buyer" and f.line_key.startswith(line_key))]
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
        tmall=credit_settings_get(shop=shop).tmall,
    )
    rules = rules_of(credit_settings_get(shop=shop))
    tz = ZoneInfo(shop.timezone)
    answer = what_if(rules, facts, new, tz=tz, at=when)
    # the buyer's ledger without the rating it replaces, within the whole shop's score
    others = credit_recompute(shop=shop, at=when, store=False).score - credit_ledger(rules, mine, tz=tz, at=when).score
    before, after = others + answer.score_before, others + answer.score_after
    return replace(
        answer,
        score_before=before,
        score_after=after,
        level_before=level_for(rules, before),
        level_after=level_for(rules, after),
    )
