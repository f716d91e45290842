"""Project-level wiring between apps that do not depend on each other: care's after-delivery rule (which asks
for a review) skips orders the buyer has already reviewed (reviews)."""

from __future__ import annotations


def register() -> None:
    from huitouke.care.registry import register_review_request_filter
    from huitouke.reviews.selectors import orders_without_buyer_review

    register_review_request_filter("reviews", orders_without_buyer_review)
