"""Every write of the reviews app: reviews from files and the API (idempotent per shop, order, sub-order and
role), the negative-review case and its outcome, and the shop's credit settings."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.orders.importers.rows import RowError
from huitouke.orders.importing import ErrorReport
from huitouke.orders.models import Order, OrderLine, Shop
from huitouke.reviews.crediting import credit_recompute, credit_refresh
from huitouke.reviews.importer import MAX_TEXT, ReviewRow
from huitouke.reviews.models import CreditSettings, Result, Review, ReviewCase, ReviewEvent, Role
from huitouke.reviews.registry import NegativeReview, negative_review_hooks

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


#: past this many buyers touched, a whole recomputation is cheaper than refreshing them one set at a time
REFRESH_LIMIT = 20_000


def _credit_after_write(shop: Shop, customer_ids: set[int]) -> None:
    """Keep the stored credit ledger true after reviews were written: the touched buyers' ledger (every rule is
    local to a buyer), or the whole shop's when many were touched."""
    if len(customer_ids) > REFRESH_LIMIT:
        credit_recompute(shop=shop)
    elif customer_ids:
        credit_refresh(shop=shop, customer_ids=customer_ids)


def _value(row: ReviewRow, name: str) -> Any:
    return row.created_at if name == "created_at" else getattr(row, name)


_STORED = ("id", "order_id", "order_line_id", "customer_id", "tid", "oid", "role", *VALUE_FIELDS)


def _write_batch(
    shop: Shop,
    rows: list[ReviewRow],
    result: ReviewImportResult,
    reject: Callable[[RowError], None],
    columns: frozenset[str] = frozenset(VALUE_FIELDS),
    tid_header: str = "tid",
) -> None:
    compared = [f for f in VALUE_FIELDS if f in columns]
    tids = {r.tid for r in rows}
    orders = {
        no: (pk, cid)
        for pk, no, cid in Order.objects.filter(shop=shop, order_no__in=tids).values_list("pk", "order_no", "customer")
    }
    items = {r.num_iid for r in rows if r.num_iid}
    lines: dict[tuple[int, str], int] = {}
    if items:
        for pk, order_id, ext in OrderLine.objects.filter(
            order__shop=shop, order__order_no__in=tids, product__external_id__in=items
        ).values_list("pk", "order", "product__external_id"):
            lines.setdefault((order_id, ext), pk)
    # stored values only (a model is built for the rows that changed): most rows of a later export are unchanged
    existing = {
        (v["tid"], v["oid"], v["role"]): v
        for v in Review.objects.filter(shop=shop, tid__in=tids).values(*_STORED).order_by()
    }
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
            review = Review(
                shop=shop,
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
        old = Review(shop=shop, updated_at=now, **stored)
        old._state.adding, old._state.db = False, connection.alias
        if "result" in diffs:
            events.append(
                ReviewEvent(review=old, kind=ReviewEvent.Kind.RESULT_CHANGED, old=old.result, new=row.result, at=now)
            )
            if row.result == Result.GOOD:
                improved.append(old)
        if "follow_up" in diffs and row.follow_up:
            events.append(ReviewEvent(review=old, kind=ReviewEvent.Kind.FOLLOW_UP, at=row.follow_up_at or now))
        if "reply" in diffs and row.reply and not old.reply:
            events.append(ReviewEvent(review=old, kind=ReviewEvent.Kind.EXPLAINED, at=row.reply_at or now))
            explained.append(old)
        for f in diffs:
            setattr(old, f, _value(row, f))
        changed.append(old)
    with transaction.atomic():
        _insert(Review, new, shop_id=shop.pk)
        if changed:
            Review.objects.bulk_update(changed, [*VALUE_FIELDS, "updated_at"], batch_size=1000)
        for r in new:
            events.append(ReviewEvent(review=r, kind=ReviewEvent.Kind.RATED, new=r.result, at=r.created_at))
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


def _cases_progress(reviews: list[Review], outcome: str, at: datetime) -> None:
    """Record an outcome on the open cases of `reviews` (a rating changed to good closes the case)."""
    if not reviews:
        return
    qs = ReviewCase.objects.filter(review__in=[r.pk for r in reviews])
    if outcome == ReviewCase.Outcome.CHANGED:
        qs.exclude(outcome=outcome).update(outcome=outcome, outcome_at=at)
    else:
        qs.filter(outcome=ReviewCase.Outcome.OPEN).update(outcome=outcome, outcome_at=at)


def review_case_open(*, review: Review, at: datetime | None = None) -> ReviewCase:
    """Open the negative-review case of `review` (once) and tell the registered hooks: the service desk alerts
    the managers and opens a `negative_review` ticket; the case keeps the ticket's id."""
    now = at or timezone.now()
    with transaction.atomic():
        case, created = ReviewCase.objects.get_or_create(review=review, defaults={"opened_at": now})
        if not created:
            return case
        ReviewEvent.objects.create(review=review, kind=ReviewEvent.Kind.CASE_OPENED, new=review.result, at=now)
    event = NegativeReview(
        review_id=review.pk,
        shop_id=review.shop_id,
        order_id=review.order_id,
        customer_id=review.customer_id,
        result=review.result,
        content=review.content,
        created_at=review.created_at,
    )
    for hook in negative_review_hooks():
        ticket_id = hook(event)
        if ticket_id is not None and case.ticket_id is None:
            case.ticket_id = ticket_id
            case.save(update_fields=["ticket_id"])
    return case


def review_case_outcome_set(*, review: Review, outcome: str, at: datetime | None = None, note: str = "") -> ReviewCase:
    """Record what came of a negative review: explained, customer contacted, rating changed to good, unchanged."""
    if outcome not in ReviewCase.Outcome.values or outcome == ReviewCase.Outcome.OPEN:
        raise ApplicationError("outcome: expected explained, contacted, changed_to_good or unchanged", field="outcome")
    now = at or timezone.now()
    with transaction.atomic():
        try:
            case = ReviewCase.objects.select_for_update().get(review=review)
        except ReviewCase.DoesNotExist:
            raise NotFoundError("this review has no negative-review case") from None
        case.outcome, case.outcome_at = outcome, now
        case.save(update_fields=["outcome", "outcome_at"])
        kind = ReviewEvent.Kind.CONTACTED if outcome == ReviewCase.Outcome.CONTACTED else ReviewEvent.Kind.CASE_CLOSED
        ReviewEvent.objects.create(review=review, kind=kind, new=outcome, at=now, note=note[:500])
    return case


def review_explain(*, review: Review, text: str, at: datetime | None = None) -> Review:
    """Store the shop's public explanation (解释) of a review: an `explained` event, and the open negative-review
    case (if any) records the outcome "explained" with its time. ApplicationError naming `text` when it is blank
    or too long."""
    text = text.strip()
    if not text:
        raise ApplicationError("text: the explanation is empty", field="text")
    if len(text) > MAX_TEXT:
        raise ApplicationError(f"text: longer than {MAX_TEXT} characters", field="text")
    now = at or timezone.now()
    with transaction.atomic():
        review = Review.objects.select_for_update().get(pk=review.pk)
        review.reply, review.reply_at = text, now
        review.save(update_fields=["reply", "reply_at", "updated_at"])
        ReviewEvent.objects.create(review=review, kind=ReviewEvent.Kind.EXPLAINED, at=now, note=text[:500])
        _cases_progress([review], ReviewCase.Outcome.EXPLAINED, now)
    return review


def review_save(
    *,
    shop: Shop,
    order_no: str,
    role: str,
    result: str,
    created_at: datetime,
    item_id: str = "",
    content: str = "",
    anonymous: bool = False,
) -> tuple[Review, bool]:
    """Create or update one review (by hand or through the API); returns (review, created)."""
    if role not in Role.values:
        raise ApplicationError("role: expected buyer or seller", field="role")
    if result not in Result.values:
        raise ApplicationError("result: expected good, neutral or bad", field="result")
    if timezone.is_naive(created_at):
        raise ApplicationError("created_at needs a time zone", field="created_at")
    if len(content) > MAX_TEXT:
        raise ApplicationError(f"content: longer than {MAX_TEXT} characters", field="content")
    if len(item_id) > 64:
        raise ApplicationError("item_id: longer than 64 characters", field="item_id")
    order = Order.objects.filter(shop=shop, order_no=order_no).first()
    if order is None:
        raise NotFoundError(f"order {order_no} is not in the archive of {shop.name}", field="order_no")
    existed = None
    oid = item_id
    if item_id:  # the review of that item of the order, whatever sub-order number an export gave it
        existed = Review.objects.filter(shop=shop, tid=order_no, role=role, num_iid=item_id).order_by("pk").first()
        if existed is not None:
            oid = existed.oid
        elif not OrderLine.objects.filter(order=order, product__external_id=item_id).exists():
            raise NotFoundError(f"order {order_no} has no item {item_id}", field="item_id")
    if existed is None:
        existed = Review.objects.filter(shop=shop, tid=order_no, oid=oid, role=role).first()
    row = ReviewRow(
        row_no=0,
        tid=order_no,
        oid=oid,
        role=role,
        result=result,
        created_at=created_at,
        num_iid=item_id,
        content=content,
        anonymous=anonymous,
    )
    kept = {f.name: getattr(row, f.name) for f in fields(row)}
    if existed is not None:  # fields the API does not carry keep their stored values
        kept.update(
            {
                f: getattr(existed, f)
                for f in VALUE_FIELDS
                if f not in ("result", "content", "created_at", "anonymous", "num_iid")
            }
        )
        kept["created_at"] = created_at
    rejected: list[RowError] = []
    _write_batch(shop, [ReviewRow(**kept)], ReviewImportResult(), rejected.append)
    if rejected:
        raise ApplicationError(rejected[0].reason, field="order_no")
    _credit_after_write(shop, {order.customer_id})
    review = Review.objects.get(shop=shop, tid=order_no, oid=oid, role=role)
    return review, existed is None


def credit_settings_set(
    *,
    shop: Shop,
    preset: str,
    rating_period_days: int,
    default_good_after_days: int,
    monthly_cap: int,
    same_item_days: int,
    tmall: bool | None = None,
) -> CreditSettings:
    """Set the shop's credit rule numbers (each bounded; a preset names the level table) and whether it is a
    Tmall shop (None: unchanged), and recompute the stored credit ledger under them."""
    from huitouke.reviews.credit import rules_with

    try:
        rules_with(
            preset,
            rating_period_days=rating_period_days,
            default_good_after_days=default_good_after_days,
            monthly_cap=monthly_cap,
            same_item_days=same_item_days,
        )
    except ValueError as exc:
        field = str(exc).split(":", 1)[0]
        raise ApplicationError(str(exc), field=field) from None
    with transaction.atomic():
        obj, _created = CreditSettings.objects.select_for_update().get_or_create(shop=shop)
        obj.preset = preset
        obj.rating_period_days = rating_period_days
        obj.default_good_after_days = default_good_after_days
        obj.monthly_cap = monthly_cap
        obj.same_item_days = same_item_days
        if tmall is not None:
            obj.tmall = tmall
        obj.full_clean()
        obj.save()
    credit_recompute(shop=shop)
    return obj
