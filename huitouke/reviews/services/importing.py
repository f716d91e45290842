"""Reviews from files (and the single rows of the API and the form): stored a batch at a time, idempotent per shop,
order, sub-order and role; a later export updates (a changed rating is an event); new negative reviews open
their case; the touched buyers' credit ledger is refreshed at the end."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from huitouke.orders.importers.rows import RowError
from huitouke.orders.importing import ErrorReport
from huitouke.orders.models import Order, OrderLine, Product, Shop
from huitouke.reviews.analytics_figures import review_figures_ask
from huitouke.reviews.credit_figures import credit_figures_ask
from huitouke.reviews.crediting import credit_recompute, credit_refresh
from huitouke.reviews.importer import ReviewRow
from huitouke.reviews.models import Result, Review, ReviewCase, ReviewEvent
from huitouke.reviews.services.cases import _cases_progress, review_case_open

log = logging.getLogger(__name__)


BATCH = 5_000
#: a negative review that is older than this when it arrives (an old export, a backfill) is stored and scored
#: but opens no case: the service desk gets the reviews it can still act on, not years of history
CASE_WINDOW_DAYS = 30
#: the review columns a later export may change
VALUE_FIELDS = (
    "result",
    "content",
    "pictures",
    "created_at",
    "anonymous",
    "is_default",
    "follow_up",
    "follow_up_at",
    "reply",
    "reply_at",
    "dsr_description",
    "dsr_service",
    "dsr_logistics",
    "num_iid",
    "item_title",
    "nick",
)


@dataclass
class ReviewImportResult:
    """The summary of `huitouke import-reviews --json` and of the upload page."""

    layout: str = ""
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors_file: str | None = None
    cases_opened: int = 0
    #: the buyers whose reviews were written (their stored credit ledger is refreshed at the end)
    customer_ids: set[int] = field(default_factory=set, repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors_file": self.errors_file,
        }


def reviews_import_rows(
    *,
    shop: Shop,
    rows: Iterable[ReviewRow | RowError],
    report_path: Path,
    layout: str = "",
    columns: frozenset[str] = frozenset(VALUE_FIELDS),
    tid_header: str = "tid",
) -> ReviewImportResult:
    """Store parsed review rows into `shop`, a batch at a time: new reviews are created, changed ones updated
    (a changed rating is recorded as an event), identical ones left alone; only the `columns` the file has are
    compared and updated. A row whose order is not in the
    archive is rejected by row and column; every rejected row goes to the error CSV at `report_path`."""
    result = ReviewImportResult(layout=layout)
    report = ErrorReport(report_path)
    batch: list[ReviewRow] = []
    try:
        for row in rows:
            if isinstance(row, RowError):
                report.add(row)
                continue
            batch.append(row)
            if len(batch) >= BATCH:
                _write_batch(shop, batch, result, report.add, columns, tid_header)
                batch = []
        if batch:
            _write_batch(shop, batch, result, report.add, columns, tid_header)
    finally:
        result.errors_file = report.close()
    result.rejected = report.count
    _credit_after_write(shop, result.customer_ids)
    return result


#: past this many buyers touched, a whole recomputation is cheaper than refreshing them through the rules module
#: (SQLite; on PostgreSQL a refresh of many buyers is set-based and costs what their reviews cost, so it is kept)
REFRESH_LIMIT = 20_000


def _credit_after_write(shop: Shop, customer_ids: set[int]) -> None:
    """Keep the stored credit ledger true after reviews were written: the touched buyers' ledger (every rule is
    local to a buyer), or on SQLite the whole shop's when many were touched; and have the shop's review analytics
    recomputed."""
    if customer_ids:
        review_figures_ask(shop=shop)
    if len(customer_ids) > REFRESH_LIMIT and connection.vendor != "postgresql":
        credit_recompute(shop=shop)  # keeps the shop's credit figure too
    elif customer_ids and credit_refresh(shop=shop, customer_ids=customer_ids):
        credit_figures_ask(shop=shop)  # some review's ledger changed: so may the totals


def _value(row: ReviewRow, name: str) -> Any:
    return row.created_at if name == "created_at" else getattr(row, name)


_STORED = ("id", "order_id", "order_line_id", "customer_id", "tid", "oid", "role", *VALUE_FIELDS)


# The three reads of a batch. On PostgreSQL each passes its thousands of keys as one array (= ANY(%s)): with one
# placeholder per key (Django's __in), building and converting the query costs more than running it.


def _orders_of(shop: Shop, tids: list[str]) -> dict[str, tuple[int, int]]:
    """(order id, customer id) of the shop's orders by number."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT id, order_no, customer_id FROM {Order._meta.db_table} "
                "WHERE shop_id = %s AND order_no = ANY(%s)",
                [shop.pk, tids],
            )
            rows: Iterable[tuple[int, str, int]] = cur.fetchall()
    else:
        rows = Order.objects.filter(shop=shop, order_no__in=tids).values_list("pk", "order_no", "customer")
    return {no: (pk, cid) for pk, no, cid in rows}


def _lines_of(order_ids: list[int], items: list[str]) -> dict[tuple[int, str], int]:
    """The first line (by id) of each of these orders selling each of these item ids."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT l.id, l.order_id, p.external_id FROM {OrderLine._meta.db_table} l "
                f"JOIN {Product._meta.db_table} p ON p.id = l.product_id "
                "WHERE l.order_id = ANY(%s) AND p.external_id = ANY(%s) ORDER BY l.id",
                [order_ids, items],
            )
            rows: Iterable[tuple[int, int, str]] = cur.fetchall()
    else:
        rows = (
            OrderLine.objects.filter(order_id__in=order_ids, product__external_id__in=items)
            .order_by("pk")
            .values_list("pk", "order", "product__external_id")
        )
    lines: dict[tuple[int, str], int] = {}
    for pk, order_id, ext in rows:
        lines.setdefault((order_id, ext), pk)
    return lines


def _stored_of(shop: Shop, tids: list[str]) -> list[dict[str, Any]]:
    """The stored columns (`_STORED`) of the shop's reviews of these orders."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT {', '.join(_STORED)} FROM {Review._meta.db_table} WHERE shop_id = %s AND tid = ANY(%s)",
                [shop.pk, tids],
            )
            return [dict(zip(_STORED, row, strict=True)) for row in cur.fetchall()]
    return list(Review.objects.filter(shop=shop, tid__in=tids).values(*_STORED).order_by())


def _write_batch(
    shop: Shop,
    rows: list[ReviewRow],
    result: ReviewImportResult,
    reject: Callable[[RowError], None],
    columns: frozenset[str] = frozenset(VALUE_FIELDS),
    tid_header: str = "tid",
) -> None:
    compared = [f for f in VALUE_FIELDS if f in columns]
    tids = sorted({r.tid for r in rows})
    orders = _orders_of(shop, tids)
    items = sorted({r.num_iid for r in rows if r.num_iid})
    lines = _lines_of([pk for pk, _cid in orders.values()], items) if items else {}
    # stored values only (a model is built for the rows that changed): most rows of a later export are unchanged
    existing = {(v["tid"], v["oid"], v["role"]): v for v in _stored_of(shop, tids)}
    now = timezone.now()
    new: list[Review] = []
    changed: list[Review] = []
    events: list[ReviewEvent] = []
    improved: list[Review] = []
    explained: list[Review] = []
    for row in rows:
        found = orders.get(row.tid)
        if found is None:
            reject(RowError(row.row_no, tid_header, row.tid, f"order {row.tid} is not in the archive of {shop.name}"))
            continue
        order_id, customer_id = found
        stored = existing.get((row.tid, row.oid, row.role))
        if stored is None:
            review = Review(  # ids, not instances: a related-object setter per row is a tenth of the batch
                shop_id=shop.pk,
                order_id=order_id,
                order_line_id=lines.get((order_id, row.num_iid)),
                customer_id=customer_id,
                role=row.role,
                tid=row.tid,
                oid=row.oid,
                **{f: _value(row, f) for f in VALUE_FIELDS},
            )
            new.append(review)
            continue
        diffs = [f for f in compared if stored[f] != _value(row, f)]
        if not diffs:
            result.unchanged += 1
            continue
        old = Review(shop_id=shop.pk, updated_at=now, **stored)
        old._state.adding, old._state.db = False, connection.alias
        if "result" in diffs:
            events.append(
                ReviewEvent(
                    review_id=old.pk, kind=ReviewEvent.Kind.RESULT_CHANGED, old=old.result, new=row.result, at=now
                )
            )
            if row.result == Result.GOOD:
                improved.append(old)
        if "follow_up" in diffs and row.follow_up:
            events.append(ReviewEvent(review_id=old.pk, kind=ReviewEvent.Kind.FOLLOW_UP, at=row.follow_up_at or now))
        if "reply" in diffs and row.reply and not old.reply:
            events.append(ReviewEvent(review_id=old.pk, kind=ReviewEvent.Kind.EXPLAINED, at=row.reply_at or now))
            explained.append(old)
        for f in diffs:
            setattr(old, f, _value(row, f))
        changed.append(old)
    with transaction.atomic():
        _insert(Review, new, shop_id=shop.pk)
        if changed:
            Review.objects.bulk_update(changed, [*VALUE_FIELDS, "updated_at"], batch_size=1000)
        if connection.vendor == "postgresql":  # the "rated" events of the new reviews from the rows just stored
            _rated_events([r.pk for r in new])
        else:
            for r in new:
                events.append(ReviewEvent(review_id=r.pk, kind=ReviewEvent.Kind.RATED, new=r.result, at=r.created_at))
        _insert(ReviewEvent, events)
        _cases_progress(improved, ReviewCase.Outcome.CHANGED, now)
        _cases_progress(explained, ReviewCase.Outcome.EXPLAINED, now)
    result.created += len(new)
    result.updated += len(changed)
    result.customer_ids.update(r.customer_id for r in (*new, *changed))
    recent = now - timedelta(days=CASE_WINDOW_DAYS)
    for r in new:  # _insert set their ids
        if r.is_negative and r.created_at >= recent:
            review_case_open(review=r, at=now)
            result.cases_opened += 1


def _rated_events(review_ids: list[int]) -> None:
    """PostgreSQL: one "rated" event per review, at its rating time, in one INSERT … SELECT (no objects)."""
    if not review_ids:
        return
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {ReviewEvent._meta.db_table} (review_id, kind, old, new, at, note) "
            f"SELECT id, %s, '', result, created_at, '' FROM {Review._meta.db_table} WHERE id = ANY(%s) ORDER BY id",
            [ReviewEvent.Kind.RATED.value, review_ids],
        )


#: below this many rows an insert goes through bulk_create; from it on PostgreSQL, through COPY
COPY_FROM = 200


def _insert(model: type[Review] | type[ReviewEvent], objs: list[Any], *, shop_id: int | None = None) -> None:
    """Insert new rows. On PostgreSQL a large batch goes in with one COPY (Django's bulk_create spends more time
    preparing parameters than the database spends storing them); new reviews then get their ids by their natural
    key (shop, tid, oid, role). Elsewhere, and for small batches: bulk_create (ids returned on both databases)."""
    if connection.vendor != "postgresql" or len(objs) < COPY_FROM:
        model.objects.bulk_create(objs, batch_size=1000)
        return
    now = timezone.now()
    fields_ = [f for f in model._meta.concrete_fields if not f.primary_key]
    names = [f.attname for f in fields_]
    table = model._meta.db_table
    with connection.cursor() as cur:
        with cur.copy(f"COPY {table} ({', '.join(str(f.column) for f in fields_)}) FROM STDIN") as copy:
            for obj in objs:
                if model is Review:
                    obj.updated_at = now
                copy.write_row([getattr(obj, name) for name in names])
        if model is Review:
            keys = {(r.tid, r.oid, r.role): r for r in objs}
            cur.execute(
                f"SELECT id, tid, oid, role FROM {table} WHERE shop_id = %s AND tid = ANY(%s)",
                [shop_id, sorted({r.tid for r in objs})],
            )
            for pk, tid, oid, role in cur.fetchall():
                found = keys.get((tid, oid, role))
                if found is not None:
                    found.pk = pk
                    found._state.adding, found._state.db = False, connection.alias
