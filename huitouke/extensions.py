"""Project-level wiring between apps that do not depend on each other: care's after-delivery rule (which asks
for a review) skips orders the buyer has already reviewed (reviews); the dashboard (analytics) shows the
negative reviews of the last 30 days (reviews)."""

from __future__ import annotations


def register() -> None:
    from huitouke.care.registry import register_review_request_filter
    from huitouke.reviews.selectors import orders_without_buyer_review

    register_review_request_filter("reviews", orders_without_buyer_review)

    from django.utils.translation import gettext_lazy

    from huitouke.analytics.registry import Tile, register_tile
    from huitouke.reviews.extensions import tile_value

    register_tile(
        Tile(
            key="reviews",
            title=gettext_lazy("Negative reviews, last 30 days"),
            value=tile_value,
            order=45,
            permission="reviews.view_review",
        )
    )
