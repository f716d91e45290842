"""The negative-review case (中差评处理) and its outcome, and the shop's public explanation of a review."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.reviews.importer import MAX_TEXT
from huitouke.reviews.models import Review, ReviewCase, ReviewEvent
from huitouke.reviews.registry import NegativeReview, negative_review_hooks

log = logging.getLogger(__name__)


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


def review_case_alert_claim(*, review_id: int, at: datetime | None = None) -> bool:
    """Claim the managers' e-mail / group-robot alert of a review's negative-review case: True for the one caller
    that marks it (one conditional UPDATE, so two workers or a re-run never alert twice), False when the review
    has no case or it was alerted already."""
    now = at or timezone.now()
    return ReviewCase.objects.filter(review_id=review_id, alerted_at__isnull=True).update(alerted_at=now) == 1
