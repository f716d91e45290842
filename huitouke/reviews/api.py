"""REST endpoints of reviews and credit: store a review, list reviews, the shop's credit and its settings."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest
from ninja import Query, Router, Status

from huitouke.core.api import errors, masker_for, require_perms
from huitouke.core.audit import record
from huitouke.core.models import AuditEntry
from huitouke.core.pii import Masker
from huitouke.core.services import audit_log
from huitouke.reviews.crediting import credit_summary
from huitouke.reviews.models import Review
from huitouke.reviews.schemas import (
    CreditOut,
    CreditParams,
    CreditSettingsIn,
    CreditSettingsOut,
    ReviewIn,
    ReviewListParams,
    ReviewOut,
    ReviewPage,
)
from huitouke.reviews.selectors import review_list, shop_named
from huitouke.reviews.services import credit_settings_set, review_save

router = Router(tags=["reviews"])

PAGE_SIZE = 50


def review_out(review: Review, masker: Masker) -> ReviewOut:
    """A review (shop, case loaded) as JSON; the buyer's nick masked for roles that may not see contact data."""
    case = getattr(review, "case", None) if hasattr(review, "case") else None
    return ReviewOut(
        id=review.pk,
        shop=review.shop.name,
        order_no=review.tid,
        item_id=review.num_iid,
        item_title=review.item_title,
        customer_id=review.customer_id,
        nick=masker.identifier(review.nick),
        role=review.role,
        result=review.result,
        content=review.content,
        created_at=review.created_at,
        anonymous=review.anonymous,
        is_default=review.is_default,
        reply=review.reply,
        scores=review.scores,
        not_scored_reason=review.not_scored_reason,
        points=review.points,
        case_outcome=case.outcome if case is not None else None,
    )


@router.post(
    "/reviews",
    response={200: ReviewOut, 201: ReviewOut},
    summary="Store a review (created, or updated when the order, item and role already have one)",
    openapi_extra=errors(404),
)
def review_post(request: HttpRequest, payload: ReviewIn) -> Status:
    """Idempotent per (shop, order, item, role): a second post updates the review (201 created, 200 updated). A
    neutral or bad buyer review opens a negative-review case."""
    require_perms(request, "reviews.add_review", "reviews.change_review")
    shop = shop_named(payload.shop)
    review, created = review_save(
        shop=shop,
        order_no=payload.order_no,
        item_id=payload.item_id or "",
        role=payload.role,
        result=payload.result,
        content=payload.content or "",
        created_at=payload.created_at,
        anonymous=bool(payload.anonymous),
    )
    review = review_list().get(pk=review.pk)
    return Status(201 if created else 200, review_out(review, masker_for(request)))


@router.get("/reviews", response=ReviewPage, summary="Reviews, newest first", openapi_extra=errors(404))
def review_index(request: HttpRequest, params: Query[ReviewListParams]) -> dict[str, Any]:
    """Filter by result (good, neutral, bad), scored (true: counts in the credit) and shop; 50 a page."""
    require_perms(request, "reviews.view_review")
    shop = shop_named(params.shop) if params.shop else None
    qs = review_list(shop=shop, result=params.result or "", scored=params.scored)
    start = (params.page - 1) * PAGE_SIZE
    masker = masker_for(request)
    reviews = list(qs[start : start + PAGE_SIZE])
    if masker.unmasked and any(r.nick for r in reviews):
        audit_log(
            actor=request.user,
            action=AuditEntry.Action.UNMASK,
            target_type="reviews",
            reviews=[r.pk for r in reviews],
        )
    return {"items": [review_out(r, masker) for r in reviews], "count": qs.count()}


@router.get("/credit", response=CreditOut, summary="The shop's credit", openapi_extra=errors(404))
def credit_get(request: HttpRequest, params: Query[CreditParams]) -> dict[str, Any]:
    """Score, level and why reviews do not score, as of the end of `at` (a date in the shop's time zone) or now."""
    require_perms(request, "reviews.view_review")
    shop = shop_named(params.shop)
    at = None
    if params.at is not None:
        at = datetime.combine(params.at, time.max, tzinfo=ZoneInfo(shop.timezone))
    return credit_summary(shop=shop, at=at)


@router.put(
    "/credit/settings", response=CreditSettingsOut, summary="Set the shop's credit rules", openapi_extra=errors(404)
)
def credit_settings_put(request: HttpRequest, payload: CreditSettingsIn, shop: str = "") -> dict[str, Any]:
    """The preset and its editable numbers for the shop named by `shop`, and (optional) where its negative reviews
    are announced to the managers: `alert_email`, `alert_robot_url`."""
    require_perms(request, "reviews.change_creditsettings")
    the_shop = shop_named(shop)
    obj = credit_settings_set(shop=the_shop, **payload.dict())
    record(actor=request.user, action=AuditEntry.Action.POLICY, target_type="credit_settings", target_id=the_shop.pk)
    return {
        "shop": the_shop.name,
        "preset": obj.preset,
        "rating_period_days": obj.rating_period_days,
        "default_good_after_days": obj.default_good_after_days,
        "monthly_cap": obj.monthly_cap,
        "same_item_days": obj.same_item_days,
        "tmall": obj.tmall,
        "alert_email": obj.alert_email,
        "alert_robot_url": obj.alert_robot_url,
    }
