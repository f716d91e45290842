"""One review entered by hand or through the API."""

from __future__ import annotations

import logging
from dataclasses import fields
from datetime import datetime

from django.utils import timezone

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.orders.importers.rows import RowError
from huitouke.orders.models import Order, OrderLine, Shop
from huitouke.reviews.importer import MAX_TEXT, ReviewRow
from huitouke.reviews.models import Result, Review, Role
from huitouke.reviews.services.importing import (
    VALUE_FIELDS,
    ReviewImportResult,
    _credit_after_write,
    _write_batch,
)

log = logging.getLogger(__name__)


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
