"""Extension points through which apps below `reviews` hear about reviews.

Negative-review hooks: when a buyer leaves a neutral or bad rating (or a shop score of 2 or less), `reviews`
opens a case and calls every registered hook with it; the `service` app registers one that alerts the managers
and opens a `negative_review` ticket, and returns the ticket's id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class NegativeReview:
    """What a hook is told about a negative review."""

    review_id: int
    shop_id: int
    order_id: int
    customer_id: int
    result: str
    content: str
    created_at: datetime


#: returns the id of the ticket it opened (or None)
NegativeReviewHook = Callable[[NegativeReview], int | None]

_negative_hooks: dict[str, NegativeReviewHook] = {}


def register_negative_review_hook(key: str, hook: NegativeReviewHook) -> None:
    """Add (or replace) the hook named `key`."""
    _negative_hooks[key] = hook


def unregister_negative_review_hook(key: str) -> None:
    _negative_hooks.pop(key, None)


def negative_review_hooks() -> list[NegativeReviewHook]:
    return list(_negative_hooks.values())
